"""Putting a picture on the desktop: the one sequence the CLI and the tray app share."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from desktop_app.core.models import Wallpaper
from desktop_app.core.wallpapers import WallpaperFolder
from desktop_app.platform.wallpaper.registry import choose_ready
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

log = logging.getLogger("huewall.wallpaper")


def put_on_desktop(
    env: Mapping[str, str],
    wallpapers: WallpaperFolder,
    source: Path,
    wallpaper: Wallpaper | None,
    *,
    backend: str,
    lock_screen: bool,
) -> tuple[str, Path]:
    """Choose the backend (``backend`` is "auto" or a name), hand ``source`` over through
    the wallpaper folder, and return the line that says so and the copy on the desktop.

    Raises ``HuewallError`` (one line naming the backend and why); the previous wallpaper
    then stays.
    """
    session = Session.from_env(env)
    chosen = choose_ready(session, CommandRunner(env), backend).backend
    if lock_screen and not chosen.supports_lock_screen:
        log.warning("%s cannot set the lock screen; setting the desktop only", chosen.label)
        lock_screen = False
    if wallpaper is not None:
        day, title = wallpaper.image.startdate, wallpaper.image.title
    else:
        day, title = date.today().strftime("%Y%m%d"), source.name
    target = wallpapers.apply(
        source,
        day=day,
        title=title,
        backend=chosen.name,
        show=lambda path: chosen.set(path, session, lock_screen=lock_screen),
    )
    where = "wallpaper and lock screen" if lock_screen else "wallpaper"
    return f"set '{title}' as the {where} with {chosen.label} ({target})", target
