"""Hyprland: hyprpaper through ``hyprctl hyprpaper``, else the awww (formerly swww) daemon.

hyprpaper changed its IPC in 0.8 (with Hyprland 0.53's hyprctl): ``preload``, ``unload``
and ``listloaded`` are gone ("Unknown hyprpaper request"), ``wallpaper MONITOR,PATH[,FIT]``
loads the picture itself, prints nothing on success and ``error: …`` (exit 1) on failure,
and hyprctl splits the argument on commas (a backslash escapes one). Before 0.8 each
request answered ``ok`` or an error text, often with exit status 0.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Literal

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import last_line
from desktop_app.platform.wallpaper.session import Session

log = logging.getLogger("huewall.wallpaper.hyprland")

HYPRCTL = "hyprctl"
DAEMONS = ("awww", "swww")  # swww was renamed awww; same commands
UNKNOWN_REQUEST = "unknown hyprpaper request"

# hyprpaper < 0.8 reads requests with hyprlang, which takes '#' as a comment ('##' is a
# literal '#'), expands $VARIABLES and {{expressions}}, and folds '\\' and '\{' '\}'.
_LEGACY_UNSAFE = ("$", "{", "}", "\\\\", "\n", "\r")

HyprpaperMode = Literal["legacy", "current"]


def legacy_path_argument(path: str) -> str:
    """``path`` as hyprpaper < 0.8 reads it after the first comma of ``wallpaper``."""
    if any(part in path for part in _LEGACY_UNSAFE):
        raise WallpaperError(
            f"Hyprland (hyprpaper): this hyprpaper reads '$', '{{', '}}', '\\\\' and line "
            f"breaks in a path as its own syntax: {path!r}"
        )
    return path.replace("#", "##")


def current_path_argument(path: str) -> str:
    """``path`` for hyprctl 0.53+, which splits ``MONITOR,PATH,FIT`` on unescaped commas."""
    if "\\," in path or path.endswith("\\") or any(ch in path for ch in "\n\r"):
        raise WallpaperError(
            f"Hyprland (hyprpaper): hyprctl cannot pass a path with a backslash before a "
            f"comma or at the end, or a line break: {path!r}"
        )
    return path.replace(",", "\\,")


def _looks_failed(output: str) -> bool:
    text = output.strip().lower()
    return text.startswith(("error", "couldn't", "could not")) or " failed" in text


class HyprlandBackend(Backend):
    name = "hyprland"
    label = "Hyprland"

    def detect(self, session: Session) -> str | None:
        if session.hyprland:
            return "HYPRLAND_INSTANCE_SIGNATURE is set"
        if session.is_desktop("hyprland"):
            return "the desktop is Hyprland"
        return None

    # -- what is running -------------------------------------------------------------

    def hyprpaper(self) -> HyprpaperMode | None:
        """Which hyprpaper IPC answers, or None when hyprpaper is not running."""
        if self.runner.which(HYPRCTL) is None:
            return None
        try:
            output = self.runner.run(
                "Hyprland (hyprpaper)", [HYPRCTL, "hyprpaper", "listloaded"], timeout=5
            )
        except WallpaperError as exc:
            if UNKNOWN_REQUEST in str(exc).lower():
                return "current" if self._hyprpaper_socket_answers() else None
            return None  # hyprctl could not reach hyprpaper
        if UNKNOWN_REQUEST in output.lower():
            return "current" if self._hyprpaper_socket_answers() else None
        # Anything else (the loaded pictures, "no wallpapers loaded", a very old
        # hyprpaper's "invalid command") comes from a running hyprpaper before 0.8.
        return "legacy"

    def _hyprpaper_socket_answers(self) -> bool:
        """Whether something listens on hyprpaper 0.8's socket (a stale file refuses)."""
        env = self.runner.env
        runtime = env.get("XDG_RUNTIME_DIR")
        signature = env.get("HYPRLAND_INSTANCE_SIGNATURE")
        if not runtime or not signature:
            return False
        path = os.path.join(runtime, "hypr", signature, ".hyprpaper.sock")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(2)
        try:
            probe.connect(path)
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def daemon(self) -> tuple[str | None, str | None]:
        """(an awww/swww whose daemon answers, the first one installed)."""
        installed = None
        for tool in DAEMONS:
            if self.runner.which(tool) is None:
                continue
            installed = installed or tool
            try:
                self.runner.run(f"Hyprland ({tool})", [tool, "query"], timeout=5)
            except WallpaperError:
                continue
            return tool, installed
        return None, installed

    def missing(self, session: Session) -> str | None:
        if self.hyprpaper() is not None:
            return None
        running, installed = self.daemon()
        return None if running is not None else self._advice(installed)

    def _advice(self, installed: str | None) -> str:
        if installed is not None:
            return f"start the wallpaper daemon ({installed}-daemon), or start hyprpaper"
        if self.runner.which(HYPRCTL) is not None:
            return "start hyprpaper, or install awww (formerly swww) and start awww-daemon"
        return "install hyprpaper (with Hyprland's hyprctl) or awww (formerly swww)"

    # -- setting ---------------------------------------------------------------------

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        mode = self.hyprpaper()
        if mode == "legacy":
            self._set_legacy(str(path))
        elif mode == "current":
            self._set_current(str(path))
        else:
            running, installed = self.daemon()
            if running is None:
                raise WallpaperError(f"{self.label}: {self._advice(installed)}")
            self.runner.run(f"{self.label} ({running})", [running, "img", str(path)])

    def _hyprctl(self, *request: str) -> str:
        """Run ``hyprctl hyprpaper REQUEST…`` and return what it printed."""
        return self.runner.run("Hyprland (hyprpaper)", [HYPRCTL, "hyprpaper", *request])

    def _set_legacy(self, path: str) -> None:
        argument = legacy_path_argument(path)
        for request in (("preload", argument), ("wallpaper", f",{argument}")):
            output = self._hyprctl(*request)
            if last_line(output).lower() != "ok":
                said = last_line(output) or "no answer"
                raise WallpaperError(f"Hyprland (hyprpaper): {request[0]} failed: {said}")
        try:
            output = self._hyprctl("unload", "unused")
        except WallpaperError as exc:
            log.warning("hyprpaper could not unload unused pictures: %s", exc)
        else:
            if last_line(output).lower() != "ok":
                log.warning("hyprpaper could not unload unused pictures: %s", last_line(output))

    def _set_current(self, path: str) -> None:
        output = self._hyprctl("wallpaper", f",{current_path_argument(path)}")
        if _looks_failed(output):
            raise WallpaperError(f"Hyprland (hyprpaper): {last_line(output)}")

    def tools(self) -> dict[str, str | None]:
        return {tool: self.runner.which(tool) for tool in (HYPRCTL, "hyprpaper", *DAEMONS)}
