"""Hyprland backend against recording stand-ins for hyprctl, awww and swww.

The stand-ins answer like the real tools: hyprpaper before 0.8 replies "ok" or an error
text (hyprctl exits 0 either way); hyprctl 0.53+ with hyprpaper 0.8 knows only
``wallpaper``, prints nothing on success and ``error: …`` with exit 1 otherwise.
"""

from __future__ import annotations

import logging
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.hyprland import HyprlandBackend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.standins import StandIns

SIGNATURE = "c0ffee_1717000000_123456"


class HyprStandIns(StandIns):
    """Stand-ins that also see Hyprland's runtime directory and instance signature."""

    def __init__(self, root: Path, runtime_dir: Path) -> None:
        super().__init__(root)
        self.runtime_dir = runtime_dir

    def runner(self, extra_env: Mapping[str, str] | None = None) -> CommandRunner:
        return super().runner(
            {
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "HYPRLAND_INSTANCE_SIGNATURE": SIGNATURE,
                **(extra_env or {}),
            }
        )


HYPRLAND = Session.from_env(
    {"HYPRLAND_INSTANCE_SIGNATURE": SIGNATURE, "XDG_CURRENT_DESKTOP": "Hyprland"}, "linux"
)
LISTLOADED = ["hyprctl", "hyprpaper", "listloaded"]


