"""When the daily fetch runs: at Bing's publish time or at a fixed local time.

No Qt here. The ``Scheduler`` decides *when* the controller's "fetch and set today's
picture" runs; it gets the time from a ``Clock`` and waits with one single-shot ``Timer``
(the Qt layer hands in a ``QTimer``-backed one, tests a fake they fire by hand). Nothing
polls: besides that one timer there is only the caller's occasional ``check_for_wake``,
which notices that the machine slept (a timer counts monotonic time, which stands still
during suspend on Linux) or that the wall clock was changed.

All methods are meant to be called from one thread (the GUI thread in the app).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone, tzinfo
from datetime import time as clock_time
from typing import Protocol

from desktop_app.core.models import PICTURE_LIFETIME, Week
from desktop_app.core.settings import SCHEDULES

log = logging.getLogger("huewall.schedule")

BACKOFF_START = 60.0
"""Seconds before the first retry after a failed fetch; doubles with every failure."""
BACKOFF_MAX = 3600.0
JITTER_MIN = timedelta(minutes=1)
"""After Bing's publish time, wait a random 1-10 minutes so that not every Huewall asks
at the same second, and Bing has surely switched."""
JITTER_MAX = timedelta(minutes=10)
LATE_RETRY = Week.MIN_FRESHNESS
"""When Bing is late with the next picture, ask again after this (plus a jitter): the
service answers from its cache for exactly this long after a fetch."""
WAKE_JUMP = timedelta(minutes=2)
"""A change of the wall clock against the monotonic clock beyond this means the machine
slept or the clock was set."""
RUN_TIMEOUT = timedelta(minutes=20)
"""A run that reports neither success nor failure within this is considered lost and
started again (the service's own deadlines are far shorter)."""
EARLY_TOLERANCE = timedelta(seconds=1)
"""A timer that fires at most this early counts as on time."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The wall-clock time, aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from a clock that only moves forward (and stands still in suspend)."""
        ...


class Timer(Protocol):
    def start(self, delay_seconds: float, callback: Callable[[], None]) -> None:
        """Call ``callback`` once after ``delay_seconds``, replacing any pending call."""
        ...

    def stop(self) -> None:
        """Cancel the pending call, if any."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


def next_publish(week: Week, jitter: timedelta) -> datetime:
    """When Bing publishes the next picture: the newest ``fullstartdate`` + 24 h, plus
    ``jitter``. The newest picture stays current until then."""
    newest = max(image.live_from for image in week.images)
    return newest + PICTURE_LIFETIME + jitter


def parse_hhmm(hhmm: str) -> tuple[int, int]:
    """``"07:30"`` -> ``(7, 30)``; ``ValueError`` for anything but a 24-hour HH:MM."""
    text = hhmm.strip()
    hours, sep, minutes = text.partition(":")
    if (
        not sep
        or len(hours) != 2
        or len(minutes) != 2
        or not (hours + minutes).isascii()
        or not (hours + minutes).isdigit()
        or int(hours) > 23
        or int(minutes) > 59
    ):
        raise ValueError(f"expected a time as HH:MM (24-hour), not {hhmm!r}")
    return int(hours), int(minutes)


def next_fixed(now: datetime, hhmm: str, tz: tzinfo | None = None) -> datetime:
    """The next local ``hhmm`` strictly after ``now``, in UTC: today if still ahead, else
    tomorrow.

    ``tz`` None means the system's local time zone. Local days are counted on the wall
    clock, so across a DST change the answer is still HH:MM local time (23 or 25 hours
    away). A time that does not exist that day (skipped by a spring-forward change) falls
    on the same wall time with the old offset, i.e. just after the gap; a time that
    happens twice (autumn) is the first one.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    hours, minutes = parse_hhmm(hhmm)
    now_utc = now.astimezone(timezone.utc)
    today = (now_utc.astimezone(tz) if tz is not None else now_utc.astimezone()).date()
    for offset in (0, 1, 2):
        candidate = _local_instant(today + timedelta(days=offset), hours, minutes, tz)
        if candidate > now_utc:
            return candidate
    raise AssertionError("unreachable: a local time recurs within two days")


def _local_instant(day: date, hours: int, minutes: int, tz: tzinfo | None) -> datetime:
    wall = datetime.combine(day, clock_time(hours, minutes))
    if tz is None:
        # A naive datetime's astimezone() reads the system zone's rules for that very day.
        return wall.astimezone().astimezone(timezone.utc)
    return wall.replace(tzinfo=tz).astimezone(timezone.utc)


def backoff_delay(failures: int) -> float:
    """Seconds before the next try after ``failures`` failed ones in a row: 60, 120, 240,
    ... capped at 3600."""
    exponent = min(max(failures, 1) - 1, 16)
    return min(BACKOFF_START * (1 << exponent), BACKOFF_MAX)


class Scheduler:
    """Decides when ``on_due`` runs (the controller's "fetch and set today's picture").

    Contract with the caller:

    - every ``on_due`` call is answered by ``fetch_succeeded`` or ``fetch_failed`` (from
      the job's signals); the caller also reports fetches of the main market's picture
      that it started itself (a click on "Refresh"), so they count for the schedule;
    - ``configure`` whenever the settings change; ``start`` once the app is up;
    - ``check_for_wake`` every few minutes, ``network_back`` when the network returns.

    While paused, nothing starts a run; reports still update the state, and unpausing
    runs at once if a run is overdue.
    """

    def __init__(
        self,
        clock: Clock,
        timer: Timer,
        on_due: Callable[[], None],
        rng: random.Random,
        *,
        tz: tzinfo | None = None,
    ) -> None:
        self._clock = clock
        self._timer = timer
        self._on_due = on_due
        self._rng = rng
        self._tz = tz
        self._schedule = "publish"
        self._fixed_time = "08:00"
        self._paused = False
        self._started = False
        self._in_flight = False
        self._last_week: Week | None = None
        self._last_success_at: datetime | None = None
        self._jitter = JITTER_MIN
        self._due: datetime | None = None  # when the current period's success runs out
        self._failures = 0
        self._retry_at: datetime | None = None
        self._offset = self._wall_offset()

    # -- configuration -------------------------------------------------------------------

    def configure(self, schedule: str, fixed_time: str, paused: bool) -> None:
        """Apply the user's choices; re-plans at once when started."""
        if schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {schedule!r}; expected one of {SCHEDULES}")
        parse_hhmm(fixed_time)
        self._schedule = schedule
        self._fixed_time = fixed_time.strip()
        self._paused = paused
        self._due = self._due_after_success()
        self._plan()

    def start(self) -> None:
        """Begin scheduling. Catch-up: runs at once unless a fetch already succeeded for
        the current period."""
        self._started = True
        self._offset = self._wall_offset()
        self._plan()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def running(self) -> bool:
        """True from an ``on_due`` call until its result is reported."""
        return self._in_flight

    @property
    def failures(self) -> int:
        """Failed fetches in a row."""
        return self._failures

    @property
    def next_due(self) -> datetime | None:
        """When the next run is planned (UTC), for the tooltip; None while paused, not
        started, or running."""
        if not self._started or self._paused or self._in_flight:
            return None
        return self._target()

    # -- results -------------------------------------------------------------------------

    def fetch_succeeded(self, week: Week) -> None:
        """A fetch of the main market's week succeeded: plan the next one."""
        self._in_flight = False
        self._failures = 0
        self._retry_at = None
        self._last_week = week
        self._last_success_at = self._clock.now()
        self._jitter = self._draw_jitter()
        self._due = self._due_after_success()
        self._plan()

    def fetch_failed(self, message: str) -> bool:
        """A fetch failed: retry after ``backoff_delay``. True only for the first failure
        in a row, so the UI tells the user once, not on every retry."""
        self._in_flight = False
        self._failures += 1
        delay = backoff_delay(self._failures)
        self._retry_at = self._clock.now() + timedelta(seconds=delay)
        log.info(
            "fetch failed (%d in a row), retrying in %.0f s: %s", self._failures, delay, message
        )
        self._plan()
        return self._failures == 1

    # -- events --------------------------------------------------------------------------

    def check_for_wake(self) -> bool:
        """Compare the wall clock with the monotonic clock; after a jump of more than two
        minutes (suspend, or the clock was set) re-plan, running at once if due. Returns
        whether it saw a jump."""
        offset = self._wall_offset()
        jump = offset - self._offset
        self._offset = offset
        if abs(jump) <= WAKE_JUMP.total_seconds():
            return False
        log.info("the wall clock jumped by %+.0f s (suspend or a clock change)", jump)
        self.wall_clock_jumped()
        return True

    def wall_clock_jumped(self) -> None:
        """The machine woke up or the clock changed: re-plan against the new time."""
        self._offset = self._wall_offset()
        self._plan()

    def network_back(self) -> None:
        """The network is back: run now if the last try failed or a run is overdue."""
        if not self._started or self._paused or self._in_flight:
            return
        if self._failures > 0:
            self._retry_at = self._clock.now()
        self._plan()

    # -- internals -----------------------------------------------------------------------

    def _wall_offset(self) -> float:
        return self._clock.now().timestamp() - self._clock.monotonic()

    def _draw_jitter(self) -> timedelta:
        low, high = JITTER_MIN.total_seconds(), JITTER_MAX.total_seconds()
        return timedelta(seconds=self._rng.uniform(low, high))

    def _due_after_success(self) -> datetime | None:
        """When the period of the last success ends, under the current schedule."""
        if self._last_success_at is None:
            return None
        if self._schedule == "fixed":
            # A run the timer started a moment early still counts for that fixed time.
            after = self._last_success_at + EARLY_TOLERANCE
            return next_fixed(after, self._fixed_time, self._tz)
        assert self._last_week is not None
        # Never before the service's cached week expires: until then it would answer
        # with the same week. When Bing is late, that is 15 minutes after the fetch.
        due = max(
            next_publish(self._last_week, self._jitter),
            self._last_week.expires_at + self._jitter,
        )
        if due <= self._last_success_at:
            # A week that was already out of date: ask again once the cache lets us.
            due = self._last_success_at + LATE_RETRY + self._jitter
        return due

    def _target(self) -> datetime:
        """When the next run should start (may be in the past: overdue)."""
        if self._failures > 0 and self._retry_at is not None:
            return self._retry_at
        if self._due is None:
            return self._clock.now()  # nothing fetched yet in this period: catch up
        return self._due

    def _plan(self) -> None:
        """Arm the one timer for the next run, or run now if it is due."""
        self._offset = self._wall_offset()
        if not self._started or self._paused:
            self._timer.stop()
            return
        if self._in_flight:
            self._timer.start(RUN_TIMEOUT.total_seconds(), self._on_timer)
            return
        delay = (self._target() - self._clock.now()).total_seconds()
        if delay <= EARLY_TOLERANCE.total_seconds():
            self._fire()
        else:
            self._timer.start(delay, self._on_timer)

    def _on_timer(self) -> None:
        if self._in_flight:
            log.warning(
                "the scheduled fetch reported nothing for %s; starting it again", RUN_TIMEOUT
            )
            self._in_flight = False
        self._plan()

    def _fire(self) -> None:
        self._in_flight = True
        # The watchdog first: ``on_due`` may report back synchronously, re-arming the timer.
        self._timer.start(RUN_TIMEOUT.total_seconds(), self._on_timer)
        self._on_due()
