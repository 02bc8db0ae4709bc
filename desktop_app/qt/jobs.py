"""Background work on the app's ``QThreadPool``, reporting to the GUI thread by signals."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

log = logging.getLogger("huewall.jobs")


class JobSignals(QObject):
    """Created on the GUI thread, so its signals are delivered there (queued)."""

    succeeded = Signal(object)
    failed = Signal(str)
    progress = Signal(int)
    finished = Signal()  # after succeeded or failed, always


class Cancelled(Exception):
    """Raised inside a job's work when its cancel flag is set."""


class JobContext:
    """What the work function gets: progress reporting and the cancel flag."""

    def __init__(self, signals: JobSignals, cancel: threading.Event) -> None:
        self._signals = signals
        self._cancel = cancel

    def progress(self, percent: int) -> None:
        self._signals.progress.emit(max(0, min(100, percent)))

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled


class Job(QRunnable):
    """Runs ``work(context)`` on a pool thread; never lets an exception escape silently.

    The result goes out through ``succeeded``; an error is logged with its traceback and
    sent as one line through ``failed`` (``HuewallError`` texts are already one line).
    """

    def __init__(self, name: str, work: Callable[[JobContext], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it until ``finished``
        self.name = name
        self.signals = JobSignals()
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        from desktop_app.core.errors import HuewallError

        try:
            result = self._work(JobContext(self.signals, self._cancel))
        except Cancelled:
            self.signals.failed.emit("cancelled")
        except HuewallError as exc:
            log.warning("%s failed: %s", self.name, exc)
            self.signals.failed.emit(str(exc))
        except Exception as exc:
            log.exception("%s failed unexpectedly", self.name)
            self.signals.failed.emit(f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            self.signals.succeeded.emit(result)
        finally:
            self.signals.finished.emit()