@pytest.fixture
def runtime_dir() -> Iterator[Path]:
    """A short XDG_RUNTIME_DIR: unix socket paths must stay under 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="hypr-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def tools(tmp_path: Path, runtime_dir: Path) -> HyprStandIns:
    return HyprStandIns(tmp_path / "standins", runtime_dir)


@pytest.fixture
def hyprpaper_socket(runtime_dir: Path) -> Iterator[Path]:
    """Something listening where hyprpaper 0.8 puts its socket."""
    path = runtime_dir / "hypr" / SIGNATURE / ".hyprpaper.sock"
    path.parent.mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    try:
        yield path
    finally:
        listener.close()


def picture(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "pictures" / name
    folder.mkdir(parents=True)
    path = folder / "Bing 2024-06-01.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return path


AWKWARD = "a b 'single' \"double\" back\\slash ü"


def legacy_hyprpaper(tools: StandIns) -> None:
    tools.add("hyprctl")
    tools.answer("hyprctl", ("hyprpaper", "listloaded"), stdout="no wallpapers loaded\n")
    for request in ("preload", "wallpaper", "unload"):
        tools.answer("hyprctl", ("hyprpaper", request), stdout="ok\n")


def current_hyprpaper(tools: StandIns) -> None:
    tools.add("hyprctl")
    tools.answer(
        "hyprctl",
        ("hyprpaper", "listloaded"),
        stdout="error: Unknown hyprpaper request\n",
        exit=1,
    )


def test_detect() -> None:
    backend = HyprlandBackend(CommandRunner(env={"PATH": ""}))
    assert backend.detect(Session.from_env({"HYPRLAND_INSTANCE_SIGNATURE": "x"}, "linux"))
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "Hyprland"}, "linux"))
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "sway"}, "linux")) is None


def test_hyprpaper_before_0_8_preloads_sets_and_unloads(tmp_path: Path, tools: StandIns) -> None:
    legacy_hyprpaper(tools)
    path = picture(tmp_path, f"{AWKWARD} #1, two")
    HyprlandBackend(tools.runner()).set(path, HYPRLAND)
    # hyprlang reads '#' as a comment: '##' is a literal one. Everything after the first
    # comma of "wallpaper" is the path, so its own commas need nothing.
    sent = str(path).replace("#", "##")
    assert tools.calls() == [
        LISTLOADED,
        ["hyprctl", "hyprpaper", "preload", sent],
        ["hyprctl", "hyprpaper", "wallpaper", f",{sent}"],
        ["hyprctl", "hyprpaper", "unload", "unused"],
    ]


def test_hyprpaper_error_with_exit_0_is_a_failure(tmp_path: Path, tools: StandIns) -> None:
    tools.add("hyprctl")
    tools.answer("hyprctl", ("hyprpaper", "listloaded"), stdout="/old/picture.png\n")
    tools.answer("hyprctl", ("hyprpaper", "preload"), stdout="ok\n")
    tools.answer("hyprctl", ("hyprpaper", "wallpaper"), stdout="wallpaper failed (not preloaded)\n")
    path = picture(tmp_path, AWKWARD)
    with pytest.raises(WallpaperError) as caught:
        HyprlandBackend(tools.runner()).set(path, HYPRLAND)
    assert str(caught.value) == (
        "Hyprland (hyprpaper): wallpaper failed: wallpaper failed (not preloaded)"
    )
    assert [call[2] for call in tools.calls()] == ["listloaded", "preload", "wallpaper"]


def test_failed_unload_only_warns(
    tmp_path: Path, tools: StandIns, caplog: pytest.LogCaptureFixture
) -> None:
    tools.add("hyprctl")
    tools.answer("hyprctl", ("hyprpaper", "unload"), stdout="unload failed (busy)\n")
    tools.answer("hyprctl", ("hyprpaper",), stdout="ok\n")
    with caplog.at_level(logging.WARNING, logger="huewall.wallpaper.hyprland"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, "plain"), HYPRLAND)
    assert "unload failed (busy)" in caplog.text


def test_hyprlang_syntax_in_a_path_is_refused(tmp_path: Path, tools: StandIns) -> None:
    legacy_hyprpaper(tools)
    with pytest.raises(WallpaperError, match=r"hyprpaper.*'\$'"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, "cost $HOME"), HYPRLAND)
    assert tools.calls() == [LISTLOADED]


def test_hyprpaper_0_8_sets_in_one_request(
    tmp_path: Path, tools: StandIns, hyprpaper_socket: Path
) -> None:
    current_hyprpaper(tools)
    path = picture(tmp_path, f"{AWKWARD} #1, two,three")
    backend = HyprlandBackend(tools.runner())
    assert backend.missing(HYPRLAND) is None
    backend.set(path, HYPRLAND)
    # hyprctl 0.53 splits "MONITOR,PATH,FIT" on commas; a backslash escapes one.
    sent = str(path).replace(",", "\\,")
    assert tools.calls() == [
        LISTLOADED,
        LISTLOADED,
        ["hyprctl", "hyprpaper", "wallpaper", f",{sent}"],
    ]


def test_hyprpaper_0_8_failure(tmp_path: Path, tools: StandIns, hyprpaper_socket: Path) -> None:
    current_hyprpaper(tools)
    tools.answer(
        "hyprctl",
        ("hyprpaper", "wallpaper"),
        stdout="error: failed to set wallpaper: Invalid path\n",
        exit=1,
    )
    with pytest.raises(WallpaperError, match=r"exit 1\): error: failed to set wallpaper"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, AWKWARD), HYPRLAND)


def test_hyprpaper_0_8_error_with_exit_0(
    tmp_path: Path, tools: StandIns, hyprpaper_socket: Path
) -> None:
    current_hyprpaper(tools)
    tools.answer(
        "hyprctl", ("hyprpaper", "wallpaper"), stdout="error: can't send: wire handshake failed\n"
    )
    with pytest.raises(WallpaperError, match="wire handshake failed"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, "plain"), HYPRLAND)


def test_a_backslash_before_a_comma_cannot_reach_hyprpaper_0_8(
    tmp_path: Path, tools: StandIns, hyprpaper_socket: Path
) -> None:
    current_hyprpaper(tools)
    with pytest.raises(WallpaperError, match="backslash before a comma"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, "a\\,b"), HYPRLAND)
    assert tools.calls() == [LISTLOADED]


def test_stale_hyprpaper_socket_falls_back_to_awww(
    tmp_path: Path, tools: StandIns, runtime_dir: Path
) -> None:
    current_hyprpaper(tools)
    stale = runtime_dir / "hypr" / SIGNATURE / ".hyprpaper.sock"
    stale.parent.mkdir(parents=True)
    stale.touch()
    tools.add("awww")
    path = picture(tmp_path, AWKWARD)
    HyprlandBackend(tools.runner()).set(path, HYPRLAND)
    assert tools.calls() == [LISTLOADED, ["awww", "query"], ["awww", "img", str(path)]]


def test_no_hyprpaper_uses_awww(tmp_path: Path, tools: StandIns) -> None:
    tools.add("hyprctl", "awww", "swww")
    tools.answer(
        "hyprctl",
        ("hyprpaper",),
        stdout=f"Couldn't connect to /run/user/1000/hypr/{SIGNATURE}/.hyprpaper.sock. (3)\n",
        exit=3,
    )
    tools.answer("awww", ("query",), stdout="HEADLESS-1: 1920x1080, scale: 1\n")
    path = picture(tmp_path, AWKWARD)
    HyprlandBackend(tools.runner()).set(path, HYPRLAND)
    assert tools.calls() == [LISTLOADED, ["awww", "query"], ["awww", "img", str(path)]]


def test_swww_when_awww_is_absent(tmp_path: Path, tools: StandIns) -> None:
    tools.add("swww")
    path = picture(tmp_path, AWKWARD)
    HyprlandBackend(tools.runner()).set(path, HYPRLAND)
    assert tools.calls() == [["swww", "query"], ["swww", "img", str(path)]]


def test_daemon_not_running_gives_advice(tmp_path: Path, tools: StandIns) -> None:
    tools.add("awww", "swww")
    for tool in ("awww", "swww"):
        tools.answer(
            tool,
            ("query",),
            stderr='Error: "Socket file not found. Are you sure the daemon is running?"\n',
            exit=1,
        )
    backend = HyprlandBackend(tools.runner())
    assert backend.missing(HYPRLAND) == (
        "start the wallpaper daemon (awww-daemon), or start hyprpaper"
    )
    with pytest.raises(WallpaperError, match=r"^Hyprland: start the wallpaper daemon \(awww"):
        backend.set(picture(tmp_path, "plain"), HYPRLAND)
    assert ["awww", "img"] not in [call[:2] for call in tools.calls()]


def test_awww_failure_is_reported(tmp_path: Path, tools: StandIns) -> None:
    tools.add("awww")
    tools.answer("awww", ("img",), stderr="Error: failed to decode image\n", exit=1)
    with pytest.raises(WallpaperError, match=r"Hyprland \(awww\).*exit 1.*failed to decode"):
        HyprlandBackend(tools.runner()).set(picture(tmp_path, "plain"), HYPRLAND)


def test_nothing_installed(tmp_path: Path, tools: StandIns) -> None:
    backend = HyprlandBackend(tools.runner())
    assert backend.missing(HYPRLAND) == (
        "install hyprpaper (with Hyprland's hyprctl) or awww (formerly swww)"
    )
    tools.add("hyprctl")
    tools.answer("hyprctl", stdout="HYPRLAND_INSTANCE_SIGNATURE was not set!\n", exit=2)
    assert backend.missing(HYPRLAND) == (
        "start hyprpaper, or install awww (formerly swww) and start awww-daemon"
    )
    assert backend.tools() == {
        "hyprctl": str(tools.bin / "hyprctl"),
        "hyprpaper": None,
        "awww": None,
        "swww": None,
    }
