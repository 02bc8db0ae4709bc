"""Files that appear whole or not at all: write to a temporary name, fsync, rename."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PARTIAL_SUFFIX = ".partial"


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[BinaryIO]:
    """Write ``path`` through a temporary file beside it; it appears only if the block succeeds.

    A reader (or a process killed mid-write) never sees half a file: the data goes to
    ``<name>.<random>.partial``, is fsynced and then renamed over ``path``. On any error the
    temporary file is removed and ``path`` keeps its previous content.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # The writer's PID in the name lets a process that must exit at once remove its own.
    temp = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(6)}{PARTIAL_SUFFIX}")
    handle = open(temp, "xb")  # noqa: SIM115 - closed below on every path
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(temp, path)
    except BaseException:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_output(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def remove_own_partials(directory: Path) -> int:
    """Delete the temporary files this process left in ``directory``; how many.

    For a process about to exit while a worker is still stuck writing (a blocked
    network read cannot be interrupted): its half-written files must not stay behind.
    """
    removed = 0
    for leftover in directory.glob(f"*.{os.getpid()}-*{PARTIAL_SUFFIX}"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            removed += 1
    return removed


def partials_of(path: Path) -> list[Path]:
    """Temporary files left for ``path`` by writers that died before finishing."""
    return sorted(path.parent.glob(f"{path.name}.*{PARTIAL_SUFFIX}"))
