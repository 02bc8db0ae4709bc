"""The primary screen's size, for ``--resolution auto``, without Qt.

The tray app asks Qt instead; the CLI uses this. Unknown (no display, Wayland without
an X server, macOS) is fine: the caller then takes the largest rendition.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Mapping

_PRIMARY = re.compile(r" connected primary (\d+)x(\d+)\+")
_CONNECTED = re.compile(r" connected (?:primary )?(\d+)x(\d+)\+")
_SCREEN = re.compile(r"current (\d+) x (\d+)")


def parse_xrandr(output: str) -> tuple[int, int] | None:
    """The primary output's mode, else the first connected one, else the screen's."""
    for pattern in (_PRIMARY, _CONNECTED, _SCREEN):
        match = pattern.search(output)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


def primary_screen_size(env: Mapping[str, str]) -> tuple[int, int] | None:
    if sys.platform == "win32":
        return _windows_screen()
    if env.get("DISPLAY") and shutil.which("xrandr"):
        try:
            result = subprocess.run(
                ["xrandr", "--current"],
                capture_output=True,
                text=True,
                timeout=3,
                env=dict(env),
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        if result.returncode == 0:
            return parse_xrandr(result.stdout)
    return None


def _windows_screen() -> tuple[int, int] | None:  # pragma: no cover - Windows only
    import ctypes

    user32 = ctypes.windll.user32  # type: ignore[attr-defined]
    user32.SetProcessDPIAware()
    width, height = int(user32.GetSystemMetrics(0)), int(user32.GetSystemMetrics(1))
    return (width, height) if width and height else None
