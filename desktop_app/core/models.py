"""The core's values: frozen dataclasses, built only from validated data.

Everything that crosses the boundary of the core (to the CLI, the tray, the cache on
disk) is one of these. ``to_record``/``from_record`` convert to and from the plain JSON
objects kept in the store; ``from_record`` raises ``ValueError`` on anything malformed,
which the store treats as a cache miss.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from desktop_app.core.palette.base import Palette

# Bing's renditions, largest first. UHD varies in real size (3840x2160 and larger, and
# for months in 2023 it was really 1080p).
RESOLUTIONS: tuple[str, ...] = (
    "UHD",
    "1920x1200",
    "1920x1080",
    "1366x768",
    "1280x720",
    "1024x768",
    "800x600",
)
AUTO_RESOLUTION = "auto"
# What a rendition must at least decode to; smaller means Bing sent a placeholder.
MIN_DIMENSIONS: Mapping[str, tuple[int, int]] = {
    "UHD": (1920, 1080),
    **{r: (int(r.split("x")[0]), int(r.split("x")[1])) for r in RESOLUTIONS[1:]},
}

# A picture stays current until its fullstartdate plus this.
PICTURE_LIFETIME = timedelta(hours=24)

_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_PHOTO_ID = re.compile(r"^OHR\.([A-Za-z0-9]+)_([A-Za-z0-9-]+?)\d*$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


def clean_text(value: object, limit: int = 500) -> str:
    """Bing's texts as plain, printable, single-line text: no markup, no control chars."""
    if not isinstance(value, str):
        return ""
    text = html.unescape(_TAG.sub("", value))
    text = "".join(
        " " if unicodedata.category(ch)[0] in ("C", "Z") and ch != "\u200d" else ch for ch in text
    )
    text = _SPACE.sub(" ", text).strip()
    return text[:limit]


def title_from_copyright(copyright_text: str) -> str:
    """Derive a title when Bing sends none: the part of the copyright before ``(©``."""
    head = copyright_text.split("(©", 1)[0].split("©", 1)[0]
    return head.strip(" ,;-") or "Bing picture of the day"


# Parsed by slicing: ``strptime`` was most of the cost of reading a week from the store.
def parse_bing_day(value: str) -> date:
    """``YYYYMMDD`` -> date; ``ValueError`` for anything else."""
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise ValueError(f"not a YYYYMMDD day: {value!r}")
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))


