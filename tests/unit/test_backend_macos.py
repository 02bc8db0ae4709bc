"""macOS backend on Linux: a recording fake for AppKit, a recording stand-in for osascript."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.macos import (
    DesktopImageApi,
    MacBackend,
    PyObjCDesktopImage,
    applescript_string,
    load_appkit,
    osascript_program,
)
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.standins import StandIns

MAC = Session.from_env({}, "darwin")
AWKWARD = Path("/Users/zoë/Pictures/a b 'single' \"double\" back\\slash\ttab ü.jpg")


class FakeAppKit:
    """Records every desktop-image call; ``refuse`` maps a screen to AppKit's complaint."""

    def __init__(self, screens: Sequence[str], refuse: dict[str, str] | None = None) -> None:
        self._screens = list(screens)
        self.refuse = refuse or {}
        self.calls: list[tuple[Path, Any]] = []

    def screens(self) -> Sequence[Any]:
        return self._screens

    def set_desktop_image(self, path: Path, screen: Any) -> str | None:
        self.calls.append((path, screen))
        return self.refuse.get(screen)


def osascript_runner(tmp_path: Path, *, exit: int = 0, stderr: str = "") -> CommandRunner:
    tools = StandIns(tmp_path / "standins")
    tools.add("osascript")
    tools.answer("osascript", stderr=stderr, exit=exit)
    return tools.runner()


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "standins" / "calls.jsonl"
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def parse_applescript_string(literal: str) -> str:
    """Read an AppleScript string literal back (the escapes AppleScript knows)."""
    assert literal.startswith('"') and literal.endswith('"'), literal
    escapes = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    out: list[str] = []
    body = iter(literal[1:-1])
    for ch in body:
        if ch == '"':
            raise AssertionError(f"unescaped quote in {literal!r}")
        out.append(escapes[next(body)] if ch == "\\" else ch)
    return "".join(out)


def test_detect() -> None:
    backend = MacBackend(CommandRunner(env={"PATH": ""}), appkit=lambda: None)
    assert backend.detect(MAC) == "macOS"
    assert backend.detect(Session.from_env({}, "linux")) is None
    assert backend.detect(Session.from_env({}, "win32")) is None


def test_every_screen_through_appkit(tmp_path: Path) -> None:
    fake = FakeAppKit(["built-in", "external"])
    backend = MacBackend(osascript_runner(tmp_path), appkit=lambda: fake)
    backend.set(AWKWARD, MAC)
    assert fake.calls == [(AWKWARD, "built-in"), (AWKWARD, "external")]
    assert calls(tmp_path) == []  # osascript not needed


def test_appkit_refusal_names_the_screen(tmp_path: Path) -> None:
    fake = FakeAppKit(["built-in", "external"], refuse={"external": "The file is not readable."})
    backend = MacBackend(osascript_runner(tmp_path), appkit=lambda: fake)
    with pytest.raises(WallpaperError) as caught:
        backend.set(AWKWARD, MAC)
    assert str(caught.value) == (
        "macOS (AppKit): could not set the picture: screen 2: The file is not readable."
    )
    assert len(fake.calls) == 2  # the first screen was still set


def test_no_screens(tmp_path: Path) -> None:
    backend = MacBackend(osascript_runner(tmp_path), appkit=lambda: FakeAppKit([]))
    with pytest.raises(WallpaperError, match="no screens"):
        backend.set(AWKWARD, MAC)


def test_the_factory_is_called_once(tmp_path: Path) -> None:
    made: list[DesktopImageApi] = []

    def factory() -> DesktopImageApi:
        made.append(FakeAppKit(["one"]))
        return made[-1]

    backend = MacBackend(osascript_runner(tmp_path), appkit=factory)
    backend.set(AWKWARD, MAC)
    backend.set(AWKWARD, MAC)
    assert len(made) == 1


def test_osascript_without_pyobjc(tmp_path: Path) -> None:
    backend = MacBackend(osascript_runner(tmp_path), appkit=lambda: None)
    assert backend.missing(MAC) is None
    backend.set(AWKWARD, MAC)
    [call] = calls(tmp_path)
    assert call == ["osascript", "-e", osascript_program(AWKWARD)]
    prefix = 'tell application "System Events" to tell every desktop to set picture to POSIX file '
    assert call[2].startswith(prefix)
    assert parse_applescript_string(call[2][len(prefix) :]) == str(AWKWARD)


def test_applescript_string_escapes() -> None:
    assert applescript_string('a"b\\c') == '"a\\"b\\\\c"'
    for text in ('"', "\\", '\\"', "x\ny", "plain ü", "it's"):
        assert parse_applescript_string(applescript_string(text)) == text


def test_osascript_failure(tmp_path: Path) -> None:
    runner = osascript_runner(
        tmp_path,
        exit=1,
        stderr="0:120: execution error: Not authorized to send Apple events to System Events. "
        "(-1743)\n",
    )
    with pytest.raises(WallpaperError) as caught:
        MacBackend(runner, appkit=lambda: None).set(AWKWARD, MAC)
    assert "macOS (osascript)" in str(caught.value)
    assert "exit 1" in str(caught.value) and "(-1743)" in str(caught.value)


def test_nothing_available(tmp_path: Path) -> None:
    backend = MacBackend(CommandRunner(env={"PATH": str(tmp_path)}), appkit=lambda: None)
    advice = backend.missing(MAC)
    assert advice is not None and "pyobjc" in advice
    with pytest.raises(WallpaperError, match="pyobjc"):
        backend.set(AWKWARD, MAC)
    assert backend.tools() == {"AppKit (pyobjc)": None, "osascript": None}


def test_real_loader_finds_no_appkit_here() -> None:
    assert load_appkit() is None


def test_pyobjc_adapter_calls(tmp_path: Path) -> None:
    """The pyobjc adapter with stand-ins for the AppKit and Foundation modules."""
    recorded: list[tuple[Any, ...]] = []

    class Workspace:
        def setDesktopImageURL_forScreen_options_error_(
            self, url: Any, screen: Any, options: Any, error: Any
        ) -> tuple[bool, Any]:
            recorded.append((url, screen, options, error))
            if screen == "broken":
                return False, SimpleNamespace(localizedDescription=lambda: "Permission denied")
            return True, None

    workspace = Workspace()
    appkit = SimpleNamespace(
        NSWorkspaceDesktopImageScalingKey="NSWorkspaceDesktopImageScalingKey",
        NSWorkspaceDesktopImageAllowClippingKey="NSWorkspaceDesktopImageAllowClippingKey",
        NSImageScaleProportionallyUpOrDown=3,
        NSScreen=SimpleNamespace(screens=lambda: ["main", "broken"]),
        NSWorkspace=SimpleNamespace(sharedWorkspace=lambda: workspace),
    )
    foundation = SimpleNamespace(
        NSURL=SimpleNamespace(fileURLWithPath_=lambda path: ("NSURL", path))
    )
    api = PyObjCDesktopImage(appkit, foundation)
    backend = MacBackend(CommandRunner(env={"PATH": ""}), appkit=lambda: api)
    with pytest.raises(WallpaperError, match="screen 2: Permission denied"):
        backend.set(AWKWARD, MAC)
    options = {
        "NSWorkspaceDesktopImageScalingKey": 3,
        "NSWorkspaceDesktopImageAllowClippingKey": True,
    }
    assert recorded == [
        (("NSURL", str(AWKWARD)), "main", options, None),
        (("NSURL", str(AWKWARD)), "broken", options, None),
    ]
