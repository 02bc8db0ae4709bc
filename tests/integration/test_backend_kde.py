"""KDE Plasma backend against recording stand-ins for its tools (no Plasma here).

Each stand-in is a small executable on a PATH of its own that appends its argv as one
JSON line to a log and answers as the test tells it. The generated plasmashell script is
also run for real by node against stub desktops.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.kde import KdeBackend, plasma_script
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.standins import StandIns
from tests.support.xvfb import require

KDE = Session.from_env({"KDE_FULL_SESSION": "true", "XDG_CURRENT_DESKTOP": "KDE"}, "linux")
METHOD = ["org.kde.plasmashell", "/PlasmaShell", "org.kde.PlasmaShell.evaluateScript"]


@pytest.fixture
def tools(tmp_path: Path) -> StandIns:
    return StandIns(tmp_path / "standins")


def picture(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "pictures" / name
    folder.mkdir(parents=True)
    path = folder / "Bing ü 2024-06-01.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return path


def uri_in(script: str) -> str:
    """The URI literal on the script's first line, read back as JSON."""
    first = script.splitlines()[0]
    assert first.startswith("var uri = ") and first.endswith(";"), first
    value = json.loads(first[len("var uri = ") : -1])
    assert isinstance(value, str)
    return value


def test_detect() -> None:
    backend = KdeBackend(CommandRunner(env={"PATH": ""}))
    assert backend.detect(Session.from_env({"KDE_FULL_SESSION": "true"}, "linux"))
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "KDE"}, "linux"))
    assert backend.detect(Session.from_env({"DESKTOP_SESSION": "plasmawayland"}, "linux"))
    assert (
        backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}, "linux")) is None
    )
    assert backend.supports_lock_screen


def test_apply_tool_gets_the_plain_path(tmp_path: Path, tools: StandIns) -> None:
    tools.add("plasma-apply-wallpaperimage", "dbus-send")
    path = picture(tmp_path, 'two  spaces "double" ü')
    KdeBackend(tools.runner()).set(path, KDE)
    assert tools.calls() == [["plasma-apply-wallpaperimage", str(path)]]


@pytest.mark.parametrize("awkward", ["it's", "back\\slash", "hash#", "what?", "100%", "tab\there"])
def test_paths_the_apply_tool_mangles_go_through_the_script(
    tmp_path: Path, tools: StandIns, awkward: str
) -> None:
    tools.add("plasma-apply-wallpaperimage", "dbus-send")
    path = picture(tmp_path, f'a b "c" {awkward} ü')
    KdeBackend(tools.runner()).set(path, KDE)
    [call] = tools.calls()
    assert call[:6] == [
        "dbus-send",
        "--session",
        "--print-reply",
        "--dest=org.kde.plasmashell",
        "/PlasmaShell",
        "org.kde.PlasmaShell.evaluateScript",
    ]
    assert len(call) == 7 and call[6].startswith("string:")
    script = call[6][len("string:") :]
    assert script == plasma_script(path.as_uri())
    uri = uri_in(script)
    assert uri == path.as_uri()
    assert unquote(urlsplit(uri).path) == str(path)


@pytest.mark.parametrize(
    ("installed", "chosen"),
    [
        (("qdbus6", "qdbus-qt5", "qdbus", "dbus-send"), "qdbus6"),
        (("qdbus-qt5", "qdbus", "dbus-send"), "qdbus-qt5"),
        (("qdbus", "dbus-send"), "qdbus"),
    ],
)
def test_qdbus_order(
    tmp_path: Path, tools: StandIns, installed: tuple[str, ...], chosen: str
) -> None:
    tools.add(*installed)
    path = picture(tmp_path, "it's \\ here")
    KdeBackend(tools.runner()).set(path, KDE)
    [call] = tools.calls()
    assert call[:4] == [chosen, *METHOD]
    assert len(call) == 5
    assert uri_in(call[4]) == path.as_uri()


