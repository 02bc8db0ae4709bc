"""LXDE backend against a real ``pcmanfm --desktop`` under a private Xvfb, checked on
screen; LXQt backend against a recording stand-in ``pcmanfm-qt`` (not installed here)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.lxde import (
    START_DESKTOP,
    LxdeBackend,
    LxqtBackend,
    keyfile_value,
    listening_unix_sockets,
    pcmanfm_sockets,
)
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.screen import difference
from tests.support.xvfb import require, xvfb

TOLERANCE = 12.0


@pytest.fixture
def runtime_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """conftest's private HOME plus a fresh XDG_RUNTIME_DIR (pcmanfm's socket goes there)."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return dict(os.environ)


def picture(path: Path, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
    """A two-colour picture at the screen's aspect ratio, so a wrong crop would show."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (320, 180), left)
    image.paste(right, (160, 0, 320, 180))
    image.save(path, "PNG")
    return path


def screen(display: str) -> Image.Image:
    # import ignores its -display option when grabbing the root window: use DISPLAY.
    shot = subprocess.run(
        ["import", "-silent", "-window", "root", "png:-"],
        capture_output=True,
        env={**os.environ, "DISPLAY": display},
        timeout=30,
        check=True,
    )
    png: bytes = shot.stdout
    with Image.open(io.BytesIO(png)) as image:
        shown: Image.Image = image.convert("RGB")
    return shown


def wait_until_shown(display: str, path: Path, deadline: float = 20.0) -> float:
    """Poll the screen until it shows ``path``; the smallest difference seen."""
    best = 255.0
    end = time.monotonic() + deadline
    while best >= TOLERANCE and time.monotonic() < end:
        best = min(best, difference(screen(display), path))
    return best


@contextmanager
def pcmanfm(env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """``pcmanfm ARGS`` for the test's display, stopped by its PID afterwards.

    Waits (with a deadline) until its single-instance socket listens.
    """
    process = subprocess.Popen(
        ["pcmanfm", *args],
        env={**env, "NO_AT_BRIDGE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        sockets = {str(path) for path in pcmanfm_sockets(env)}
        end = time.monotonic() + 20
        while not sockets & (listening_unix_sockets() or set()):
            assert process.poll() is None, "pcmanfm exited"
            assert time.monotonic() < end, "pcmanfm's socket never listened"
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def file_manager_windows(display: str) -> list[str]:
    """pcmanfm's top-level windows other than its desktop ones (named after a folder)."""
    out = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-children"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return [
        line.strip()
        for line in out.splitlines()
        if '("pcmanfm" "Pcmanfm")' in line and '"pcmanfm": (' not in line
    ]


@pytest.mark.timeout(90)
def test_pcmanfm_desktop_shows_the_picture(tmp_path: Path, runtime_env: dict[str, str]) -> None:
    require("pcmanfm")
    require("import")
    require("xwininfo")
    first = picture(
        tmp_path / "Bing 'pictures'" / 'it\'s "first" Ü.png', (220, 40, 40), (40, 40, 220)
    )
    second = picture(tmp_path / "second, 100% 日本.png", (40, 200, 40), (230, 220, 40))
    with xvfb(640, 360) as display:
        env = {**runtime_env, "DISPLAY": display}
        session = Session.from_env(env)
        backend = LxdeBackend(CommandRunner(env))
        with pcmanfm(env, "--desktop"):
            assert backend.missing(session) is None
            assert difference(screen(display), first) > 50
            backend.set(first, session)
            assert wait_until_shown(display, first) < TOLERANCE
            backend.set(second, session)
            assert wait_until_shown(display, second) < TOLERANCE
            # Checking for the desktop did not make pcmanfm open file manager windows.
            assert file_manager_windows(display) == []
    config = Path(env["XDG_CONFIG_HOME"]) / "pcmanfm" / "default" / "desktop-items-0.conf"
    text = config.read_text(encoding="utf-8")
    assert f"wallpaper={second}\n" in text
    assert "wallpaper_mode=crop\n" in text


@pytest.mark.timeout(60)
def test_without_the_desktop_nothing_is_started_and_the_advice_says_how(
    tmp_path: Path, runtime_env: dict[str, str]
) -> None:
    """pcmanfm would become the first instance and wait on an error dialog: never run it."""
    require("pcmanfm")
    path = picture(tmp_path / "p.png", (1, 2, 3), (4, 5, 6))
    with xvfb(320, 180) as display:
        env = {**runtime_env, "DISPLAY": display}
        session = Session.from_env(env)
        backend = LxdeBackend(CommandRunner(env))
        advice = backend.missing(session)
        assert advice is not None
        assert "pcmanfm --desktop" in advice
        started = time.monotonic()
        with pytest.raises(WallpaperError) as caught:
            backend.set(path, session)
        assert time.monotonic() - started < 2
        assert str(caught.value) == f"LXDE (pcmanfm): {advice}"
        assert not (Path(env["XDG_CONFIG_HOME"]) / "pcmanfm").exists()


