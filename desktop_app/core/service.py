"""The service every front end shares: ``get(market, day)`` -> a ready ``Wallpaper``.

Each expensive step (the market's week of metadata, the picture's download, the
palette) follows the same double-checked pattern: look in the store; on a miss take
that step's lock (threads and processes alike); look again; only then do the work and
store it. So however many threads and processes ask at once, each step runs once, a
cache hit never waits, and different keys never wait for each other. When the one doing
the work fails, everyone who was waiting for it gets the same failure instead of
retrying in a storm; the next request tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from desktop_app.core.bing import BingClient
from desktop_app.core.errors import (
    BadResponseError,
    HuewallError,
    NotAWallpaperError,
    NotFoundError,
    StoreError,
    UsageError,
)
from desktop_app.core.imaging import verify_picture
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.markets import normalise_market
from desktop_app.core.models import (
    RESOLUTIONS,
    BingImage,
    Day,
    DaysAgo,
    OnDate,
    PaletteRecord,
    StoredImage,
    Wallpaper,
    Week,
)
from desktop_app.core.palette.base import PaletteAnalyser
from desktop_app.core.store import Store

log = logging.getLogger("huewall.service")

T = TypeVar("T")
_MEMO_SIZE = 256


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class WallpaperService:
    """Thread-safe; share one per process. No Qt."""

    def __init__(
        self,
        store: Store,
        locks: KeyedLocks,
        client: BingClient,
        analyser: PaletteAnalyser,
        fallback: PaletteAnalyser,
        *,
        clock: Callable[[], datetime] = _utc_now,
        lock_timeout: float | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.analyser = analyser
        self.fallback = fallback
        self._locks = locks
        self._clock = clock
        self._lock_timeout = lock_timeout
        # In-process memos in front of the store: a week is immutable until it expires,
        # and a finished answer is immutable while its file exists.
        self._weeks: dict[str, Week] = {}
        self._answers: OrderedDict[tuple[str, Day, str], tuple[Wallpaper, datetime | None]] = (
            OrderedDict()
        )
        self._memo_lock = threading.Lock()

    # -- the one call front ends make --------------------------------------------------

    def get(self, market: str, day: Day | None = None, resolution: str = "UHD") -> Wallpaper:
        """The picture for ``market`` on ``day`` (default: the newest), with its palette."""
        if resolution not in RESOLUTIONS:
            raise UsageError(
                f"unknown resolution {resolution!r}; use one of {', '.join(RESOLUTIONS)}"
            )
        market = normalise_market(market)
        day = day or DaysAgo(0)
        key = (market, day, resolution)
        now = self._clock()
        with self._memo_lock:
            memo = self._answers.get(key)
        if memo is not None:
            answer, valid_until = memo
            if (valid_until is None or now < valid_until) and answer.stored.path.exists():
                return answer
        image, valid_until = self._image_for(market, day)
        if not image.wallpaper_allowed:
            raise NotAWallpaperError(
                f"Bing does not offer '{image.title}' ({market}, {image.day.isoformat()}) "
                "as a wallpaper; the current wallpaper stays"
            )
        stored = self._picture(image, resolution)
        self.store.touch(stored.path)
        palette = self._palette(stored)
        answer = Wallpaper(
            market=market,
            image=image,
            resolution=resolution,
            image_urls=self.client.image_urls(image),
            stored=stored,
            palette=palette,
        )
        if palette.source == self.analyser.source:  # never memoise a fallback
            with self._memo_lock:
                self._answers[key] = (answer, valid_until)
                self._answers.move_to_end(key)
                while len(self._answers) > _MEMO_SIZE:
                    self._answers.popitem(last=False)
        return answer

    def week(self, market: str) -> Week:
        """The market's current week, from the store while it is fresh."""
        market = normalise_market(market)
        now = self._clock()
        week = self._weeks.get(market)
        if week is not None and week.is_fresh(now):
            return week

        def stored_week() -> Week | None:
            found = self.store.load_week(market)
            return found if found is not None and found.is_fresh(self._clock()) else None

        def fetch() -> Week:
            fetched = self.client.fetch_week(market)
            self.store.save_week(fetched)
            return fetched

        week = self._once(f"metadata:{market}", stored_week, fetch, f"{market}'s picture list")
        self._weeks[market] = week
        return week

    # -- the steps ------------------------------------------------------------------------

    def _image_for(self, market: str, day: Day) -> tuple[BingImage, datetime | None]:
        """Which picture ``day`` means, and until when that answer holds."""
        if isinstance(day, DaysAgo):
            week = self.week(market)
            if day.n >= len(week.entries):
                raise NotFoundError(
                    f"Bing lists only {len(week.entries)} pictures for {market}; "
                    f"there is none {day.n} days ago"
                )
            entry = week.entries[day.n]
            if isinstance(entry, str):
                raise BadResponseError(
                    f"refused Bing's picture for {market} {day.n} days ago: {entry}"
                )
            return entry, week.expires_at
        if isinstance(day, OnDate):
            startdate = day.day.strftime("%Y%m%d")
            problem: HuewallError | None = None
            try:
                week = self.week(market)
            except HuewallError as exc:  # offline: the archive may still know the day
                problem = exc
            else:
                for image in week.images:
                    if image.startdate == startdate:
                        return image, None
            archived = self.store.load_archived_day(market, startdate)
            if archived is not None:
                return archived, None
            if problem is not None:
                raise problem
            raise NotFoundError(
                f"no picture for {day.day.isoformat()} in {market}: Bing lists only the last "
                "8 days and the local archive has none for that day"
            )
        raise TypeError(f"not a day: {day!r}")

    def _picture(self, image: BingImage, resolution: str) -> StoredImage:
        photo = image.photo

        def download() -> StoredImage:
            url = self.client.image_url(image, resolution)
            # The extension is known only after decoding; Bing sends JPEG.
            path = self.store.image_path(photo, resolution, "jpg")
            try:
                with self.store.new_image(path) as handle:
                    sha256, size = self.client.download(url, handle)
                    handle.flush()
                    width, height, extension = verify_picture(Path(handle.name), resolution)
            except OSError as exc:  # disk full, folder not writable, ...
                raise StoreError(
                    f"cannot save the picture in {path.parent}: {exc.strerror or exc}"
                ) from None
            if extension != "jpg":
                final = self.store.image_path(photo, resolution, extension)
                path.replace(final)
                path = final
            stored = StoredImage(path=path, sha256=sha256, width=width, height=height, size=size)
            self.store.save_image(photo, resolution, stored)
            self.store.prune(keep={path})
            return stored

        stored = self._once(
            f"download:{photo}:{resolution}",
            lambda: self.store.load_image(photo, resolution),
            download,
            f"downloading {photo} ({resolution})",
        )
        return stored

    def _palette(self, stored: StoredImage) -> PaletteRecord:
        try:
            return self._analyse(stored, self.analyser)
        except HuewallError as exc:
            if self.analyser is self.fallback:
                raise
            log.warning("AI palette failed, using the local palette: %s", exc)
            return self._analyse(stored, self.fallback)

    def _analyse(self, stored: StoredImage, analyser: PaletteAnalyser) -> PaletteRecord:
        identity = analyser.identity

        def analyse() -> PaletteRecord:
            record = PaletteRecord(
                palette=analyser.analyse(stored.path),
                source=analyser.source,
                analyser=identity,
                created_at=self._clock(),
            )
            self.store.save_palette(stored.sha256, record)
            return record

        return self._once(
            f"palette:{stored.sha256}:{identity}",
            lambda: self.store.load_palette(stored.sha256, identity),
            analyse,
            "the picture's palette",
        )

    # -- the double-checked, single-flight step -----------------------------------------

    def _once(
        self, key: str, lookup: Callable[[], T | None], work: Callable[[], T], what: str
    ) -> T:
        found = lookup()
        if found is not None:
            return found
        asked_at = time.time()
        with self._locks.hold(key, timeout=self._lock_timeout, what=what):
            found = lookup()
            if found is not None:
                return found
            failure = self.store.failure_since(key, asked_at)
            if failure is not None:
                raise failure
            try:
                return work()
            except Exception as exc:
                self.store.record_failure(key, exc)
                raise
