"""Qt's side of the schedule: the scheduler's timer, the wake check, the network watch.

Create these on the GUI thread (the composition root does); their callbacks run there.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtNetwork import QNetworkInformation

log = logging.getLogger("huewall.timers")

QTIMER_MAX_MS = 2**31 - 1
"""QTimer takes a signed 32-bit count of milliseconds: about 24.8 days."""


class QtTimer(QObject):
    """The scheduler's ``Timer``: one precise single-shot ``QTimer``.

    A delay longer than a ``QTimer`` can hold is waited for in pieces against the
    monotonic clock. Precise, because a coarse timer may fire 5 % early (over an hour
    for a one-day delay).
    """

    def __init__(self, parent: QObject | None = None, *, max_interval_ms: int = QTIMER_MAX_MS):
        super().__init__(parent)
        self._max_ms = max(1, min(max_interval_ms, QTIMER_MAX_MS))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timeout)
        self._deadline = 0.0
        self._callback: Callable[[], None] | None = None

    def start(self, delay_seconds: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` once after ``delay_seconds`` (from the event loop, never
        right here), replacing any pending call."""
        self._callback = callback
        self._deadline = time.monotonic() + max(0.0, delay_seconds)
        self._arm()

    def stop(self) -> None:
        self._timer.stop()
        self._callback = None

    @property
    def active(self) -> bool:
        return self._callback is not None

    @property
    def remaining_seconds(self) -> float | None:
        if self._callback is None:
            return None
        return max(0.0, self._deadline - time.monotonic())

    def _arm(self) -> None:
        remaining_ms = math.ceil((self._deadline - time.monotonic()) * 1000)
        self._timer.start(max(0, min(remaining_ms, self._max_ms)))

    def _on_timeout(self) -> None:
        if self._callback is None:
            return
        if self._deadline - time.monotonic() > 0.001:
            self._arm()  # one piece of a long wait, or Qt woke us a moment early
            return
        callback, self._callback = self._callback, None
        callback()


class WakeWatcher(QObject):
    """Calls ``check`` (the scheduler's ``check_for_wake``) every few minutes.

    A very coarse timer (whole seconds, batched with other wake-ups) is enough and costs
    the least; Qt rounds such a timer to whole seconds, so intervals under two seconds
    (tests) use a coarse one instead of becoming a busy loop.
    """

    def __init__(
        self,
        check: Callable[[], object],
        interval_seconds: float = 180.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._check = check
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, round(interval_seconds * 1000)))
        self._timer.setTimerType(
            Qt.TimerType.VeryCoarseTimer if interval_seconds >= 2 else Qt.TimerType.CoarseTimer
        )
        self._timer.timeout.connect(self._on_timeout)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def timer_type(self) -> Qt.TimerType:
        return self._timer.timerType()

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def _on_timeout(self) -> None:
        self._check()


class NetworkWatcher(QObject):
    """Calls ``on_online`` when the network becomes reachable again.

    Uses Qt's default ``QNetworkInformation`` backend (NetworkManager, glib, the OS's
    own...). Where none is available or it cannot tell reachability, it does nothing,
    quietly: ``available`` is False and ``reason`` says why. ``information`` lets the
    caller hand in any object with ``reachability()`` and a ``reachabilityChanged``
    signal (tests do).
    """

    def __init__(
        self,
        on_online: Callable[[], None],
        parent: QObject | None = None,
        *,
        information: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_online = on_online
        self._information = information
        self.reason = ""
        if self._information is None:
            self._information = self._load_default()
        if self._information is None:
            log.debug("no network information here: %s", self.reason)
            self._last: object = None
            return
        self._last = self._information.reachability()  # type: ignore[attr-defined]
        self._information.reachabilityChanged.connect(  # type: ignore[attr-defined]
            self._on_reachability_changed
        )

    @property
    def available(self) -> bool:
        return self._information is not None

    @property
    def online(self) -> bool | None:
        """Whether the network is reachable, or None when this platform cannot tell."""
        if self._information is None:
            return None
        return bool(self._last == QNetworkInformation.Reachability.Online)

    def _load_default(self) -> QNetworkInformation | None:
        try:
            information = QNetworkInformation.instance()
            if information is None:
                if not QNetworkInformation.loadDefaultBackend():
                    self.reason = "Qt has no network information backend on this platform"
                    return None
                information = QNetworkInformation.instance()
        except Exception as exc:  # a broken plugin must not stop the app
            self.reason = f"Qt's network information failed: {exc}"
            return None
        if information is None:
            self.reason = "Qt's network information backend did not load"
            return None
        if not information.supports(QNetworkInformation.Feature.Reachability):
            self.reason = f"the {information.backendName()} backend cannot tell reachability"
            return None
        return information

    def _on_reachability_changed(self, reachability: QNetworkInformation.Reachability) -> None:
        was_online = self._last == QNetworkInformation.Reachability.Online
        self._last = reachability
        if reachability == QNetworkInformation.Reachability.Online and not was_online:
            log.info("the network is back")
            self._on_online()
