"""The shared store: one ``diskcache.Cache`` for records, picture files beside it.

Every process and thread of Huewall opens the same store. Records (weeks, archived
days, picture index, palettes, recent failures) are JSON in the cache (``JSONDisk``:
no pickle, so a tampered cache cannot run code, and garbage is just a miss). Pictures
are files in ``images/``, written atomically and kept as an archive under a size cap.

A corrupt database is detected when the store opens or on first use, moved aside and
rebuilt with one warning; the pictures stay.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import diskcache

from desktop_app.core.errors import HuewallError, StoreError, error_from_record
from desktop_app.core.files import PARTIAL_SUFFIX, atomic_output, partials_of
from desktop_app.core.models import BingImage, PaletteRecord, StoredImage, Week

log = logging.getLogger("huewall.store")

# A failure is shared with those who waited for it, then forgotten.
FAILURE_TTL = 600.0
# Leftover temporary files older than this belong to dead writers.
STALE_PARTIAL_AGE = 3600.0

_READ_ERRORS = (sqlite3.DatabaseError, OSError, ValueError, KeyError, TypeError, zlib.error)


class Store:
    def __init__(self, cache_dir: Path, archive_max_bytes: int = 2 * 1024**3) -> None:
        self.cache_dir = cache_dir
        self.db_dir = cache_dir / "store"
        self.images_dir = cache_dir / "images"
        self.archive_max_bytes = archive_max_bytes
        self._reopen_lock = threading.Lock()
        try:
            self.images_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the cache folder {cache_dir}: {exc.strerror}"
            ) from None
        self._cache = self._open()

    # -- the database -------------------------------------------------------------------

    def _open(self) -> diskcache.Cache:
        if not _database_is_sound(self.db_dir / diskcache.core.DBNAME):
            self._move_aside()
        try:
            cache = diskcache.Cache(str(self.db_dir), disk=diskcache.JSONDisk, statistics=False)
            cache.get("__probe__")
            return cache
        except sqlite3.OperationalError as exc:  # locked, full, read-only: not damage
            raise StoreError(f"cannot open the cache in {self.db_dir}: {exc}") from None
        except sqlite3.DatabaseError:  # not a database, malformed
            self._move_aside()
            try:
                return diskcache.Cache(str(self.db_dir), disk=diskcache.JSONDisk)
            except (sqlite3.DatabaseError, OSError) as exc:
                raise StoreError(f"cannot rebuild the cache in {self.db_dir}: {exc}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the cache in {self.db_dir}: {exc.strerror}") from None

    def _move_aside(self) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = self.db_dir.with_name(f"store.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.db_dir, target)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(
                f"the cache in {self.db_dir} is damaged and cannot be moved aside: {exc}"
            ) from None
        log.warning(
            "the cache in %s was damaged; moved it to %s and started a new one", self.db_dir, target
        )

    def _recover(self, broken: diskcache.Cache) -> None:
        """A database error in use: rebuild once (other threads may have done it already)."""
        with self._reopen_lock:
            if self._cache is not broken:
                return
            with contextlib.suppress(Exception):
                broken.close()
            self._move_aside()
            self._cache = self._open()

    def close(self) -> None:
        self._cache.close()

    def _get(self, key: str) -> Any:
        cache = self._cache
        try:
            return cache.get(key)
        except sqlite3.OperationalError as exc:
            # Locked for too long, or unreadable: say so rather than redo work blindly.
            raise StoreError(f"cannot read the cache in {self.db_dir}: {exc}") from None
        except sqlite3.DatabaseError:
            self._recover(cache)
            return None
        except _READ_ERRORS:
            # A value that cannot be decoded is a miss; drop it so it is rebuilt.
            with contextlib.suppress(Exception):
                cache.delete(key)
            return None

    def _set(self, key: str, value: Any, expire: float | None = None) -> None:
        cache = self._cache
        try:
            cache.set(key, value, expire=expire)
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreError(f"cannot write the cache in {self.db_dir}: {exc}") from None
        except sqlite3.DatabaseError:
            self._recover(cache)
            self._cache.set(key, value, expire=expire)

    def _load(self, key: str, parse: Any) -> Any:
        record = self._get(key)
        if record is None:
            return None
        try:
            return parse(record)
        except _READ_ERRORS:
            log.debug("dropping a malformed record %s", key)
            with contextlib.suppress(Exception):
                self._cache.delete(key)
            return None

    # -- weeks and the day archive ------------------------------------------------------

    def load_week(self, market: str) -> Week | None:
        week: Week | None = self._load(f"week:{market}", Week.from_record)
        return week if week is not None and week.market == market else None

    def save_week(self, week: Week) -> None:
        for image in week.images:
            self._set(f"day:{week.market}:{image.startdate}", image.to_record())
        self._set(f"week:{week.market}", week.to_record())

    def load_archived_day(self, market: str, startdate: str) -> BingImage | None:
        image: BingImage | None = self._load(f"day:{market}:{startdate}", BingImage.from_record)
        return image

    # -- pictures -----------------------------------------------------------------------

    def image_path(self, photo: str, resolution: str, extension: str) -> Path:
        return self.images_dir / f"{photo}_{resolution}.{extension}"

    def load_image(self, photo: str, resolution: str) -> StoredImage | None:
        record = self._get(f"image:{photo}:{resolution}")
        if record is None:
            return None
        try:
            path = self.images_dir / record["file"]
            if path.parent != self.images_dir:
                raise ValueError("path outside the archive")
            stored = StoredImage(
                path=path,
                sha256=str(record["sha256"]),
                width=int(record["width"]),
                height=int(record["height"]),
                size=int(record["size"]),
            )
            if path.stat().st_size != stored.size:
                return None  # pruned, replaced or damaged: fetch again
        except _READ_ERRORS:
            return None
        return stored

    @contextlib.contextmanager
    def new_image(self, path: Path) -> Iterator[BinaryIO]:
        """Write a picture into the archive; call only while holding its download lock.

        Any temporary files for the same picture are leftovers of a writer that died
        (whoever holds the lock is the only writer), so they are removed first.
        """
        for leftover in partials_of(path):
            with contextlib.suppress(OSError):
                leftover.unlink()
        with atomic_output(path) as handle:
            yield handle

    def save_image(self, photo: str, resolution: str, stored: StoredImage) -> None:
        self._set(
            f"image:{photo}:{resolution}",
            {
                "file": stored.path.name,
                "sha256": stored.sha256,
                "width": stored.width,
                "height": stored.height,
                "size": stored.size,
            },
        )

    def touch(self, path: Path) -> None:
        """Mark a picture as used now, so the archive prunes it last."""
        with contextlib.suppress(OSError):
            os.utime(path)

    def get_record(self, key: str) -> Any:
        """A plain JSON record kept by another part of the core (None when absent)."""
        return self._get(key)

    def set_record(self, key: str, value: Any) -> None:
        self._set(key, value)

    def pin(self, path: Path) -> None:
        """Record the picture on screen; pruning never deletes it."""
        self._set("pinned", [path.name])

    def prune(self, keep: set[Path] | None = None) -> list[Path]:
        """Delete the least recently used pictures until the archive fits its cap."""
        protected = {p.name for p in keep or set()}
        pinned = self._get("pinned")
        if isinstance(pinned, list):
            protected.update(str(name) for name in pinned)
        now = time.time()
        files: list[tuple[float, int, Path]] = []
        for entry in os.scandir(self.images_dir):
            if not entry.is_file(follow_symlinks=False):
                continue
            stat = entry.stat(follow_symlinks=False)
            if entry.name.endswith(PARTIAL_SUFFIX):
                if now - stat.st_mtime > STALE_PARTIAL_AGE:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                continue
            files.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        total = sum(size for _, size, _ in files)
        removed: list[Path] = []
        for _, size, path in sorted(files):
            if total <= self.archive_max_bytes:
                break
            if path.name in protected:
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            total -= size
            removed.append(path)
        if removed:
            log.info("archive over its cap: removed %d old picture(s)", len(removed))
        return removed

    # -- palettes -----------------------------------------------------------------------

    def load_palette(self, sha256: str, analyser: str) -> PaletteRecord | None:
        record: PaletteRecord | None = self._load(
            f"palette:{sha256}:{analyser}", PaletteRecord.from_record
        )
        return record

    def save_palette(self, sha256: str, record: PaletteRecord) -> None:
        self._set(f"palette:{sha256}:{record.analyser}", record.to_record())

    # -- failures shared with waiters ---------------------------------------------------

    def record_failure(self, key: str, error: BaseException) -> None:
        kind = type(error).__name__ if isinstance(error, HuewallError) else "HuewallError"
        message = str(error) if isinstance(error, HuewallError) else f"unexpected error: {error!r}"
        with contextlib.suppress(Exception):
            self._set(
                f"failure:{key}", {"kind": kind, "message": message, "at": time.time()}, FAILURE_TTL
            )

    def failure_since(self, key: str, since: float) -> HuewallError | None:
        """The failure of whoever did ``key``'s work after ``since``, if any."""
        record = self._get(f"failure:{key}")
        if not isinstance(record, Mapping):
            return None
        try:
            if float(record["at"]) < since:
                return None
            return error_from_record(str(record["kind"]), str(record["message"]))
        except _READ_ERRORS:
            return None


def _database_is_sound(db_file: Path) -> bool:
    if not db_file.exists():
        return True
    try:
        connection = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=30)
        try:
            row = connection.execute("PRAGMA quick_check").fetchone()
        finally:
            connection.close()
    except sqlite3.OperationalError as exc:
        # Busy or locked by another process is not damage.
        return "locked" in str(exc) or "busy" in str(exc)
    except sqlite3.DatabaseError:
        return False
    return bool(row) and row[0] == "ok"
