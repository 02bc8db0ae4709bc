"""The folder of pictures handed to the desktop, and the one rule set that keeps it safe.

Desktops cache a wallpaper by its path and go black when the file on screen vanishes,
so every picture is handed over under a new name (its day and a short hash) in a folder
of our own, only a complete, verified picture is handed over, and older copies are
deleted only after the desktop has switched. If setting fails, the previous wallpaper
and its file stay as they were.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from desktop_app.core.errors import BadResponseError, StoreError, UsageError
from desktop_app.core.files import atomic_output
from desktop_app.core.imaging import verify_picture
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.store import Store

log = logging.getLogger("huewall.wallpapers")

_LABEL = re.compile(r"[^A-Za-z0-9-]+")
CURRENT_KEY = "wallpaper:current"


@dataclass(frozen=True)
class CurrentWallpaper:
    """What Huewall last put on the desktop."""

    path: Path
    source: Path
    backend: str
    set_at: datetime
    title: str = ""


class WallpaperFolder:
    def __init__(self, folder: Path, store: Store, locks: KeyedLocks) -> None:
        self.folder = folder
        self._store = store
        self._locks = locks

    def apply(
        self,
        source: Path,
        *,
        day: str,
        show: Callable[[Path], None],
        backend: str,
        title: str = "",
    ) -> Path:
        """Copy ``source`` in under a new name, ``show`` it, then prune the older copies.

        ``day`` (e.g. ``20251019``) starts the new name. ``show`` puts a path on the
        desktop and raises on failure; then the new copy is removed again (unless it is
        the picture already on screen) and nothing else changes.
        """
        if not source.is_file():
            raise UsageError(f"no such picture: {source}")
        try:
            verify_picture(source)
        except BadResponseError as exc:
            raise UsageError(f"{source} is not a picture Huewall can set: {exc}") from None
        with self._locks.hold("wallpaper:set", what="setting the wallpaper"):
            current = self.current()
            target = self._copy_in(source, day)
            try:
                show(target)
            except BaseException:
                if current is None or current.path != target:
                    with contextlib.suppress(OSError):
                        target.unlink()
                raise
            if source.parent == self._store.images_dir:
                self._store.pin(source)  # keep it in the archive too
            self._store.set_record(
                CURRENT_KEY,
                {
                    "path": str(target),
                    "source": str(source),
                    "backend": backend,
                    "title": title,
                    "set_at": datetime.now(timezone.utc).isoformat(),
                },
            )
            self._prune(keep=target)
        return target

    def current(self) -> CurrentWallpaper | None:
        record: Any = self._store.get_record(CURRENT_KEY)
        if not isinstance(record, dict):
            return None
        try:
            return CurrentWallpaper(
                path=Path(record["path"]),
                source=Path(record["source"]),
                backend=str(record["backend"]),
                set_at=datetime.fromisoformat(record["set_at"]),
                title=str(record.get("title", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _copy_in(self, source: Path, day: str) -> Path:
        digest = _sha256(source)
        label = _LABEL.sub("-", day).strip("-") or datetime.now().strftime("%Y%m%d")
        target = self.folder / f"{label}-{digest[:10]}{source.suffix.lower() or '.jpg'}"
        if target.exists() and _sha256(target) == digest:
            return target  # the same picture again: never rewrite a file that may be on screen
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(target) as out, open(source, "rb") as inp:
                shutil.copyfileobj(inp, out, 1024 * 1024)
        except OSError as exc:
            raise StoreError(
                f"cannot copy the picture into {self.folder}: {exc.strerror or exc}"
            ) from None
        return target

    def _prune(self, keep: Path) -> None:
        """Delete the copies no desktop shows any more (everything but ``keep``).

        Runs under the set lock, so a temporary file here is a dead writer's leftover.
        """
        for entry in os.scandir(self.folder):
            if entry.name == keep.name:
                continue
            if entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()
