"""GNOME, Cinnamon and MATE backends against the real gsettings and dconf.

Each wallpaper is set inside ``dbus-run-session`` (a private session bus; dconf-service is
D-Bus activated on it) by a small driver running the backend, with HOME and
XDG_RUNTIME_DIR chosen before the bus starts. The result is then read by a second
``gsettings get`` after that bus is gone, which sees only what dconf really saved.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.gnome import (
    CinnamonBackend,
    GnomeBackend,
    MateBackend,
    gvariant_string,
    parse_gvariant_string,
)
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.xvfb import require

GNOME = "org.gnome.desktop.background"
SCREENSAVER = "org.gnome.desktop.screensaver"
CINNAMON = "org.cinnamon.desktop.background"
MATE = "org.mate.background"

DRIVER = """
import json, os, sys
from pathlib import Path
from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends import gnome
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

spec = json.loads(sys.argv[1])
backend = getattr(gnome, spec["backend"])(CommandRunner())
try:
    backend.set(Path(spec["path"]), Session.from_env(os.environ), lock_screen=spec["lock"])
except WallpaperError as exc:
    print(json.dumps({"error": str(exc)}))
else:
    print(json.dumps({"error": None}))
"""

NAMES = {
    "plain": "plain.jpg",
    "spaces": "a picture with spaces.jpg",
    "quotes": 'it\'s a "quoted" name.jpg',
    "non-ascii": "Ünïcödé 日本 Ψ.jpg",
    "everything": 'it\'s "all" of them, ü & 100% #1.jpg',
}


@pytest.fixture(autouse=True)
def session_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh XDG_RUNTIME_DIR (0700) next to conftest's private HOME, and no outside bus."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    for name in ("DBUS_SESSION_BUS_ADDRESS", "GSETTINGS_BACKEND", "GSETTINGS_SCHEMA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return dict(os.environ)


def picture(folder: Path, name: str, colour: tuple[int, int, int] = (200, 80, 40)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    Image.new("RGB", (64, 36), colour).save(path, "JPEG")
    return path


def in_session(*argv: str) -> subprocess.CompletedProcess[str]:
    require("dbus-run-session")
    require("gsettings")
    return subprocess.run(
        ["dbus-run-session", "--", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def set_in_session(backend: str, path: Path, *, lock: bool = False) -> str | None:
    """Run the backend inside a private session bus; its WallpaperError text, or None."""
    spec = json.dumps({"backend": backend, "path": str(path), "lock": lock})
    result = in_session(sys.executable, "-c", DRIVER, spec)
    assert result.returncode == 0, result.stderr
    error: str | None = json.loads(result.stdout.strip().splitlines()[-1])["error"]
    return error


def preset(schema: str, key: str, value: str) -> None:
    result = in_session("gsettings", "set", schema, key, gvariant_string(value))
    assert result.returncode == 0, result.stderr


def saved(schema: str, key: str) -> str:
    """What a second process reads once the bus is gone (straight from dconf's file)."""
    require("gsettings")
    result = subprocess.run(
        ["gsettings", "get", schema, key],
        capture_output=True,
        text=True,
        env={**os.environ, "CHARSET": "UTF-8"},
        timeout=30,
        check=True,
    )
    return parse_gvariant_string(result.stdout)


def file_of(uri: str) -> Path:
    parts = urlsplit(uri)
    assert parts.scheme == "file"
    assert parts.netloc == ""
    return Path(unquote(parts.path))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_gnome_sets_light_and_dark_uris_that_outlive_the_bus(tmp_path: Path, name: str) -> None:
    path = picture(tmp_path / "Bing pictures", name)
    assert set_in_session("GnomeBackend", path) is None
    for key in ("picture-uri", "picture-uri-dark"):
        uri = saved(GNOME, key)
        assert uri == path.as_uri()
        assert uri.isascii() and "'" not in uri and '"' not in uri and " " not in uri
        shown = file_of(uri)
        assert shown == path
        with Image.open(shown) as image:
            assert image.size == (64, 36)


@pytest.mark.timeout(60)
def test_picture_options_none_becomes_zoom_but_a_users_choice_stays(tmp_path: Path) -> None:
    preset(GNOME, "picture-options", "none")
    assert set_in_session("GnomeBackend", picture(tmp_path, "one.jpg")) is None
    assert saved(GNOME, "picture-options") == "zoom"

    preset(GNOME, "picture-options", "scaled")
    second = picture(tmp_path, "two.jpg")
    assert set_in_session("GnomeBackend", second) is None
    assert saved(GNOME, "picture-options") == "scaled"
    assert saved(GNOME, "picture-uri") == second.as_uri()


@pytest.mark.timeout(60)
def test_lock_screen_is_set_only_when_asked(tmp_path: Path) -> None:
    before = saved(SCREENSAVER, "picture-uri")
    first = picture(tmp_path, "desktop only.jpg")
    assert set_in_session("GnomeBackend", first) is None
    assert saved(SCREENSAVER, "picture-uri") == before != first.as_uri()

    second = picture(tmp_path, "and the lock screen.jpg")
    assert set_in_session("GnomeBackend", second, lock=True) is None
    assert saved(SCREENSAVER, "picture-uri") == second.as_uri()
    assert saved(GNOME, "picture-uri") == second.as_uri()


@pytest.mark.timeout(60)
def test_cinnamon_sets_its_own_uri_key(tmp_path: Path) -> None:
    gnome_before = saved(GNOME, "picture-uri")
    path = picture(tmp_path / "Ünïcödé folder", NAMES["everything"])
    assert set_in_session("CinnamonBackend", path) is None
    assert saved(CINNAMON, "picture-uri") == path.as_uri()
    assert file_of(saved(CINNAMON, "picture-uri")) == path
    assert saved(GNOME, "picture-uri") == gnome_before


@pytest.mark.timeout(60)
def test_cinnamon_switches_none_to_zoom_and_mate_keeps_its_choice(tmp_path: Path) -> None:
    # MATE's enum has no "none" (wallpaper, zoom, centered, scaled, stretched, spanned).
    preset(CINNAMON, "picture-options", "none")
    preset(MATE, "picture-options", "centered")
    assert set_in_session("CinnamonBackend", picture(tmp_path, "c.jpg")) is None
    assert set_in_session("MateBackend", picture(tmp_path, "m.jpg")) is None
    assert saved(CINNAMON, "picture-options") == "zoom"
    assert saved(MATE, "picture-options") == "centered"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_mate_gets_a_plain_path_not_a_uri(tmp_path: Path, name: str) -> None:
    path = picture(tmp_path / "my 'pictures'", name)
    assert set_in_session("MateBackend", path) is None
    assert saved(MATE, "picture-filename") == str(path)
    assert Path(saved(MATE, "picture-filename")).is_file()


@pytest.mark.timeout(60)
def test_gsettings_without_a_bus_exits_0_and_saves_nothing(tmp_path: Path) -> None:
    """The fact the read-back exists for: no session bus, no error, nothing saved."""
    require("gsettings")
    path = picture(tmp_path, "lost.jpg")
    result = subprocess.run(
        ["gsettings", "set", GNOME, "picture-uri", gvariant_string(path.as_uri())],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # Exit 0; stderr has "failed to commit changes to dconf: ..." only when gsettings has
    # not exited before the failure is reported, so sometimes it says nothing at all.
    assert result.returncode == 0
    assert saved(GNOME, "picture-uri") != path.as_uri()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "backend_env", [{}, {"GSETTINGS_BACKEND": "memory"}], ids=["no-bus", "memory"]
)
@pytest.mark.parametrize("cls", [GnomeBackend, CinnamonBackend, MateBackend])
def test_a_value_that_did_not_stick_is_an_error(
    tmp_path: Path,
    session_env: dict[str, str],
    backend_env: dict[str, str],
    cls: type[GnomeBackend | CinnamonBackend | MateBackend],
) -> None:
    require("gsettings")
    path = picture(tmp_path, "not saved.jpg")
    backend = cls(CommandRunner({**session_env, **backend_env}))
    with pytest.raises(WallpaperError) as caught:
        backend.set(path, Session.from_env(session_env))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{cls.label}: ")
    assert "not saved" in message
    assert saved(cls.schema, cls.key) not in (path.as_uri(), str(path))


class NoSuchSchemaBackend(GnomeBackend):
    schema = "org.example.huewall.nope"


@pytest.mark.timeout(60)
def test_a_bad_schema_gives_one_line_naming_the_backend(
    tmp_path: Path, session_env: dict[str, str]
) -> None:
    require("gsettings")
    backend = NoSuchSchemaBackend(CommandRunner(session_env))
    with pytest.raises(WallpaperError) as caught:
        backend.set(picture(tmp_path, "x.jpg"), Session.from_env(session_env))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("GNOME (gsettings): ")
    assert "gsettings' failed (exit 1): No such schema" in message
    assert "org.example.huewall.nope" in message


@pytest.mark.timeout(60)
def test_missing_schemas_are_reported_with_the_package_to_install(
    tmp_path: Path, session_env: dict[str, str]
) -> None:
    require("gsettings")
    no_schemas = tmp_path / "no-schemas"
    no_schemas.mkdir()
    env = {**session_env, "XDG_DATA_DIRS": str(no_schemas)}
    session = Session.from_env(env)
    for cls, package in (
        (GnomeBackend, "gsettings-desktop-schemas"),
        (CinnamonBackend, "cinnamon-desktop-data"),
        (MateBackend, "mate-desktop-common"),
    ):
        backend = cls(CommandRunner(env))
        assert backend.missing(session) == (
            f"install the {cls.schema} settings schema (Debian/Ubuntu: apt install {package})"
        )
        with pytest.raises(WallpaperError) as caught:
            backend.set(picture(tmp_path, "x.jpg"), session)
        assert str(caught.value).startswith(f"{cls.label}: ")
        assert "exit 1" in str(caught.value)
        assert "\n" not in str(caught.value)
        assert cls(CommandRunner(session_env)).missing(Session.from_env(session_env)) is None


def test_the_system_gsettings_wins_over_one_earlier_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not os.access("/usr/bin/gsettings", os.X_OK):
        pytest.skip("no /usr/bin/gsettings here")
    conda = tmp_path / "conda" / "bin"
    conda.mkdir(parents=True)
    fake = conda / "gsettings"
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(0o755)
    runner = CommandRunner({"PATH": f"{conda}:/usr/bin:/bin"})
    assert GnomeBackend(runner).gsettings() == "/usr/bin/gsettings"
    assert GnomeBackend(runner).tools() == {"gsettings": "/usr/bin/gsettings"}
    # Where there is no system gsettings, the one on PATH is used.
    monkeypatch.setattr(GnomeBackend, "system_gsettings", str(tmp_path / "nowhere" / "gsettings"))
    assert GnomeBackend(runner).gsettings() == str(fake)
    empty = CommandRunner({"PATH": str(tmp_path / "nothing")})
    problem = GnomeBackend(empty).missing(Session.from_env({}))
    assert problem == "install gsettings (Debian/Ubuntu: apt install libglib2.0-bin)"


TRICKY_STRINGS = [
    "plain",
    "it's",
    'say "hi"',
    "both ' and \"",
    "back\\slash \\u0041 \\'",
    "tab\tnew\nline",
    "Ünïcödé 日本 \U0001f600",
    "",
]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("value", TRICKY_STRINGS)
def test_gvariant_strings_round_trip_through_real_gsettings(value: str) -> None:
    preset(MATE, "picture-filename", value)
    assert saved(MATE, "picture-filename") == value


def test_gvariant_string_parsing_rules() -> None:
    assert parse_gvariant_string("'file:///a%20b.jpg'\n") == "file:///a%20b.jpg"
    assert parse_gvariant_string('"it\'s"') == "it's"
    assert parse_gvariant_string("'it\\'s'") == "it's"
    assert parse_gvariant_string('"say \\"x\\""') == 'say "x"'
    assert parse_gvariant_string("@s 'typed'") == "typed"
    assert parse_gvariant_string("'\\u00e9\\U0001F600\\t\\\\'") == "é\U0001f600\t\\"
    assert parse_gvariant_string("'\\q'") == "q"  # any other escaped character is itself
    for bad in ("", "plain", "'open", "'a'b'", "'ends\\'", "'\\u12'", "@s"):
        with pytest.raises(ValueError):
            parse_gvariant_string(bad)
    for value in TRICKY_STRINGS:
        assert parse_gvariant_string(gvariant_string(value)) == value


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"XDG_CURRENT_DESKTOP": "GNOME"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "pop:GNOME"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "Budgie:GNOME"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "Unity"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "Pantheon"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "GNOME-Flashback:GNOME"}, "gnome"),
        ({"XDG_CURRENT_DESKTOP": "X-Cinnamon"}, "cinnamon"),
        ({"DESKTOP_SESSION": "cinnamon"}, "cinnamon"),
        ({"XDG_CURRENT_DESKTOP": "MATE"}, "mate"),
        ({"DESKTOP_SESSION": "xubuntu"}, None),
        ({"XDG_CURRENT_DESKTOP": "KDE"}, None),
        ({}, None),
    ],
)
def test_detect(env: dict[str, str], expected: str | None) -> None:
    session = Session.from_env(env, platform="linux")
    runner = CommandRunner({})
    matches = [
        cls.name
        for cls in (GnomeBackend, CinnamonBackend, MateBackend)
        if cls(runner).detect(session)
    ]
    assert matches == ([expected] if expected else [])
    if expected == "gnome":
        reason = GnomeBackend(runner).detect(session)
        assert reason is not None and reason.startswith("XDG_CURRENT_DESKTOP is ")


def test_mate_refuses_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    odd = tmp_path / os.fsdecode(b"caf\xe9.jpg")
    with pytest.raises(WallpaperError, match=r"^MATE \(gsettings\): "):
        MateBackend(CommandRunner({})).value_for(odd)
