"""macOS: every screen through NSWorkspace (pyobjc), else System Events via osascript.

Only the current Space of each screen changes; that is all either API offers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session


class DesktopImageApi(Protocol):
    """The two AppKit calls this backend needs (a fake in tests, pyobjc for real)."""

    def screens(self) -> Sequence[Any]:
        """``NSScreen.screens()``."""

    def set_desktop_image(self, path: Path, screen: Any) -> str | None:
        """Show ``path`` on ``screen``; None on success, else what AppKit said."""


class PyObjCDesktopImage:
    """``NSWorkspace.setDesktopImageURL:forScreen:options:error:`` through pyobjc."""

    def __init__(self, appkit: Any, foundation: Any) -> None:
        self._appkit = appkit
        self._foundation = foundation
        # Scale proportionally and allow clipping: "Fill Screen", like the other backends.
        self._options = {
            appkit.NSWorkspaceDesktopImageScalingKey: appkit.NSImageScaleProportionallyUpOrDown,
            appkit.NSWorkspaceDesktopImageAllowClippingKey: True,
        }

    def screens(self) -> Sequence[Any]:
        return list(self._appkit.NSScreen.screens() or [])

    def set_desktop_image(self, path: Path, screen: Any) -> str | None:
        url = self._foundation.NSURL.fileURLWithPath_(str(path))
        workspace = self._appkit.NSWorkspace.sharedWorkspace()
        try:
            ok, error = workspace.setDesktopImageURL_forScreen_options_error_(
                url, screen, self._options, None
            )
        except Exception as exc:  # pyobjc raises objc.error and friends
            return str(exc) or type(exc).__name__
        if ok:
            return None
        return str(error.localizedDescription()) if error is not None else "no reason given"


def load_appkit() -> DesktopImageApi | None:
    """pyobjc's AppKit if it imports (macOS with pyobjc-framework-Cocoa), else None."""
    try:
        appkit = importlib.import_module("AppKit")
        foundation = importlib.import_module("Foundation")
    except ImportError:
        return None
    return PyObjCDesktopImage(appkit, foundation)


def applescript_string(text: str) -> str:
    """``text`` as an AppleScript string literal (backslash and double quote escaped)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def osascript_program(path: Path) -> str:
    return (
        'tell application "System Events" to tell every desktop to set picture to '
        f"POSIX file {applescript_string(str(path))}"
    )


class MacBackend(Backend):
    name = "macos"
    label = "macOS"

    def __init__(
        self,
        runner: CommandRunner,
        appkit: Callable[[], DesktopImageApi | None] = load_appkit,
    ) -> None:
        super().__init__(runner)
        self._load_appkit = appkit
        self._appkit: DesktopImageApi | None = None
        self._appkit_loaded = False

    def appkit(self) -> DesktopImageApi | None:
        if not self._appkit_loaded:
            self._appkit = self._load_appkit()
            self._appkit_loaded = True
        return self._appkit

    def detect(self, session: Session) -> str | None:
        return "macOS" if session.platform == "darwin" else None

    def missing(self, session: Session) -> str | None:
        if self.appkit() is not None or self.runner.which("osascript"):
            return None
        return "install pyobjc (pip install pyobjc-framework-Cocoa); osascript was not found"

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        api = self.appkit()
        if api is None:
            self.runner.run(
                f"{self.label} (osascript)", ["osascript", "-e", osascript_program(path)]
            )
            return
        screens = api.screens()
        if not screens:
            raise WallpaperError(f"{self.label} (AppKit): no screens found")
        failures = []
        for number, screen in enumerate(screens, start=1):
            problem = api.set_desktop_image(path, screen)
            if problem is not None:
                failures.append(f"screen {number}: {problem}")
        if failures:
            said = "; ".join(failures)[:300]
            raise WallpaperError(f"{self.label} (AppKit): could not set the picture: {said}")

    def tools(self) -> dict[str, str | None]:
        return {
            "AppKit (pyobjc)": "available" if self.appkit() is not None else None,
            "osascript": self.runner.which("osascript"),
        }