def parse_bing_time(value: str) -> datetime:
    """``YYYYMMDDHHMM`` (UTC) -> aware datetime; ``ValueError`` for anything else."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise ValueError(f"not a YYYYMMDDHHMM time: {value!r}")
    return datetime(
        int(value[:4]), int(value[4:6]), int(value[6:8]), int(value[8:10]), int(value[10:]),
        tzinfo=timezone.utc,
    )  # fmt: skip


@dataclass(frozen=True)
class BingImage:
    """One day's picture in one market, as Bing describes it."""

    market: str
    startdate: str  # the market's local day, YYYYMMDD
    fullstartdate: str  # when it went live, UTC, YYYYMMDDHHMM
    enddate: str
    image_id: str  # e.g. OHR.MartimoaapaFinland_EN-US3685817058
    urlbase: str  # as Bing sent it: relative ("/th?id=...") or absolute
    title: str
    copyright: str
    copyright_link: str
    wallpaper_allowed: bool  # Bing's ``wp``

    @property
    def photo(self) -> str:
        """The photo's name, shared by every market that shows it (``MartimoaapaFinland``)."""
        match = _PHOTO_ID.match(self.image_id)
        return match.group(1) if match else self.image_id

    @property
    def day(self) -> date:
        return parse_bing_day(self.startdate)

    @property
    def live_from(self) -> datetime:
        return parse_bing_time(self.fullstartdate)

    @classmethod
    def from_bing(cls, market: str, raw: Mapping[str, Any]) -> BingImage:
        """Validate one entry of Bing's ``images`` list; ``ValueError`` says what is wrong."""
        startdate = _digits(raw.get("startdate"), 8, "startdate")
        fullstartdate = _digits(raw.get("fullstartdate"), 12, "fullstartdate")
        enddate = _digits(raw.get("enddate"), 8, "enddate")
        parse_bing_day(startdate)
        parse_bing_time(fullstartdate)
        urlbase = raw.get("urlbase")
        if not isinstance(urlbase, str) or not urlbase.strip():
            raise ValueError("an image has no urlbase")
        image_id = image_id_from_urlbase(urlbase)
        copyright_text = clean_text(raw.get("copyright"))
        title = clean_text(raw.get("title"), 200) or title_from_copyright(copyright_text)
        link = raw.get("copyrightlink")
        return cls(
            market=market,
            startdate=startdate,
            fullstartdate=fullstartdate,
            enddate=enddate,
            image_id=image_id,
            urlbase=urlbase.strip(),
            title=title,
            copyright=copyright_text,
            copyright_link=link.strip() if isinstance(link, str) else "",
            wallpaper_allowed=raw.get("wp", True) is not False,
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "startdate": self.startdate,
            "fullstartdate": self.fullstartdate,
            "enddate": self.enddate,
            "image_id": self.image_id,
            "urlbase": self.urlbase,
            "title": self.title,
            "copyright": self.copyright,
            "copyright_link": self.copyright_link,
            "wp": self.wallpaper_allowed,
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> BingImage:
        image = cls(
            market=_str(record, "market"),
            startdate=_str(record, "startdate"),
            fullstartdate=_str(record, "fullstartdate"),
            enddate=_str(record, "enddate"),
            image_id=_str(record, "image_id"),
            urlbase=_str(record, "urlbase"),
            title=_str(record, "title"),
            copyright=_str(record, "copyright"),
            copyright_link=_str(record, "copyright_link"),
            wallpaper_allowed=bool(record["wp"]),
        )
        parse_bing_day(image.startdate)
        parse_bing_time(image.fullstartdate)
        if not _SAFE_ID.match(image.image_id):
            raise ValueError("unsafe image id")
        return image


def image_id_from_urlbase(urlbase: str) -> str:
    """``/th?id=OHR.X_EN-US123`` -> ``OHR.X_EN-US123``, refusing ids that are not plain names.

    The id names files in the cache, so anything that could escape the cache folder
    (slashes, ``..``, odd characters) is refused.
    """
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(urlbase).query)
    ids = query.get("id")
    raw = ids[0] if ids else urlbase.rstrip("/").rsplit("/", 1)[-1]
    if not _SAFE_ID.match(raw) or ".." in raw:
        raise ValueError(f"unsafe image id {clean_text(raw, 80)!r}")
    return raw


