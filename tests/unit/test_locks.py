from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from desktop_app.core.errors import LockTimeoutError
from desktop_app.core.locks import KeyedLocks


def test_ten_thousand_keys_leave_the_registry_empty(tmp_path: Path) -> None:
    locks = KeyedLocks(tmp_path)
    for i in range(10_000):
        with locks.hold(f"download:photo{i}:UHD"):
            assert len(locks) == 1
    assert len(locks) == 0


def test_same_key_is_exclusive_between_threads(tmp_path: Path) -> None:
    locks = KeyedLocks(tmp_path)
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with locks.hold("metadata:en-US"):
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.002)  # widen the window in which an overlap would show
            with guard:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1
    assert len(locks) == 0


def test_different_keys_do_not_wait_for_each_other(tmp_path: Path) -> None:
    locks = KeyedLocks(tmp_path)
    entered = threading.Event()
    with locks.hold("download:a:UHD"):

        def other() -> None:
            with locks.hold("download:b:UHD", timeout=5):
                entered.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert entered.wait(5), "a different key waited for a held one"
        thread.join()


def test_waiting_ends_in_a_clear_error(tmp_path: Path) -> None:
    locks = KeyedLocks(tmp_path)
    errors: list[BaseException] = []
    with locks.hold("palette:abc:local|v1"):

        def waiter() -> None:
            try:
                with locks.hold("palette:abc:local|v1", timeout=0.2, what="the picture's palette"):
                    pass
            except LockTimeoutError as exc:
                errors.append(exc)

        thread = threading.Thread(target=waiter)
        thread.start()
        thread.join(10)
    assert len(errors) == 1
    assert "the picture's palette" in str(errors[0]) and "0.2 s" in str(errors[0])
    assert len(locks) == 0


HOLDER = """
import sys, time
from pathlib import Path
from desktop_app.core.locks import KeyedLocks
locks = KeyedLocks(Path(sys.argv[1]))
with locks.hold("download:photo:UHD"):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.mark.timeout(60)
def test_other_processes_wait_and_a_killed_holder_blocks_nobody(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        locks = KeyedLocks(tmp_path)
        with pytest.raises(LockTimeoutError), locks.hold("download:photo:UHD", timeout=0.3):
            pass
        with locks.hold("download:other:UHD", timeout=1):
            pass  # an unrelated key is free
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        start = time.monotonic()
        with locks.hold("download:photo:UHD", timeout=10):
            waited = time.monotonic() - start
        assert waited < 5, "the kernel should release a dead holder's lock at once"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
