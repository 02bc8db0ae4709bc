"""The Qt timer, the wake check and the network watch, in a real (offscreen) event loop."""

from __future__ import annotations

import logging
import random
import time
from datetime import datetime, timedelta, timezone

import pytest
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtNetwork import QNetworkInformation
from pytestqt.qtbot import QtBot

from desktop_app.core.models import BingImage, Week
from desktop_app.core.schedule import Scheduler
from desktop_app.qt.timers import QTIMER_MAX_MS, NetworkWatcher, QtTimer, WakeWatcher

Reachability = QNetworkInformation.Reachability

pytestmark = pytest.mark.timeout(30)


class Calls:
    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> None:
        self.times.append(time.monotonic())

    @property
    def count(self) -> int:
        return len(self.times)


def _inner_timer(timer: QtTimer) -> QTimer:
    inner = timer.findChild(QTimer)
    assert inner is not None
    return inner


def test_qt_timer_fires_once_after_the_delay_from_the_event_loop(qtbot: QtBot) -> None:
    timer = QtTimer()
    calls = Calls()
    started = time.monotonic()
    timer.start(0.05, calls)
    assert calls.count == 0 and timer.active
    assert _inner_timer(timer).timerType() == Qt.TimerType.PreciseTimer
    qtbot.waitUntil(lambda: calls.count == 1, timeout=2000)
    assert calls.times[0] - started >= 0.049
    assert not timer.active and timer.remaining_seconds is None
    assert not _inner_timer(timer).isActive()  # single shot: nothing left to fire


def test_qt_timer_zero_delay_is_not_synchronous(qtbot: QtBot) -> None:
    timer = QtTimer()
    calls = Calls()
    timer.start(0, calls)
    assert calls.count == 0
    qtbot.waitUntil(lambda: calls.count == 1, timeout=2000)


def test_qt_timer_start_replaces_and_stop_cancels(qtbot: QtBot) -> None:
    timer = QtTimer()
    replaced, current, stopped = Calls(), Calls(), Calls()
    timer.start(0.01, replaced)
    timer.start(0.03, current)
    qtbot.waitUntil(lambda: current.count == 1, timeout=2000)
    other = QtTimer()
    other.start(0.01, stopped)
    other.stop()
    # A later timer as the sentinel: by the time it fires, the stopped one would have.
    sentinel = Calls()
    QtTimer(other).start(0.1, sentinel)
    qtbot.waitUntil(lambda: sentinel.count == 1, timeout=2000)
    assert replaced.count == 0 and stopped.count == 0 and current.count == 1


def test_qt_timer_waits_for_long_delays_in_pieces(qtbot: QtBot) -> None:
    timer = QtTimer(max_interval_ms=20)
    pieces = Calls()
    _inner_timer(timer).timeout.connect(pieces)
    calls = Calls()
    started = time.monotonic()
    timer.start(0.12, calls)
    assert _inner_timer(timer).interval() == 20  # the first piece
    qtbot.waitUntil(lambda: calls.count == 1, timeout=3000)
    assert calls.times[0] - started >= 0.119  # never (more than a millisecond) early
    assert pieces.count >= 2


def test_qt_timer_accepts_delays_beyond_qtimers_limit(qtbot: QtBot) -> None:
    timer = QtTimer()
    timer.start(30 * 86400.0, Calls())  # 30 days: more than a QTimer's 24.8
    inner = _inner_timer(timer)
    assert inner.isActive() and inner.interval() == QTIMER_MAX_MS
    remaining = timer.remaining_seconds
    assert remaining is not None and 30 * 86400 - 5 < remaining <= 30 * 86400
    timer.stop()
    assert not inner.isActive()


def test_wake_watcher_calls_the_check_repeatedly(qtbot: QtBot) -> None:
    calls = Calls()
    watcher = WakeWatcher(calls, interval_seconds=0.02)
    watcher.start()
    qtbot.waitUntil(lambda: calls.count >= 3, timeout=3000)
    watcher.stop()
    assert not watcher.active
    assert watcher.timer_type == Qt.TimerType.CoarseTimer  # sub-second: not rounded to 0 s
    assert WakeWatcher(calls).timer_type == Qt.TimerType.VeryCoarseTimer  # every 3 minutes


def _week(fullstartdate: str) -> Week:
    image = BingImage.from_bing(
        "en-US",
        {
            "startdate": fullstartdate[:8],
            "fullstartdate": fullstartdate,
            "enddate": fullstartdate[:8],
            "urlbase": "/th?id=OHR.KelpForest_EN-US123",
            "copyright": "Kelp (© Someone)",
        },
    )
    return Week("en-US", "en-US", (image,), image.live_from + timedelta(minutes=5))


class JumpyClock:
    """The real monotonic clock; a wall clock that a test can push forward (a suspend)."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.shift

    def monotonic(self) -> float:
        return time.monotonic()


def test_wake_watcher_makes_the_scheduler_catch_up_after_a_suspend(qtbot: QtBot) -> None:
    clock = JumpyClock()
    clock.shift = datetime(2025, 10, 19, 9, 0, tzinfo=timezone.utc) - clock.now()
    runs = Calls()
    scheduler = Scheduler(clock, QtTimer(), runs, random.Random(1))
    scheduler.start()
    assert runs.count == 1
    scheduler.fetch_succeeded(_week("202510190700"))  # next run: tomorrow, 07:01-07:10 UTC
    watcher = WakeWatcher(scheduler.check_for_wake, interval_seconds=0.02)
    watcher.start()
    clock.shift += timedelta(hours=30)  # the machine slept through the publish time
    qtbot.waitUntil(lambda: runs.count == 2, timeout=3000)
    watcher.stop()


class FakeNetworkInformation(QObject):
    """Stands in for ``QNetworkInformation`` at its interface (Qt cannot fake an outage)."""

    reachabilityChanged = Signal(Reachability)

    def __init__(self, state: Reachability) -> None:
        super().__init__()
        self.state = state

    def reachability(self) -> Reachability:
        return self.state

    def become(self, state: Reachability) -> None:
        self.state = state
        self.reachabilityChanged.emit(state)


def test_network_watcher_calls_back_when_the_network_comes_back(qtbot: QtBot) -> None:
    info = FakeNetworkInformation(Reachability.Online)
    calls = Calls()
    watcher = NetworkWatcher(calls, information=info)
    assert watcher.available and watcher.online is True
    info.become(Reachability.Online)  # no change: nothing
    assert calls.count == 0
    info.become(Reachability.Disconnected)
    assert calls.count == 0 and watcher.online is False
    info.become(Reachability.Local)  # a LAN without the internet is not "back"
    assert calls.count == 0
    info.become(Reachability.Online)
    assert calls.count == 1 and watcher.online is True
    info.become(Reachability.Online)
    assert calls.count == 1


def test_network_watcher_on_this_platform_is_quiet(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    calls = Calls()
    watcher = NetworkWatcher(calls)
    if watcher.available:
        assert watcher.online in (True, False) and watcher.reason == ""
    else:
        assert watcher.online is None and watcher.reason
    assert calls.count == 0 and caplog.records == []
