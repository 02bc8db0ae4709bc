"""A registry of locks, one per unit of work, shared by threads and by processes.

``KeyedLocks.hold(key)`` serialises everyone doing the same work (the same market's
metadata, the same photo's download, the same picture's analysis) while different keys
never wait for each other. Inside a process a ``threading.Lock`` per key queues the
threads; across processes a file lock (``flock``/``msvcrt`` through ``filelock``) does,
and the kernel releases it when its holder dies, so a killed process blocks nobody.

Registry entries exist only while someone holds or waits for the key, so the registry
does not grow with the number of distinct keys ever used. Lock files on disk stay; they
are empty and named by a hash of the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import filelock

from desktop_app.core.errors import LockTimeoutError, StoreError

DEFAULT_TIMEOUT = 180.0


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # threads holding or waiting for ``lock``


class KeyedLocks:
    def __init__(self, lock_dir: Path, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._dir = lock_dir
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the lock folder {lock_dir}: {exc.strerror}") from None
        self._timeout = timeout
        self._mutex = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        """How many keys are held or waited for right now in this process."""
        with self._mutex:
            return len(self._entries)

    def users(self, key: str) -> int:
        """How many threads of this process hold or wait for ``key`` right now."""
        with self._mutex:
            entry = self._entries.get(key)
            return entry.users if entry is not None else 0

    def lock_file(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        return self._dir / f"{digest}.lock"

    @contextlib.contextmanager
    def hold(
        self, key: str, timeout: float | None = None, what: str | None = None
    ) -> Iterator[None]:
        """Hold ``key`` against every other thread and process, or raise ``LockTimeoutError``."""
        limit = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        with self._mutex:
            entry = self._entries.setdefault(key, _Entry())
            entry.users += 1
        try:
            if not entry.lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise self._timed_out(key, limit, what)
            try:
                file_lock = filelock.FileLock(
                    self.lock_file(key),
                    thread_local=False,
                    # Keep the (empty) file: this also rules out filelock's soft-lock
                    # fallback, which a killed holder would leave locked.
                    preserve_lock_file=True,
                )
                try:
                    file_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
                except filelock.Timeout:
                    raise self._timed_out(key, limit, what) from None
                try:
                    yield
                finally:
                    file_lock.release()
            finally:
                entry.lock.release()
        finally:
            with self._mutex:
                entry.users -= 1
                if entry.users == 0:
                    del self._entries[key]

    @staticmethod
    def _timed_out(key: str, limit: float, what: str | None) -> LockTimeoutError:
        return LockTimeoutError(
            f"gave up waiting {limit:g} s for another Huewall thread or process busy with "
            f"{what or key}; try again later"
        )
