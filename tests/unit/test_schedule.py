"""The daily schedule, driven by a fake clock and a fake timer fired by hand."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from desktop_app.core.models import BingImage, Week
from desktop_app.core.schedule import (
    RUN_TIMEOUT,
    Scheduler,
    SystemClock,
    backoff_delay,
    next_fixed,
    next_publish,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


class FakeClock:
    """Wall and monotonic time that move only when told to."""

    def __init__(self, wall: datetime) -> None:
        self.wall = wall
        self.mono = 5000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        """Time passes while the machine runs."""
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds

    def suspend(self, seconds: float) -> None:
        """Time passes while the machine sleeps: the monotonic clock stands still."""
        self.wall += timedelta(seconds=seconds)


class FakeTimer:
    """Records every start; ``fire`` calls the pending callback as the real timer would."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.pending: Callable[[], None] | None = None

    def start(self, delay_seconds: float, callback: Callable[[], None]) -> None:
        self.delays.append(delay_seconds)
        self.pending = callback

    def stop(self) -> None:
        self.pending = None

    @property
    def delay(self) -> float | None:
        return self.delays[-1] if self.pending is not None else None

    def fire(self) -> None:
        callback, self.pending = self.pending, None
        assert callback is not None, "no timer pending"
        callback()


class Rig:
    def __init__(self, wall: datetime, seed: int = 1, tz: ZoneInfo | None = BERLIN) -> None:
        self.clock = FakeClock(wall)
        self.timer = FakeTimer()
        self.runs = 0
        self.scheduler = Scheduler(self.clock, self.timer, self._due, random.Random(seed), tz=tz)

    def _due(self) -> None:
        self.runs += 1

    def run_timer(self) -> None:
        """Let the pending delay pass, then fire."""
        assert self.timer.delay is not None
        self.clock.advance(self.timer.delay)
        self.timer.fire()


def _image(market: str, fullstartdate: str, photo: str = "KelpForest") -> BingImage:
    return BingImage.from_bing(
        market,
        {
            "startdate": fullstartdate[:8],
            "fullstartdate": fullstartdate,
            "enddate": fullstartdate[:8],
            "urlbase": f"/th?id=OHR.{photo}_{market.upper()}123",
            "copyright": "A photo (© Someone)",
            "wp": True,
        },
    )


def _week(market: str, *fullstartdates: str, fetched_at: datetime | None = None) -> Week:
    images = tuple(_image(market, f, f"Photo{i}") for i, f in enumerate(fullstartdates))
    fetched = fetched_at or images[0].live_from + timedelta(minutes=5)
    return Week(market, market, images, fetched)


EN_US = _week("en-US", "202510190700", "202510180700", "202510170700")
JA_JP = _week("ja-JP", "202510181500", "202510171500")


# -- pure functions -----------------------------------------------------------------------


def test_next_publish_is_newest_fullstartdate_plus_a_day_plus_jitter() -> None:
    assert next_publish(EN_US, timedelta(0)) == datetime(2025, 10, 20, 7, 0, tzinfo=UTC)
    assert next_publish(JA_JP, timedelta(0)) == datetime(2025, 10, 19, 15, 0, tzinfo=UTC)
    assert next_publish(JA_JP, timedelta(minutes=7)) == datetime(2025, 10, 19, 15, 7, tzinfo=UTC)
    # The newest picture counts, wherever it is in the list.
    shuffled = _week("en-US", "202510170700", "202510190700", "202510180700")
    assert next_publish(shuffled, timedelta(0)) == datetime(2025, 10, 20, 7, 0, tzinfo=UTC)


