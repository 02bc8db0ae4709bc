"""The one object the tray, the windows and the scheduler talk to.

``AppController`` turns requests ("refresh", "set today's wallpaper", "switch to
ja-JP") into ``Job``s on the app's thread pool and publishes what happened as immutable
``AppState`` snapshots (``state_changed``). The GUI thread never waits for the network
or the disk: it starts jobs, and their results come back by queued signals.

Requests are coalesced: while a fetch of the same (market, day, rendition) runs, another
request joins it (merging what it wants done with the result) instead of starting a
second job. Setting the wallpaper follows the latest request: when several requests
would set a picture, only the newest one's picture is set, so a burst of clicks ends
with what the user asked for last and no flicker on the way.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, Signal

from desktop_app.core.appstate import AppState, HistoryEntry, Status
from desktop_app.core.errors import HuewallError, NetworkError, NotAWallpaperError
from desktop_app.core.files import atomic_output
from desktop_app.core.markets import default_market, normalise_market
from desktop_app.core.models import (
    AUTO_RESOLUTION,
    RESOLUTIONS,
    BingImage,
    DaysAgo,
    StoredImage,
    Wallpaper,
    Week,
)
from desktop_app.core.service import WallpaperService
from desktop_app.core.settings import Settings
from desktop_app.core.store import Store
from desktop_app.core.wallpapers import WallpaperFolder
from desktop_app.qt.jobs import Job, JobContext

log = logging.getLogger("huewall.controller")

SetWallpaper = Callable[[Path, "Wallpaper | None"], str]

THUMBNAIL_WIDTH = 160
THUMBNAILS_DIR = "thumbnails"
_SEEN_KEY = "controller:seen:{market}"  # the last picture of the day seen per market


class SetMode(IntEnum):
    """What to do with a fetched picture; a joined request can only raise it."""

    NONE = 0
    IF_NEW = 1  # set unless that picture is on the desktop already (schedule, locale)
    ALWAYS = 2  # the user asked for it explicitly


FetchKey = tuple[str, int, str]  # (market, days ago, rendition)


@dataclass(frozen=True)
class FetchOutcome:
    """What a fetch job returns: plain values, never an exception object."""

    key: FetchKey
    week: Week | None = None
    wallpaper: Wallpaper | None = None
    notice: str | None = None  # wp: false -- not an error
    offline: str | None = None  # a NetworkError's one line
    on_desktop: bool = False  # this picture is the one Huewall last put on the desktop
    first_seen: bool = False  # not announced before (for "new picture" notifications)


@dataclass
class _Fetch:
    """A running fetch and everything the requests that joined it want."""

    key: FetchKey
    job: Job
    foreground: bool  # shown as FETCHING; failures reach the status
    set_mode: SetMode = SetMode.NONE
    set_ticket: int = 0
    announce: bool = False  # update_now: notify about a new picture


@dataclass(frozen=True)
class HistoryOutcome:
    market: str
    week: Week
    entries: tuple[HistoryEntry, ...]


# -- worker-side helpers (no Qt; run on pool threads) ---------------------------------


def find_stored(store: Store, photo: str, preferred: str) -> StoredImage | None:
    """A downloaded rendition of ``photo``, ``preferred`` first."""
    for resolution in dict.fromkeys((preferred, *RESOLUTIONS)):
        stored = store.load_image(photo, resolution)
        if stored is not None:
            return stored
    return None


def make_thumbnail(stored: StoredImage, folder: Path, width: int = THUMBNAIL_WIDTH) -> Path:
    """A small JPEG of an archived picture, made once and cached under its SHA-256."""
    target = folder / f"{stored.sha256[:24]}_{width}.jpg"
    if target.is_file() and target.stat().st_size > 0:
        return target
    from PIL import Image

    with Image.open(stored.path) as picture:
        picture.draft("RGB", (width * 2, width * 2))  # JPEG: decode at a fraction of the size
        small = picture.convert("RGB")
    small.thumbnail((width, width * 4), Image.Resampling.LANCZOS)
    with atomic_output(target) as handle:
        small.save(handle, "JPEG", quality=85, optimize=True)
    return target


def history_entries(
    store: Store, week: Week, resolution: str, folder: Path, context: JobContext | None = None
) -> tuple[HistoryEntry, ...]:
    """The week as History menu entries; thumbnails only for pictures in the archive."""
    entries: list[HistoryEntry] = []
    for days_ago, entry in enumerate(week.entries):
        if context is not None:
            context.check()
        if not isinstance(entry, BingImage):
            continue  # a refused entry has no title to show
        thumbnail: Path | None = None
        stored = find_stored(store, entry.photo, resolution)
        if stored is not None:
            try:
                thumbnail = make_thumbnail(stored, folder)
            except (OSError, ValueError) as exc:  # PIL raises both for broken files
                log.warning("no thumbnail for %s: %s", entry.photo, exc)
        entries.append(
            HistoryEntry(
                days_ago=days_ago,
                startdate=entry.startdate,
                title=entry.title,
                thumbnail=thumbnail,
                allowed=entry.wallpaper_allowed,
            )
        )
    return tuple(entries)


def colours_text(wallpaper: Wallpaper | None) -> str:
    """The palette for the clipboard: the three values, then a CSS line."""
    if wallpaper is None:
        return ""
    palette = wallpaper.palette.palette
    start, end, angle = palette.gradient_from, palette.gradient_to, palette.gradient_angle
    return f"{start} {end} {angle}\nbackground: linear-gradient({angle}deg, {start}, {end});\n"


class AppController(QObject):
    """Owns the app's state; every piece of work runs as a ``Job`` on ``pool``."""

    state_changed = Signal(object)  # AppState
    notify = Signal(str, str)  # title, message: for tray notifications
    fetch_succeeded = Signal(object)  # the shown market's Week, for the scheduler
    fetch_failed = Signal(str)  # one line, for the scheduler
    settings_changed = Signal(object)  # Settings changed from here (pause): save them
    wallpaper_fetched = Signal(object)  # every Wallpaper a job brought (prefetches too)

    def __init__(
        self,
        service: WallpaperService,
        wallpapers: WallpaperFolder,
        settings: Settings,
        pool: QThreadPool,
        set_wallpaper: SetWallpaper | None,
        resolution: Callable[[], str],
        parent: QObject | None = None,
        *,
        fallback_market: str | None = None,
    ) -> None:
        """``fallback_market`` is the main market when the settings name none (default:
        the system's locale, else en-US)."""
        super().__init__(parent)
        self._service = service
        self._wallpapers = wallpapers
        self._settings = settings
        self._pool = pool
        self._set_wallpaper = set_wallpaper
        self._screen_resolution = resolution
        self._fallback_market = fallback_market
        self._fetches: dict[FetchKey, _Fetch] = {}
        self._known: dict[tuple[str, str], Wallpaper] = {}  # today's picture per market
        self._outcome: tuple[Status, str | None] = (Status.STARTING, None)
        self._progress: int | None = None
        self._set_ticket = 0  # the newest request that wants a picture set
        self._set_job: Job | None = None
        self._set_pending: Wallpaper | None = None
        self._history_job: Job | None = None
        self._history_wanted: tuple[str, Week] | None = None
        self._jobs: set[Job] = set()
        self._retired: deque[Job] = deque(maxlen=64)  # see _forget
        self._closing = False
        market = self._main_market(settings)
        self._state = AppState(
            market=market,
            markets=self._markets_for(settings, market),
            paused=settings.paused,
        )

    # -- what the tray and the windows read -------------------------------------------

    @property
    def state(self) -> AppState:
        return self._state

    @property
    def settings(self) -> Settings:
        return self._settings

    def copy_colours(self) -> str:
        """Text for the clipboard: ``from to angle`` and a CSS ``linear-gradient`` line."""
        return colours_text(self._state.current)

    # -- requests ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Fetch today's picture of the shown market without setting it."""
        self._fetch(self._state.market, 0, foreground=True)

    def set_today(self) -> None:
        """Fetch today's picture of the shown market (if needed) and set it."""
        self._fetch(self._state.market, 0, foreground=True, set_mode=SetMode.ALWAYS)

    def set_day(self, days_ago: int) -> None:
        """Set the picture of ``days_ago`` (0..7, Bing's idx) of the shown market."""
        try:
            DaysAgo(days_ago)
        except ValueError as exc:
            log.warning("ignoring set_day(%r): %s", days_ago, exc)
            return
        self._fetch(self._state.market, days_ago, foreground=True, set_mode=SetMode.ALWAYS)

    def switch_market(self, market: str) -> None:
        """Show ``market`` (its known picture at once) and fetch it; set it if auto_set."""
        try:
            market = normalise_market(market)
        except HuewallError as exc:
            log.warning("%s", exc)
            self._outcome = (Status.ERROR, str(exc))
            self._publish_status()
            return
        if market != self._state.market:
            known = self._known.get((market, self._resolution()))
            markets = self._state.markets
            if market not in markets:
                markets = (*markets, market)
            self._publish(market=market, markets=markets, current=known, history=())
        mode = SetMode.IF_NEW if self._settings.auto_set else SetMode.NONE
        self._fetch(market, 0, foreground=True, set_mode=mode)

    def update_now(self) -> None:
        """The scheduler's tick: fetch today's picture and, if auto_set, set it."""
        mode = SetMode.IF_NEW if self._settings.auto_set else SetMode.NONE
        self._fetch(self._state.market, 0, foreground=True, set_mode=mode, announce=True)

    def prefetch(self) -> None:
        """Fetch the user's other markets in the background, so switching is instant."""
        for market in self._state.markets:
            if market != self._state.market:
                self._fetch(market, 0, foreground=False)

    def set_paused(self, paused: bool) -> None:
        if paused == self._settings.paused and paused == self._state.paused:
            return
        self._settings, _ = self._settings.with_changes(paused=paused)
        self._publish(paused=paused)
        self.settings_changed.emit(self._settings)

    def set_next_update(self, text: str | None) -> None:
        """The scheduler's human text for the next update (shown in the tooltip)."""
        if text != self._state.next_update:
            self._publish(next_update=text)

    def apply_settings(self, settings: Settings) -> None:
        """Take new settings (from the settings window); follow a new main market."""
        old = self._settings
        self._settings = settings
        main = self._main_market(settings)
        markets = self._markets_for(settings, main)
        self._publish(markets=markets, paused=settings.paused)
        if main != self._main_market(old) or self._state.market not in markets:
            self.switch_market(main)
        elif settings.resolution != old.resolution:
            self.refresh()

    def shutdown(self, timeout_ms: int = 5000) -> bool:
        """Cancel every job, drop queued ones and wait for the running ones to end.

        For quitting: it clears and waits for the whole pool, other users' jobs too.
        Cancelling is cooperative (between steps): a download under way runs on until
        it ends or times out. Results that arrive afterwards are ignored. True when the
        pool went idle in time.
        """
        self._closing = True
        for job in list(self._jobs):
            job.cancel()
        self._pool.clear()  # the queued jobs never start
        return bool(self._pool.waitForDone(timeout_ms))

    # -- fetching ---------------------------------------------------------------------

    def _fetch(
        self,
        market: str,
        days_ago: int,
        *,
        foreground: bool,
        set_mode: SetMode = SetMode.NONE,
        announce: bool = False,
    ) -> None:
        if self._closing:
            return
        key: FetchKey = (market, days_ago, self._resolution())
        if foreground and market == self._state.market and not self._busy():
            self._progress = None  # a new round: unknown until a job reports
        ticket = 0
        if set_mode is not SetMode.NONE and self._set_wallpaper is not None:
            self._set_ticket += 1
            ticket = self._set_ticket
        running = self._fetches.get(key)
        if running is not None:  # join it
            running.foreground = running.foreground or foreground
            running.announce = running.announce or announce
            if ticket:
                running.set_mode = max(running.set_mode, set_mode)
                running.set_ticket = ticket
        else:
            job = Job(f"fetch {market} {days_ago} {key[2]}", self._fetch_work(key))
            running = _Fetch(key, job, foreground, set_mode if ticket else SetMode.NONE, ticket)
            running.announce = announce
            self._fetches[key] = running
            job.signals.progress.connect(lambda percent, r=running: self._on_progress(r, percent))
            job.signals.succeeded.connect(lambda outcome, r=running: self._on_fetched(r, outcome))
            job.signals.failed.connect(lambda message, r=running: self._on_fetch_failed(r, message))
            self._start(job)
        if running.foreground and market == self._state.market:
            self._publish_status()

    def _fetch_work(self, key: FetchKey) -> Callable[[JobContext], FetchOutcome]:
        service, wallpapers = self._service, self._wallpapers
        market, days_ago, resolution = key

        def work(context: JobContext) -> FetchOutcome:
            context.progress(5)
            try:
                week = service.week(market)
            except NetworkError as exc:
                log.warning("fetching %s: %s", market, exc)
                return FetchOutcome(key, offline=str(exc))
            context.check()
            context.progress(40)
            try:
                wallpaper = service.get(market, DaysAgo(days_ago), resolution)
            except NotAWallpaperError as exc:
                return FetchOutcome(key, week=week, notice=str(exc))
            except NetworkError as exc:
                log.warning("fetching %s: %s", market, exc)
                return FetchOutcome(key, week=week, offline=str(exc))
            context.progress(100)
            current = wallpapers.current()
            on_desktop = current is not None and current.source == wallpaper.image_path
            first_seen = False
            if days_ago == 0:  # remember today's picture, to announce each one only once
                store, seen_key = service.store, _SEEN_KEY.format(market=market)
                first_seen = store.get_record(seen_key) != wallpaper.image.image_id
                if first_seen:
                    store.set_record(seen_key, wallpaper.image.image_id)
            return FetchOutcome(
                key,
                week=week,
                wallpaper=wallpaper,
                on_desktop=on_desktop,
                first_seen=first_seen,
            )

        return work

    def _on_progress(self, fetch: _Fetch, percent: int) -> None:
        if self._closing or not fetch.foreground or fetch.key[0] != self._state.market:
            return
        self._progress = percent
        self._publish_status()

    def _on_fetched(self, fetch: _Fetch, outcome: FetchOutcome) -> None:
        if self._fetches.get(fetch.key) is fetch:
            del self._fetches[fetch.key]
        if self._closing:
            return
        market, days_ago, resolution = fetch.key
        shown = market == self._state.market
        wallpaper = outcome.wallpaper
        changes: dict[str, Any] = {}
        if wallpaper is not None and days_ago == 0:
            self._known[(market, resolution)] = wallpaper
            if shown and resolution == self._resolution():
                changes["current"] = wallpaper
        if shown and fetch.foreground:
            if outcome.offline is not None:
                self._outcome = (Status.OFFLINE, outcome.offline)
            else:
                self._outcome = (Status.UP_TO_DATE, None)
        if outcome.week is not None and shown:
            self._rebuild_history(market, outcome.week)
        self._publish_status(**changes)

        if shown and fetch.foreground:
            if outcome.offline is not None:
                self.fetch_failed.emit(outcome.offline)
            elif outcome.week is not None:
                self.fetch_succeeded.emit(outcome.week)
        if outcome.notice is not None and fetch.foreground:
            self.notify.emit("Not offered as a wallpaper", outcome.notice)
        if wallpaper is None:
            return
        self.wallpaper_fetched.emit(wallpaper)
        wants_set = fetch.set_mode is SetMode.ALWAYS or (
            fetch.set_mode is SetMode.IF_NEW and not outcome.on_desktop
        )
        if fetch.set_ticket and fetch.set_ticket == self._set_ticket and wants_set:
            self._request_set(wallpaper)
        if fetch.announce and outcome.first_seen and self._settings.notify:
            image = wallpaper.image
            self.notify.emit(f"New picture: {image.title}", image.copyright)

    def _on_fetch_failed(self, fetch: _Fetch, message: str) -> None:
        if self._fetches.get(fetch.key) is fetch:
            del self._fetches[fetch.key]
        if self._closing or message == "cancelled":
            return
        line = _one_line(message)
        if fetch.key[0] == self._state.market and fetch.foreground:
            self._outcome = (Status.ERROR, line)
            self._publish_status()
            self.fetch_failed.emit(line)
        else:
            self._publish_status()

    # -- setting the wallpaper --------------------------------------------------------

    def _request_set(self, wallpaper: Wallpaper) -> None:
        self._set_pending = wallpaper
        if self._set_job is None:
            self._start_set()

    def _start_set(self) -> None:
        wallpaper, self._set_pending = self._set_pending, None
        setter = self._set_wallpaper
        if wallpaper is None or setter is None or self._closing:
            return

        def work(context: JobContext) -> str:
            context.check()
            return setter(wallpaper.image_path, wallpaper)

        job = Job(f"set {wallpaper.image.title}", work)
        self._set_job = job
        job.signals.succeeded.connect(self._on_set)
        job.signals.failed.connect(self._on_set_failed)
        job.signals.finished.connect(self._on_set_finished)
        self._start(job)

    def _on_set(self, message: object) -> None:
        log.info("%s", message)
        if self._outcome[0] is Status.ERROR and not self._closing:
            self._outcome = (Status.UP_TO_DATE, None)
            self._publish_status()

    def _on_set_failed(self, message: str) -> None:
        if self._closing or message == "cancelled":
            return
        line = _one_line(message)
        self._outcome = (Status.ERROR, line)
        self._publish_status()
        self.notify.emit("Could not set the wallpaper", line)

    def _on_set_finished(self) -> None:
        self._set_job = None
        if self._set_pending is not None:
            self._start_set()

    # -- history ----------------------------------------------------------------------

    def _rebuild_history(self, market: str, week: Week) -> None:
        """Rebuild the History entries; one job at a time, the newest request wins."""
        self._history_wanted = (market, week)
        if self._history_job is None:
            self._start_history()

    def _start_history(self) -> None:
        wanted, self._history_wanted = self._history_wanted, None
        if wanted is None or self._closing:
            return
        market, week = wanted
        store, resolution = self._service.store, self._resolution()
        folder = store.cache_dir / THUMBNAILS_DIR

        def work(context: JobContext) -> HistoryOutcome:
            return HistoryOutcome(
                market, week, history_entries(store, week, resolution, folder, context)
            )

        job = Job(f"history {market}", work)
        self._history_job = job
        job.signals.succeeded.connect(self._on_history)
        job.signals.finished.connect(self._on_history_finished)
        self._start(job)

    def _on_history(self, outcome: HistoryOutcome) -> None:
        if self._closing or outcome.market != self._state.market:
            return
        if outcome.entries != self._state.history:
            self._publish(history=outcome.entries)

    def _on_history_finished(self) -> None:
        self._history_job = None
        if self._history_wanted is not None:
            self._start_history()

    # -- plumbing ---------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        self._jobs.add(job)
        job.signals.finished.connect(lambda job=job: self._forget(job))
        self._pool.start(job)

    def _forget(self, job: Job) -> None:
        # The worker may still be returning from ``finished.emit()``: keep the job (and its
        # signal object) alive a while longer instead of freeing it under the worker.
        self._jobs.discard(job)
        self._retired.append(job)

    def _resolution(self) -> str:
        chosen = self._settings.resolution
        return self._screen_resolution() if chosen == AUTO_RESOLUTION else chosen

    def _main_market(self, settings: Settings) -> str:
        if settings.main_market:
            return settings.main_market
        if self._fallback_market:
            with contextlib.suppress(HuewallError):
                return normalise_market(self._fallback_market)
        return default_market(None, os.environ)

    @staticmethod
    def _markets_for(settings: Settings, main: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys((main, *settings.markets)))

    def _busy(self) -> bool:
        """Whether a foreground fetch of the shown market is running."""
        market = self._state.market
        return any(f.foreground and f.key[0] == market for f in self._fetches.values())

    def _publish_status(self, **changes: Any) -> None:
        if self._busy():
            changes.update(status=Status.FETCHING, progress=self._progress)
        else:
            self._progress = None
            status, error = self._outcome
            changes.update(status=status, last_error=error, progress=None)
        self._publish(**changes)

    def _publish(self, **changes: Any) -> None:
        state = replace(self._state, **changes)
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)


def _one_line(message: str) -> str:
    line = " ".join(message.split())
    return line if len(line) <= 300 else line[:299] + "…"
