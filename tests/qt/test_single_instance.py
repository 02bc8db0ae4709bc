"""One Huewall per user: the hand-over to the running instance, with real processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtNetwork import QLocalServer
from pytestqt.qtbot import QtBot

from desktop_app.qt.single_instance import (
    SHOW_SETTINGS,
    SingleInstance,
    default_directory,
    instance_key,
)

ROOT = Path(__file__).resolve().parents[2]

# A later start, as ``main()`` does it: try the lock, else hand over and report.
LATER_START = """
import sys
from pathlib import Path
from desktop_app.qt.single_instance import SingleInstance
instance = SingleInstance(sys.argv[1], Path(sys.argv[2]))
if instance.acquire():
    print("first")
else:
    print("handed over" if instance.send(sys.argv[3], timeout_ms=8000) else "no answer")
"""

# A first instance that crashes (SIGKILL) after listening: leaves its socket and lock.
CRASHING_FIRST = """
import sys, time
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from desktop_app.qt.single_instance import SingleInstance
app = QCoreApplication([])
instance = SingleInstance(sys.argv[1], Path(sys.argv[2]))
assert instance.acquire() and instance.listen()
print("listening", flush=True)
time.sleep(60)
"""


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A short private folder (socket paths are limited to about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="hw-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def later_start(key: str, folder: Path, message: str = SHOW_SETTINGS) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LATER_START, key, str(folder), message],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_key_is_per_user_and_stable() -> None:
    assert instance_key("alice") == instance_key("alice")
    assert instance_key("alice") != instance_key("bob")
    assert instance_key("alice").startswith("huewall-") and len(instance_key("alice")) == 20
    assert instance_key() == instance_key()  # the current user's


def test_the_socket_lives_in_the_runtime_dir_when_there_is_one(run_dir: Path) -> None:
    assert default_directory({"XDG_RUNTIME_DIR": str(run_dir)}) == run_dir
    missing = default_directory({"XDG_RUNTIME_DIR": str(run_dir / "gone")})
    assert missing != run_dir / "gone" and missing.is_dir()


@pytest.mark.timeout(30)
def test_a_later_start_hands_over_and_the_first_is_asked_to_show_settings(
    qtbot: QtBot, run_dir: Path
) -> None:
    first = SingleInstance(instance_key("tester"), run_dir)
    assert first.acquire()
    assert first.listen() and first.listening
    try:
        with qtbot.waitSignal(first.activated, timeout=15_000) as blocker:
            second = later_start(first.key, run_dir)
        out, err = second.communicate(timeout=15)
        assert blocker.args == [SHOW_SETTINGS]
        assert (second.returncode, out.strip()) == (0, "handed over"), err
    finally:
        first.release()
    # Released: the next start is the first again, and the socket is gone.
    assert not Path(first.server_name).exists()
    again = later_start(first.key, run_dir)
    out, err = again.communicate(timeout=15)
    assert out.strip() == "first", err


def test_a_second_object_in_the_same_process_does_not_get_the_lock(run_dir: Path) -> None:
    first = SingleInstance(instance_key("tester"), run_dir)
    second = SingleInstance(instance_key("tester"), run_dir)
    other_user = SingleInstance(instance_key("someone else"), run_dir)
    try:
        assert first.acquire()
        assert not second.acquire()
        assert other_user.acquire()
    finally:
        first.release()
        other_user.release()
    assert second.acquire()
    second.release()


@pytest.mark.timeout(40)
def test_the_socket_and_lock_of_a_crashed_instance_are_taken_over(
    qtbot: QtBot, run_dir: Path
) -> None:
    key = instance_key("tester")
    crashed = subprocess.Popen(
        [sys.executable, "-c", CRASHING_FIRST, key, str(run_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crashed.stdout is not None
        assert crashed.stdout.readline().strip() == "listening"
    finally:
        crashed.send_signal(signal.SIGKILL)
        crashed.wait(10)
    socket_path = run_dir / key
    assert socket_path.exists() and (run_dir / f"{key}.lock").exists()
    # The leftover socket really is in the way of a plain listen...
    plain = QLocalServer()
    assert not plain.listen(str(socket_path))
    assert plain.serverError() is not None

    # ...but a new first instance takes over the lock and the name.
    instance = SingleInstance(key, run_dir)
    assert instance.acquire()
    assert instance.listen()
    try:
        with qtbot.waitSignal(instance.activated, timeout=15_000) as blocker:
            second = later_start(key, run_dir)
        out, err = second.communicate(timeout=15)
        assert blocker.args == [SHOW_SETTINGS]
        assert out.strip() == "handed over", err
    finally:
        instance.release()


@pytest.mark.timeout(20)
def test_a_later_start_gives_up_when_the_holder_does_not_answer(run_dir: Path) -> None:
    # A live holder of the lock that never listens (hung at start-up).
    holder = SingleInstance(instance_key("tester"), run_dir)
    assert holder.acquire()
    try:
        started = time.monotonic()
        assert not SingleInstance(holder.key, run_dir).send(SHOW_SETTINGS, timeout_ms=400)
        assert time.monotonic() - started < 5
    finally:
        holder.release()


@pytest.mark.timeout(30)
def test_an_overlong_request_is_dropped_and_nothing_is_emitted(qtbot: QtBot, run_dir: Path) -> None:
    first = SingleInstance(instance_key("tester"), run_dir)
    assert first.acquire() and first.listen()
    try:
        with qtbot.assertNotEmitted(first.activated, wait=300):
            flood = later_start(first.key, run_dir, message="x" * 2000)
            qtbot.waitUntil(lambda: flood.poll() is not None, timeout=15_000)
        out, _err = flood.communicate(timeout=5)
        assert out.strip() == "no answer"
        # The server still works afterwards.
        with qtbot.waitSignal(first.activated, timeout=15_000):
            later = later_start(first.key, run_dir)
        later.communicate(timeout=15)
    finally:
        first.release()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket permissions")
def test_the_socket_is_private_to_the_user(run_dir: Path, qtbot: QtBot) -> None:
    first = SingleInstance(instance_key("tester"), run_dir)
    assert first.acquire() and first.listen()
    try:
        mode = os.stat(first.server_name).st_mode & 0o777
        assert mode & 0o077 == 0, oct(mode)
    finally:
        first.release()