def test_next_fixed_today_if_ahead_else_tomorrow() -> None:
    morning = datetime(2025, 6, 10, 5, 0, tzinfo=UTC)  # 07:00 in Berlin (CEST)
    assert next_fixed(morning, "08:00", BERLIN) == datetime(2025, 6, 10, 6, 0, tzinfo=UTC)
    assert next_fixed(morning, "06:59", BERLIN) == datetime(2025, 6, 11, 4, 59, tzinfo=UTC)
    # Exactly now is not "ahead": the next one is tomorrow.
    assert next_fixed(morning, "07:00", BERLIN) == datetime(2025, 6, 11, 5, 0, tzinfo=UTC)
    # The local day counts, not the UTC day: 23:30 UTC is already tomorrow in Berlin.
    late = datetime(2025, 6, 10, 23, 30, tzinfo=UTC)
    assert next_fixed(late, "08:00", BERLIN) == datetime(2025, 6, 11, 6, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        next_fixed(morning, "24:00", BERLIN)
    with pytest.raises(ValueError):
        next_fixed(morning.replace(tzinfo=None), "08:00", BERLIN)


def test_next_fixed_across_dst_changes_keeps_local_wall_time() -> None:
    # Berlin springs forward on 2026-03-29 (02:00 -> 03:00): 08:00 comes 23 hours later.
    before_spring = datetime(2026, 3, 28, 7, 0, tzinfo=UTC)  # 08:00 CET
    spring = next_fixed(before_spring, "08:00", BERLIN)
    assert spring == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert spring - before_spring == timedelta(hours=23)
    # A time in the skipped hour falls just after the gap, never a day late.
    assert next_fixed(before_spring, "02:30", BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Autumn (2026-10-25, 03:00 -> 02:00): 25 hours, and a doubled time is the first one.
    before_autumn = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)  # 08:00 CEST
    autumn = next_fixed(before_autumn, "08:00", BERLIN)
    assert autumn == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)  # 08:00 CET
    assert autumn - before_autumn == timedelta(hours=25)
    assert next_fixed(before_autumn, "02:30", BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.fixture
def new_york_local_time() -> Iterator[None]:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_next_fixed_with_the_system_time_zone_handles_dst(new_york_local_time: None) -> None:
    # New York springs forward on 2026-03-08; tz=None reads the system zone (TZ here).
    before = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # 09:00 EST
    after = next_fixed(before, "08:00")
    assert after == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert after == next_fixed(before, "08:00", NEW_YORK)


def test_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [backoff_delay(n) for n in range(1, 10)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600, 3600,
    ]  # fmt: skip
    assert backoff_delay(0) == 60 and backoff_delay(10_000) == 3600


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


# -- the scheduler ------------------------------------------------------------------------


def _started(wall: datetime, *, seed: int = 1, schedule: str = "publish") -> Rig:
    rig = Rig(wall, seed)
    rig.scheduler.configure(schedule, "08:00", paused=False)
    rig.scheduler.start()
    return rig


def test_start_without_a_success_runs_at_once_then_waits_for_bings_publish_time() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    assert rig.runs == 1 and rig.scheduler.running and rig.scheduler.next_due is None
    rig.scheduler.fetch_succeeded(EN_US)
    assert not rig.scheduler.running
    publish = datetime(2025, 10, 20, 7, 0, tzinfo=UTC)
    due = rig.scheduler.next_due
    assert due is not None and publish + timedelta(minutes=1) <= due <= publish + timedelta(
        minutes=10
    )
    assert rig.timer.delay == pytest.approx((due - rig.clock.now()).total_seconds())
    rig.run_timer()
    assert rig.runs == 2


def test_publish_jitter_is_one_to_ten_minutes_and_varies() -> None:
    publish = datetime(2025, 10, 19, 15, 0, tzinfo=UTC)
    delays = set()
    for seed in range(40):
        rig = _started(datetime(2025, 10, 19, 1, 0, tzinfo=UTC), seed=seed)
        rig.scheduler.fetch_succeeded(JA_JP)
        due = rig.scheduler.next_due
        assert due is not None
        jitter = due - publish
        assert timedelta(minutes=1) <= jitter <= timedelta(minutes=10)
        delays.add(jitter)
    assert len(delays) > 30  # random, not one fixed offset


def test_a_timer_that_fires_early_re_arms_instead_of_running() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(EN_US)
    full = rig.timer.delay
    assert full is not None
    rig.clock.advance(full - 600)
    rig.timer.fire()
    assert rig.runs == 1 and rig.timer.delay == pytest.approx(600)


def test_bing_late_with_the_next_picture_asks_again_after_the_cache_window() -> None:
    # At 07:30 the newest picture is still yesterday's (its +24 h has passed): no busy loop.
    now = datetime(2025, 10, 20, 7, 30, tzinfo=UTC)
    rig = _started(now)
    rig.scheduler.fetch_succeeded(_week("en-US", "202510190700", fetched_at=now))
    delay = rig.timer.delay
    assert rig.runs == 1 and delay is not None
    assert 16 * 60 <= delay <= 25 * 60  # 15 minutes of cache, plus the 1-10 minute jitter


def test_never_asks_before_the_services_cached_week_expires() -> None:
    # Fetched 5 minutes before the publish time: the service keeps that week for 15
    # minutes, so asking at publish + 1-10 minutes would only get the same week again.
    now = datetime(2025, 10, 20, 6, 55, tzinfo=UTC)
    rig = _started(now)
    rig.scheduler.fetch_succeeded(_week("en-US", "202510190700", fetched_at=now))
    due = rig.scheduler.next_due
    assert due is not None and due >= now + timedelta(minutes=16)


def test_an_out_of_date_week_is_asked_for_again_after_the_cache_window() -> None:
    # A week fetched long ago whose picture is out of date: no immediate re-run either.
    now = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)
    rig = _started(now)
    old = _week("en-US", "202510190700", fetched_at=datetime(2025, 10, 19, 8, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(old)
    delay = rig.timer.delay
    assert rig.runs == 1 and delay is not None and 16 * 60 <= delay <= 25 * 60


def test_fixed_time_schedule() -> None:
    rig = _started(datetime(2025, 6, 10, 7, 0, tzinfo=UTC), schedule="fixed")  # 09:00 Berlin
    assert rig.runs == 1  # catch-up: nothing fetched yet today
    rig.scheduler.fetch_succeeded(EN_US)
    assert rig.scheduler.next_due == datetime(2025, 6, 11, 6, 0, tzinfo=UTC)  # 08:00 tomorrow
    assert rig.timer.delay == 23 * 3600
    # Moving the fixed time re-plans from the last success: 10:00 is still ahead today.
    rig.scheduler.configure("fixed", "10:00", paused=False)
    assert rig.timer.delay == 3600 and rig.runs == 1
    # A time passed since the last success (09:00) is overdue: it runs at once.
    rig.clock.advance(2 * 3600)  # 11:00 Berlin, the timer (for 10:00) not yet fired
    rig.scheduler.configure("fixed", "10:30", paused=False)
    assert rig.runs == 2
    # A run the timer started half a second early counts for that time, not a second run.
    rig.scheduler.fetch_succeeded(EN_US)  # 11:00 Berlin: next at 10:30 tomorrow
    assert rig.timer.delay is not None
    rig.clock.advance(rig.timer.delay - 0.5)
    rig.timer.fire()
    assert rig.runs == 3
    rig.scheduler.fetch_succeeded(EN_US)
    assert rig.runs == 3 and rig.timer.delay == pytest.approx(24 * 3600 + 0.5)


def test_switching_schedules_re_plans() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(EN_US)
    rig.scheduler.configure("fixed", "12:00", paused=False)  # 11:00 Berlin now
    assert rig.scheduler.next_due == datetime(2025, 10, 19, 10, 0, tzinfo=UTC)
    rig.scheduler.configure("publish", "12:00", paused=False)
    due = rig.scheduler.next_due
    assert due is not None and due.date().day == 20 and due.hour == 7
    with pytest.raises(ValueError):
        rig.scheduler.configure("hourly", "12:00", paused=False)


def test_catch_up_at_start_only_when_the_period_has_no_success() -> None:
    # The controller reported a success (e.g. from the cache) before start: no run at start.
    rig = Rig(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.configure("publish", "08:00", paused=False)
    rig.scheduler.fetch_succeeded(EN_US)
    assert rig.runs == 0 and rig.timer.pending is None  # not started: nothing armed
    rig.scheduler.start()
    assert rig.runs == 0 and rig.timer.delay is not None
    # The same success, but the app starts after the next publish time: runs at once.
    late = Rig(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    late.scheduler.fetch_succeeded(EN_US)
    late.clock.advance(24 * 3600)
    late.scheduler.start()
    assert late.runs == 1


def test_failures_back_off_and_notify_once_per_run_of_failures() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    notices = []
    for _ in range(9):
        notices.append(rig.scheduler.fetch_failed("cannot reach www.bing.com"))
        assert rig.scheduler.next_due == rig.clock.now() + timedelta(seconds=rig.timer.delays[-1])
        before = rig.runs
        rig.run_timer()
        assert rig.runs == before + 1
    assert notices == [True] + [False] * 8
    retries = [d for d in rig.timer.delays if d != RUN_TIMEOUT.total_seconds()]
    assert retries == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    rig.scheduler.fetch_succeeded(EN_US)
    assert rig.scheduler.failures == 0
    rig.run_timer()
    assert rig.scheduler.fetch_failed("again") is True  # a new run of failures
    assert rig.timer.delay == 60


def test_wake_after_the_due_time_runs_at_once() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(EN_US)
    rig.clock.advance(90)
    assert rig.scheduler.check_for_wake() is False  # time just passed: no jump
    rig.clock.suspend(30 * 3600)  # slept past the publish time; the timer did not count it
    assert rig.scheduler.check_for_wake() is True
    assert rig.runs == 2


def test_short_sleep_or_clock_change_re_arms_for_the_remaining_time() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(EN_US)
    due = rig.scheduler.next_due
    assert due is not None
    rig.clock.suspend(3600)
    assert rig.scheduler.check_for_wake() is True
    assert rig.runs == 1
    assert rig.timer.delay == pytest.approx((due - rig.clock.now()).total_seconds())
    rig.clock.wall -= timedelta(hours=3)  # the user set the clock back
    assert rig.scheduler.check_for_wake() is True
    assert rig.timer.delay == pytest.approx((due - rig.clock.now()).total_seconds())
    rig.clock.wall += timedelta(seconds=100)  # NTP nudges: below two minutes
    armed = len(rig.timer.delays)
    assert rig.scheduler.check_for_wake() is False and len(rig.timer.delays) == armed


def test_network_back_retries_a_failure_at_once() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_failed("offline")
    rig.scheduler.fetch_failed("offline")
    assert rig.timer.delay == 120 and rig.runs == 1
    rig.scheduler.network_back()
    assert rig.runs == 2
    rig.scheduler.network_back()  # already running: no second run
    assert rig.runs == 2
    rig.scheduler.fetch_succeeded(EN_US)
    rig.scheduler.network_back()  # nothing failed, nothing overdue
    assert rig.runs == 2 and rig.timer.delay is not None


def test_network_back_runs_an_overdue_fetch() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.fetch_succeeded(EN_US)
    rig.clock.advance(23 * 3600)  # past the publish time; the timer has not fired yet
    rig.scheduler.network_back()
    assert rig.runs == 2


def test_pause_suppresses_everything_but_reports() -> None:
    rig = Rig(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    rig.scheduler.configure("publish", "08:00", paused=True)
    rig.scheduler.start()
    assert rig.runs == 0 and rig.timer.pending is None and rig.scheduler.next_due is None
    rig.clock.suspend(3 * 3600)
    assert rig.scheduler.check_for_wake() is True
    rig.scheduler.network_back()
    assert rig.runs == 0
    assert rig.scheduler.fetch_failed("explicit refresh failed") is True  # still reported
    assert rig.timer.pending is None and rig.scheduler.paused
    rig.scheduler.configure("publish", "08:00", paused=False)  # the retry is planned
    assert rig.runs == 0 and rig.timer.delay == 60
    rig.run_timer()
    assert rig.runs == 1
    rig.scheduler.fetch_succeeded(EN_US)
    assert rig.timer.pending is not None
    rig.scheduler.configure("publish", "08:00", paused=True)
    assert rig.timer.pending is None
    rig.clock.advance(30 * 3600)  # the publish time passes while paused
    assert rig.runs == 1
    rig.scheduler.configure("publish", "08:00", paused=False)  # overdue: runs at once
    assert rig.runs == 2


def test_a_run_that_never_reports_is_started_again() -> None:
    rig = _started(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    assert rig.runs == 1 and rig.timer.delay == RUN_TIMEOUT.total_seconds()
    rig.run_timer()
    assert rig.runs == 2 and rig.scheduler.running


def test_on_due_may_report_synchronously() -> None:
    rig = Rig(datetime(2025, 10, 19, 9, 0, tzinfo=UTC))
    scheduler = Scheduler(
        rig.clock, rig.timer, lambda: scheduler.fetch_succeeded(EN_US), random.Random(3)
    )
    scheduler.start()
    assert not scheduler.running
    due = scheduler.next_due
    assert due is not None and rig.timer.delay == pytest.approx(
        (due - rig.clock.now()).total_seconds()
    )