@pytest.mark.timeout(60)
def test_a_file_manager_only_pcmanfm_is_not_the_desktop(runtime_env: dict[str, str]) -> None:
    """Only the pcmanfm on this display counts, not a desktop on another one."""
    require("pcmanfm")
    with xvfb(320, 180) as display, xvfb(320, 180) as other:
        env = {**runtime_env, "DISPLAY": display}
        backend = LxdeBackend(CommandRunner(env))
        with pcmanfm({**runtime_env, "DISPLAY": other}, "--desktop"):
            assert (
                LxdeBackend(CommandRunner({**env, "DISPLAY": other})).missing(
                    Session.from_env({**env, "DISPLAY": other})
                )
                is None
            )
            assert backend.missing(Session.from_env(env)) == (
                f"pcmanfm's desktop is not running on this display; {START_DESKTOP}"
            )
            with pcmanfm(env, "--daemon-mode"):
                advice = backend.missing(Session.from_env(env))
    assert advice == f"pcmanfm runs as a file manager only, not as the desktop; {START_DESKTOP}"


def test_lxde_missing_without_pcmanfm_or_display(tmp_path: Path) -> None:
    nothing = CommandRunner({"PATH": str(tmp_path)})
    assert LxdeBackend(nothing).missing(Session.from_env({"DISPLAY": ":0"})) == (
        "install pcmanfm (Debian/Ubuntu: apt install pcmanfm)"
    )
    if LxdeBackend(CommandRunner()).runner.which("pcmanfm"):
        no_display = LxdeBackend(CommandRunner()).missing(Session.from_env({}))
        assert no_display == "an X11 display (DISPLAY is not set)"


def test_pcmanfm_socket_names() -> None:
    env = {"DISPLAY": ":5.0", "XDG_RUNTIME_DIR": "/run/user/1000", "HOME": "/home/me"}
    assert pcmanfm_sockets(env)[0] == Path("/run/user/1000/pcmanfm-socket--5")
    remote = {"DISPLAY": "box:12", "HOME": "/home/me"}
    assert pcmanfm_sockets(remote)[0] == Path("/home/me/.cache/pcmanfm-socket-box-12")


def test_keyfile_values_are_unescaped() -> None:
    assert keyfile_value('/a b/it\'s "q".png') == '/a b/it\'s "q".png'
    assert keyfile_value("\\sleading\\\\back\\nline\\tx") == " leading\\back\nline\tx"


def test_detect() -> None:
    runner = CommandRunner({})
    lxde, lxqt = LxdeBackend(runner), LxqtBackend(runner)
    assert lxde.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "LXDE"})) is not None
    assert lxde.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "LXDE-pi"})) is not None
    assert lxde.detect(Session.from_env({"DESKTOP_SESSION": "LXDE-pi-x"})) is not None
    assert lxde.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "LXQt"})) is None
    assert lxqt.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "LXQt"})) is not None
    assert lxqt.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "LXDE"})) is None


# -- LXQt: a recording stand-in -------------------------------------------------------------

STANDIN = """#!{python}
import json, os, sys
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if os.environ.get("STANDIN_FAIL"):
    sys.stderr.write("QDBusConnection: something went wrong\\nlast line: no desktop\\n")
    sys.exit(3)
"""


@pytest.fixture
def standin(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH starts with a recording ``pcmanfm-qt``."""
    folder = tmp_path / "standin-bin"
    folder.mkdir()
    tool = folder / "pcmanfm-qt"
    tool.write_text(STANDIN.format(python=sys.executable), encoding="utf-8")
    tool.chmod(0o755)
    log = tmp_path / "calls.jsonl"
    return {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}",
        "STANDIN_LOG": str(log),
    }


def calls(env: dict[str, str]) -> list[list[str]]:
    log = Path(env["STANDIN_LOG"])
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    "name",
    ["plain.jpg", 'it\'s a "quoted" name with spaces.jpg', "Ünïcödé 日本, 100% #1.jpg"],
    ids=["plain", "quotes-spaces", "non-ascii"],
)
def test_lxqt_runs_pcmanfm_qt_with_the_exact_arguments(
    tmp_path: Path, standin: dict[str, str], name: str
) -> None:
    path = picture(tmp_path / "Bing 'pictures'" / name, (1, 2, 3), (4, 5, 6))
    backend = LxqtBackend(CommandRunner(standin))
    session = Session.from_env({**standin, "XDG_CURRENT_DESKTOP": "LXQt"})
    assert backend.detect(session) == "XDG_CURRENT_DESKTOP is lxqt"
    assert backend.missing(session) is None
    backend.set(path, session)
    assert calls(standin) == [["--set-wallpaper", str(path), "--wallpaper-mode", "zoom"]]
    assert backend.tools() == {"pcmanfm-qt": str(tmp_path / "standin-bin" / "pcmanfm-qt")}


def test_lxqt_failure_is_one_line_naming_the_backend(
    tmp_path: Path, standin: dict[str, str]
) -> None:
    backend = LxqtBackend(CommandRunner({**standin, "STANDIN_FAIL": "1"}))
    with pytest.raises(WallpaperError) as caught:
        backend.set(picture(tmp_path / "p.jpg", (1, 2, 3), (4, 5, 6)), Session.from_env(standin))
    assert str(caught.value) == (
        "LXQt (pcmanfm-qt): 'pcmanfm-qt' failed (exit 3): last line: no desktop"
    )


def test_lxqt_missing_without_pcmanfm_qt(tmp_path: Path) -> None:
    backend = LxqtBackend(CommandRunner({"PATH": str(tmp_path)}))
    advice = "install pcmanfm-qt (Debian/Ubuntu: apt install pcmanfm-qt)"
    assert backend.missing(Session.from_env({})) == advice
    with pytest.raises(WallpaperError, match=r"^LXQt \(pcmanfm-qt\): install pcmanfm-qt"):
        backend.set(tmp_path / "p.jpg", Session.from_env({}))
