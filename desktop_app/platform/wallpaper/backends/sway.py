"""sway: ``swaymsg output * bg PATH fill`` (sway hands the picture to swaybg)."""

from __future__ import annotations

import json
import string
from pathlib import Path

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.session import Session

_PLAIN = frozenset(string.ascii_letters + string.digits + "/._-")


def sway_path_argument(path: str) -> str:
    """``path`` written so that it survives sway's command parser and its wordexp(3).

    swaymsg joins its arguments into one command string. sway splits it on ``;``, ``,``
    and blanks (a backslash protects the next character, and it keeps the backslash),
    replaces ``$variables`` (not an escaped ``\\$``), then ``bg`` rejoins the pieces
    before the mode with single spaces and runs them through wordexp(3), which removes
    the backslashes. So every ASCII character other than letters, digits and ``/._-``
    gets a backslash; that also stops wordexp's globbing, ``$(…)``, backticks and
    quote removal. Verified against sway 1.7 headless, pixel by pixel.
    """
    if any(ch in path for ch in "\n\r\0"):
        # sway turns a newline in an IPC command into a command separator.
        raise WallpaperError(f"sway: cannot pass a path with a line break to swaymsg: {path!r}")
    return "".join(ch if ch in _PLAIN or not ch.isascii() else "\\" + ch for ch in path)


def check_reply(stdout: str) -> None:
    """Raise if swaymsg's reply reports a failed command even though it exited with 0.

    With ``-p`` swaymsg prints nothing on success and ``Error: …`` per failed command;
    some versions print the raw JSON reply (``[{"success": false, "error": …}]``).
    """
    text = stdout.strip()
    if not text:
        return
    if text.startswith(("[", "{")):
        try:
            reply = json.loads(text)
        except ValueError:
            raise WallpaperError(f"sway: swaymsg gave an unreadable reply: {text[:200]}") from None
        results = reply if isinstance(reply, list) else [reply]
        for result in results:
            if isinstance(result, dict) and result.get("success") is False:
                said = str(result.get("error") or "the command failed")
                raise WallpaperError(f"sway: swaymsg: {said[:200]}")
        return
    for line in text.splitlines():
        if line.strip().lower().startswith("error"):
            raise WallpaperError(f"sway: swaymsg: {line.strip()[:200]}")


class SwayBackend(Backend):
    name = "sway"
    label = "sway"

    def detect(self, session: Session) -> str | None:
        if session.sway:
            return "SWAYSOCK is set"
        if session.is_desktop("sway"):
            return "the desktop is sway"
        return None

    def missing(self, session: Session) -> str | None:
        if self.runner.which("swaymsg") is None:
            return "install swaymsg (Debian/Ubuntu: apt install sway)"
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        argument = sway_path_argument(str(path))
        # -p: a failure comes back as one "Error: …" line (exit 2) instead of pretty JSON.
        stdout = self.runner.run(
            f"{self.label} (swaymsg)", ["swaymsg", "-p", "output", "*", "bg", argument, "fill"]
        )
        check_reply(stdout)

    def tools(self) -> dict[str, str | None]:
        return {tool: self.runner.which(tool) for tool in ("swaymsg", "swaybg")}