@pytest.mark.timeout(60)
def test_the_script_sets_every_desktop_when_run(tmp_path: Path) -> None:
    """Run the generated script in a real JavaScript engine against stub desktops."""
    node = require("node")
    path = Path('/home/ü/a b/it\'s "q" back\\slash </script> \u2028 #?%.jpg')
    script_file = tmp_path / "script.js"
    script_file.write_text(plasma_script(path.as_uri()), encoding="utf-8")
    harness = tmp_path / "harness.js"
    harness.write_text(
        """
const script = require('fs').readFileSync(process.argv[2], 'utf8');
const written = [];
const stub = (n) => ({
  wallpaperPlugin: 'org.kde.color',
  currentConfigGroup: [],
  writeConfig(key, value) {
    written.push([n, this.wallpaperPlugin, this.currentConfigGroup.slice(), key, value]);
  },
});
new Function('desktops', script)(() => [stub(0), stub(1), stub(2)]);
process.stdout.write(JSON.stringify(written));
""",
        encoding="utf-8",
    )
    result = subprocess.run(
        [node, str(harness), str(script_file)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    group = ["Wallpaper", "org.kde.image", "General"]
    assert json.loads(result.stdout) == [
        [n, "org.kde.image", group, "Image", path.as_uri()] for n in range(3)
    ]


def test_lock_screen_uses_kwriteconfig6_with_a_uri(tmp_path: Path, tools: StandIns) -> None:
    tools.add("plasma-apply-wallpaperimage", "kwriteconfig6", "kwriteconfig5")
    path = picture(tmp_path, 'lock "screen" ü')
    KdeBackend(tools.runner()).set(path, KDE, lock_screen=True)
    greeter = ["kwriteconfig6", "--file", "kscreenlockerrc", "--group", "Greeter"]
    assert tools.calls() == [
        ["plasma-apply-wallpaperimage", str(path)],
        [*greeter, "--key", "WallpaperPlugin", "org.kde.image"],
        [
            *greeter,
            *["--group", "Wallpaper", "--group", "org.kde.image", "--group", "General"],
            *["--key", "Image", path.as_uri()],
        ],
    ]


def test_lock_screen_on_plasma_5(tmp_path: Path, tools: StandIns) -> None:
    tools.add("qdbus", "kwriteconfig5")
    path = picture(tmp_path, "it's five")
    KdeBackend(tools.runner()).set(path, KDE, lock_screen=True)
    calls = tools.calls()
    assert [call[0] for call in calls] == ["qdbus", "kwriteconfig5", "kwriteconfig5"]
    assert calls[2] == [
        *["kwriteconfig5", "--file", "kscreenlockerrc", "--group", "Greeter"],
        *["--group", "Wallpaper", "--group", "org.kde.image", "--group", "General"],
        *["--key", "Image", path.as_uri()],
    ]


def test_lock_screen_without_kwriteconfig_says_so(tmp_path: Path, tools: StandIns) -> None:
    tools.add("plasma-apply-wallpaperimage")
    path = picture(tmp_path, "plain")
    with pytest.raises(WallpaperError, match=r"KDE Plasma: .*kwriteconfig6"):
        KdeBackend(tools.runner()).set(path, KDE, lock_screen=True)
    assert tools.calls() == [["plasma-apply-wallpaperimage", str(path)]]


def test_a_failing_tool_gives_one_line(tmp_path: Path, tools: StandIns) -> None:
    tools.add("plasma-apply-wallpaperimage")
    tools.answer(
        "plasma-apply-wallpaperimage",
        stdout="An error occurred while attempting to set the Plasma wallpaper:\n"
        "Widgets are locked\n",
        exit=1,
    )
    with pytest.raises(WallpaperError) as caught:
        KdeBackend(tools.runner()).set(picture(tmp_path, "x"), KDE)
    message = str(caught.value)
    assert "\n" not in message
    assert "KDE Plasma (plasma-apply-wallpaperimage)" in message
    assert "exit 1" in message and "Widgets are locked" in message


def test_dbus_error_is_reported(tmp_path: Path, tools: StandIns) -> None:
    tools.add("dbus-send")
    tools.answer(
        "dbus-send",
        stderr="Error org.freedesktop.DBus.Error.ServiceUnknown: "
        "The name org.kde.plasmashell was not provided by any .service files\n",
        exit=1,
    )
    with pytest.raises(WallpaperError, match=r"dbus-send.*exit 1.*ServiceUnknown"):
        KdeBackend(tools.runner()).set(picture(tmp_path, "x"), KDE)


def test_missing_tools_give_advice(tmp_path: Path, tools: StandIns) -> None:
    backend = KdeBackend(tools.runner())
    advice = backend.missing(KDE)
    assert advice is not None and "plasma-apply-wallpaperimage" in advice
    with pytest.raises(WallpaperError, match="install plasma-apply-wallpaperimage"):
        backend.set(picture(tmp_path, "x"), KDE)
    assert tools.calls() == []
    assert backend.tools()["dbus-send"] is None


def test_apply_tool_alone_refuses_a_path_it_would_mangle(tmp_path: Path, tools: StandIns) -> None:
    tools.add("plasma-apply-wallpaperimage")
    with pytest.raises(WallpaperError, match="dbus-send"):
        KdeBackend(tools.runner()).set(picture(tmp_path, "it's"), KDE)
    assert tools.calls() == []