@dataclass(frozen=True)
class Week:
    """What one metadata request returned for a market: up to 8 days, newest first.

    ``entries`` keeps Bing's order so that position n is Bing's ``idx`` n; an entry that
    could not be used safely (a crafted id, a foreign host) is kept as the reason it was
    refused, so asking for that day says why instead of silently giving another day.
    """

    market: str  # the market asked for
    served_market: str  # Bing's market.mkt; differs when Bing falls back to en-WW/ROW
    entries: tuple[BingImage | str, ...]
    fetched_at: datetime

    # Even when Bing is late with the next picture, ask at most this often.
    MIN_FRESHNESS = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if not self.images:
            raise ValueError("a week needs at least one usable picture")

    @property
    def images(self) -> tuple[BingImage, ...]:
        return tuple(entry for entry in self.entries if isinstance(entry, BingImage))

    @functools.cached_property
    def expires_at(self) -> datetime:
        """The week answers every request until the newest picture's day is over."""
        newest = max(image.live_from for image in self.images)
        return max(newest + PICTURE_LIFETIME, self.fetched_at + self.MIN_FRESHNESS)

    def is_fresh(self, now: datetime) -> bool:
        return now < self.expires_at

    def to_record(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "served_market": self.served_market,
            "entries": [
                entry.to_record() if isinstance(entry, BingImage) else {"refused": entry}
                for entry in self.entries
            ],
            "fetched_at": self.fetched_at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Week:
        entries = tuple(
            _str(item, "refused") if "refused" in item else BingImage.from_record(item)
            for item in record["entries"]
        )
        fetched_at = datetime.fromisoformat(_str(record, "fetched_at"))
        if fetched_at.tzinfo is None:
            raise ValueError("naive fetched_at")
        return cls(
            market=_str(record, "market"),
            served_market=_str(record, "served_market"),
            entries=entries,
            fetched_at=fetched_at,
        )


@dataclass(frozen=True)
class DaysAgo:
    """Bing's ``idx``: 0 is the newest picture, 7 the oldest Bing still lists."""

    n: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.n <= 7:
            raise ValueError("days ago must be 0..7")


@dataclass(frozen=True)
class OnDate:
    """A market-local day (Bing's ``startdate``)."""

    day: date


Day = DaysAgo | OnDate


@dataclass(frozen=True)
class StoredImage:
    """A downloaded, verified picture in the archive."""

    path: Path
    sha256: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class PaletteRecord:
    """A palette together with who made it and when."""

    palette: Palette
    source: str  # "ai" or "local"
    analyser: str  # the analyser's identity
    created_at: datetime

    def to_record(self) -> dict[str, Any]:
        return {
            **self.palette.to_dict(),
            "source": self.source,
            "analyser": self.analyser,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PaletteRecord:
        created_at = datetime.fromisoformat(_str(record, "created_at"))
        if created_at.tzinfo is None:
            raise ValueError("naive created_at")
        return cls(
            palette=Palette(
                gradient_from=record["gradient_from"],
                gradient_to=record["gradient_to"],
                gradient_angle=record["gradient_angle"],
            ),
            source=_str(record, "source"),
            analyser=_str(record, "analyser"),
            created_at=created_at,
        )


@dataclass(frozen=True)
class Wallpaper:
    """The answer to ``WallpaperService.get``: a picture ready to set, with its palette."""

    market: str
    image: BingImage
    resolution: str
    image_urls: Mapping[str, str]  # every rendition, by size name
    stored: StoredImage
    palette: PaletteRecord

    @property
    def image_path(self) -> Path:
        return self.stored.path

    def to_json(self) -> dict[str, Any]:
        """dailyhues API fields, plus ``locale``, ``image_path`` and ``palette_source``."""
        return {
            "startdate": self.image.startdate,
            "fullstartdate": self.image.fullstartdate,
            "enddate": self.image.enddate,
            "images": dict(self.image_urls),
            "colors": self.palette.palette.to_dict(),
            "title": self.image.title,
            "copyright": self.image.copyright,
            "copyright_link": self.image.copyright_link,
            "cached_at": self.palette.created_at.astimezone(timezone.utc)
            .replace(microsecond=0)
            .strftime("%Y-%m-%dT%H:%M:%SZ"),
            "locale": self.market,
            "image_path": str(self.stored.path.resolve()),
            "palette_source": self.palette.source,
        }


def _digits(value: object, length: int, name: str) -> str:
    if (
        not isinstance(value, str)
        or len(value) != length
        or not value.isascii()
        or not value.isdigit()
    ):
        raise ValueError(f"{name} is not {length} digits")
    return value


def _str(record: Mapping[str, Any], key: str) -> str:
    value = record[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def resolution_for_screen(screen: tuple[int, int] | None) -> str:
    """``auto``: the smallest landscape rendition that covers the screen, else UHD."""
    if screen is None:
        return "UHD"
    width, height = max(screen), min(screen)
    covering = [
        (w * h, name)
        for name, (w, h) in MIN_DIMENSIONS.items()
        if name != "UHD" and w >= width and h >= height
    ]
    return min(covering)[1] if covering else "UHD"
