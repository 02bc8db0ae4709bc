"""A stand-in for Bing's picture-of-the-day service, served on loopback for tests.

The machine running the tests has no internet, so the real client talks to this
server instead (subprocesses find it through ``HUEWALL_BING_URL=bing.base_url``)::

    with BingStandIn() as bing:
        days = bing.add_week("en-US", ["MartimoaapaFinland", "LaDigueSeychelles", ...])
        days[2].wp = False
        bing.set_fault("image", "500", times=1)
        ...  # run the client against bing.base_url
        assert bing.metadata_count("en-US") == 1

It imitates the shape and quirks described in ``/work/shared/reference/bing-api.md``.
Where it has to choose, it does this:

* ``UHD`` renditions are 2560x1440, not 3840x2160: encoding real UHD is too slow for tests.
* A market without a week of its own gets the ``en-WW`` week (under that week's
  ``market.mkt``, ``"en-WW"`` unless ``served_market`` said otherwise) when one was
  added, else an empty ``images`` list under ``market.mkt = "en-WW"``. Markets are
  matched case-insensitively; a request without ``mkt`` counts as ``en-US``.
* Only ``format=js`` is emulated; any other format gets HTTP 400.
* ``idx`` below 0 counts as 0 and ``n`` below 1 as 1; ``n`` above 8 is capped at 8.
  ``uhd=1`` makes the default ``url`` point at the UHD rendition, as Bing's does.
* Pictures are served only for ids of days that were added (in any market) and for the
  sizes in ``SIZES``; anything else is 404. Their bytes depend on the photo name and
  the size only, so one photo is byte-identical in every market.
"""

from __future__ import annotations

import colorsys
import contextlib
import hashlib
import io
import json
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, quote_plus, urlsplit

from PIL import Image, ImageDraw

__all__ = [
    "IMAGE_FAULTS",
    "MARKET_UTC_OFFSETS",
    "METADATA_FAULTS",
    "SIZES",
    "BingStandIn",
    "Day",
    "Endpoint",
    "local_day",
    "photo_jpeg",
]

Endpoint = Literal["metadata", "image"]

# The renditions served, name -> pixel size. UHD is smaller than Bing's (see module doc).
SIZES: dict[str, tuple[int, int]] = {
    "UHD": (2560, 1440),
    "1920x1200": (1920, 1200),
    "1920x1080": (1920, 1080),
    "1366x768": (1366, 768),
    "1280x720": (1280, 720),
    "1024x768": (1024, 768),
    "800x600": (800, 600),
    "1080x1920": (1080, 1920),
    "768x1366": (768, 1366),
    "768x1024": (768, 1024),
}

_COMMON_FAULTS = frozenset({"500", "503", "404", "html", "hang", "reset"})
METADATA_FAULTS = _COMMON_FAULTS | {"cutoff", "empty", "not_json_object", "images_not_list"}
IMAGE_FAULTS = _COMMON_FAULTS | {
    "not_image",
    "truncated",
    "huge_declared",
    "huge_chunked",
    "bomb",
    "placeholder",
    "stall",
}
_FAULTS: dict[str, frozenset[str]] = {"metadata": METADATA_FAULTS, "image": IMAGE_FAULTS}

# Each market publishes at its local midnight. These are the markets' summer-time UTC
# offsets: with them both the winter and the summer publication instants (en-US 08:00 and
# 07:00 UTC, en-GB 00:00 and 23:00, de-DE 23:00 and 22:00) fall on the local day they
# start. Markets not listed use 0 (like en-WW / ROW).
_MARKETS_BY_SUMMER_OFFSET: dict[float, str] = {
    -7: "en-US es-US",
    -6: "es-MX",
    -4: "en-CA fr-CA",
    -3: "pt-BR es-AR es-CL es-XL",
    1: "en-GB en-IE pt-PT",
    2: (
        "de-DE de-AT de-CH fr-FR fr-BE fr-CH es-ES it-IT nl-NL nl-BE pl-PL sv-SE da-DK nb-NO "
        "hr-HR hu-HU sk-SK sl-SL en-ZA"
    ),
    3: "fi-FI et-EE lt-LT lv-LV ro-RO uk-UA he-IL tr-TR ru-RU ar-XA en-XA",
    5.5: "en-IN",
    7: "th-TH en-ID",
    8: "zh-CN zh-HK zh-TW en-SG en-MY en-PH",
    9: "ja-JP ko-KR",
    11: "en-AU",
    13: "en-NZ",
}
MARKET_UTC_OFFSETS: dict[str, timedelta] = {
    market: timedelta(hours=hours)
    for hours, markets in _MARKETS_BY_SUMMER_OFFSET.items()
    for market in markets.split()
}
_OFFSETS_FOLDED = {market.casefold(): offset for market, offset in MARKET_UTC_OFFSETS.items()}

_WORLDWIDE = "en-WW"
_ROW_MARKETS = frozenset({"en-ww", "row"})

TOOLTIPS: dict[str, str] = {
    "loading": "Loading...",
    "previous": "Previous image",
    "next": "Next image",
    "walle": "This image is not available to download as wallpaper.",
    "walls": "Download this image. Use of this image is restricted to wallpaper only.",
}

_ERROR_PAGE = "<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>\n"
_CAPTIVE_PORTAL = (
    b"<!DOCTYPE html>\n<html><head><title>Hotel Wi-Fi - Sign in</title></head>\n"
    b"<body><h1>Welcome to Hotel Wi-Fi</h1>\n"
    b'<form method="post" action="/login"><label>Room number <input name="room"></label>\n'
    b'<button type="submit">Connect</button></form></body></html>\n'
)
_NOT_AN_IMAGE = b"Sorry, this picture is not available in your region.\n" * 4

# What "huge_declared" announces, and how far "huge_chunked" goes.
HUGE_DECLARED_LENGTH = 209_715_200
HUGE_CHUNKED_LIMIT = 80 * 1024**2
_MIB = 1024**2

_ID_WITH_SIZE = re.compile(r"^(?P<base>.+)_(?P<size>UHD|\d+x\d+)\.jpg$", re.IGNORECASE)
_PHOTO_IN_ID = re.compile(r"^OHR\.(?P<photo>.+)_[A-Za-z]{2,3}(?:-[A-Za-z]{2})?\d+$")
_CAMEL_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def local_day(market: str, fullstartdate: datetime) -> date:
    """The market-local day on which a picture going live at ``fullstartdate`` (aware)
    starts, i.e. its ``startdate``; see ``MARKET_UTC_OFFSETS``."""
    offset = _OFFSETS_FOLDED.get(market.casefold(), timedelta(0))
    return (fullstartdate.astimezone(timezone.utc) + offset).date()


def _id_tag(market: str) -> str:
    """The market part of an image id: ``EN-US``, or ``ROW`` for the worldwide set."""
    return "ROW" if market.casefold() in _ROW_MARKETS else market.upper()


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("|".join(parts).encode("utf-8")).digest()


@dataclass
class Day:
    """One entry of a market's ``images`` list; mutate it freely before the requests.

    ``urlbase`` and ``url`` follow ``image_id`` (and ``url`` follows ``urlbase``) until
    they are set; setting them back to ``None`` restores that. ``extra`` is merged into
    the JSON last (it can add keys or override any), and keys in ``omit`` are dropped.
    """

    photo: str
    image_id: str
    startdate: str
    fullstartdate: str
    enddate: str
    title: str
    copyright: str
    copyrightlink: str
    quiz: str
    hsh: str
    wp: bool = True
    drk: int = 1
    top: int = 1
    bot: int = 1
    hs: list[Any] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    omit: set[str] = field(default_factory=set)
    _urlbase: str | None = field(default=None, repr=False)
    _url: str | None = field(default=None, repr=False)

    @classmethod
    def create(cls, photo: str, market: str, starts: datetime, *, id_tag: str) -> Day:
        """A day as Bing would list it for ``market``, going live at ``starts`` (aware)."""
        starts = starts.astimezone(timezone.utc)
        day = local_day(market, starts)
        number = int.from_bytes(_digest(photo, id_tag)[:8], "big") % 10**10
        image_id = f"OHR.{photo}_{id_tag}{number:010d}"
        title = _CAMEL_BREAK.sub(" ", photo)
        startdate = day.strftime("%Y%m%d")
        return cls(
            photo=photo,
            image_id=image_id,
            startdate=startdate,
            fullstartdate=starts.strftime("%Y%m%d%H%M"),
            enddate=(day + timedelta(days=1)).strftime("%Y%m%d"),
            title=title,
            copyright=f"Something in {title} (© Someone/Shutterstock)",
            copyrightlink=f"https://www.bing.com/search?q={quote_plus(title)}&form=hpcapt",
            quiz=(
                "/search?q=Bing+homepage+quiz&filters=WQOskey:%22HPQuiz_"
                f"{startdate}_{photo}%22&FORM=HPQUIZ"
            ),
            hsh=hashlib.sha256(image_id.encode("utf-8")).hexdigest()[:32],
        )

    @property
    def urlbase(self) -> str:
        """``/th?id={image_id}`` unless set."""
        return self._urlbase if self._urlbase is not None else f"/th?id={self.image_id}"

    @urlbase.setter
    def urlbase(self, value: str | None) -> None:
        self._urlbase = value

    @property
    def url(self) -> str:
        """The 1920x1080 rendition under ``urlbase`` unless set."""
        return self._url if self._url is not None else self._default_url("1920x1080")

    @url.setter
    def url(self, value: str | None) -> None:
        self._url = value

    @property
    def starts_at(self) -> datetime:
        """``fullstartdate`` as an aware UTC datetime."""
        return datetime.strptime(self.fullstartdate, "%Y%m%d%H%M").replace(tzinfo=timezone.utc)

    def image_path(self, size: str = "1920x1080") -> str:
        """Where the client fetches this picture at ``size``: ``{urlbase}_{size}.jpg``."""
        return f"{self.urlbase}_{size}.jpg"

    def _default_url(self, size: str) -> str:
        return f"{self.urlbase}_{size}.jpg&rf=LaDigue_{size}.jpg&pid=hp"

    def to_json(self, *, uhd: bool = False) -> dict[str, Any]:
        """The entry as Bing sends it (keys in Bing's order)."""
        url = (
            self._url if self._url is not None else self._default_url("UHD" if uhd else "1920x1080")
        )
        entry: dict[str, Any] = {
            "startdate": self.startdate,
            "fullstartdate": self.fullstartdate,
            "enddate": self.enddate,
            "url": url,
            "urlbase": self.urlbase,
            "copyright": self.copyright,
            "copyrightlink": self.copyrightlink,
            "title": self.title,
            "quiz": self.quiz,
            "wp": self.wp,
            "hsh": self.hsh,
            "drk": self.drk,
            "top": self.top,
            "bot": self.bot,
            "hs": list(self.hs),
        }
        entry.update(self.extra)
        for key in self.omit:
            entry.pop(key, None)
        return entry

    def serves_id(self, base: str) -> bool:
        """Whether ``/th?id={base}_{size}.jpg`` names this day's picture."""
        return base == self.image_id or self.urlbase == f"/th?id={base}"


@dataclass
class _Week:
    market: str
    served_market: str
    days: list[Day]


# -- pictures ---------------------------------------------------------------------------

_PICTURES: dict[tuple[str, str], bytes] = {}
_PICTURES_LOCK = threading.Lock()


def photo_jpeg(photo: str, size: str) -> bytes:
    """The JPEG served for ``photo`` at ``size`` (a key of ``SIZES``).

    Deterministic for the photo name and size (not the market), cached per process.
    """
    key = (photo, size)
    with _PICTURES_LOCK:
        data = _PICTURES.get(key)
        if data is None:
            data = _render_jpeg(photo, SIZES[size])
            _PICTURES[key] = data
    return data


def _vivid(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(red * 255), round(green * 255), round(blue * 255)


def _render_jpeg(photo: str, size: tuple[int, int]) -> bytes:
    """A vertical gradient between two vivid colours, a diagonal band and a sun, all
    chosen from a hash of the photo name."""
    seed = _digest("picture", photo)
    width, height = size
    hue = seed[0] / 255
    top = _vivid(hue, 0.85, 0.95)
    bottom = _vivid(hue + 0.3 + seed[1] / 255 * 0.2, 0.9, 0.6)
    band = _vivid(hue + 0.6 + seed[2] / 255 * 0.1, 0.8, 0.8)
    sun = _vivid(hue + 0.15, 0.6, 1.0)

    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    picture = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)
    draw = ImageDraw.Draw(picture)
    shift = (seed[3] / 255 - 0.5) * width * 0.4
    thickness = height * (0.12 + seed[4] / 255 * 0.1)
    draw.polygon(
        [
            (shift, height),
            (shift + thickness, height),
            (shift + thickness + width, 0),
            (shift + width, 0),
        ],
        fill=band,
    )
    radius = min(width, height) * (0.1 + seed[5] / 255 * 0.08)
    cx = width * (0.15 + seed[6] / 255 * 0.7)
    cy = height * (0.2 + seed[7] / 255 * 0.3)
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=sun)

    out = io.BytesIO()
    picture.save(out, "JPEG", quality=88)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _build_bomb_png(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side x side black pixels, about 110 KB compressed."""
    row = bytes(1 + (side + 7) // 8)  # filter byte 0, then all-black pixels
    compressor = zlib.compressobj(9)
    rows_per_block = 1000
    block = row * rows_per_block
    parts = [compressor.compress(block) for _ in range(side // rows_per_block)]
    parts.append(compressor.compress(row * (side % rows_per_block)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def _build_placeholder_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1, 1), (128, 128, 128)).save(out, "JPEG")
    return out.getvalue()


_SPECIAL: dict[str, bytes] = {}
_SPECIAL_BUILDERS: dict[str, Callable[[], bytes]] = {
    "bomb": _build_bomb_png,
    "placeholder": _build_placeholder_jpeg,
}


def _special(kind: str) -> bytes:
    with _PICTURES_LOCK:
        if kind not in _SPECIAL:
            _SPECIAL[kind] = _SPECIAL_BUILDERS[kind]()
        return _SPECIAL[kind]


# -- the server -------------------------------------------------------------------------


class BingStandIn:
    """Bing's ``HPImageArchive.aspx`` and ``/th`` on ``127.0.0.1``, with counters and faults.

    Thread-safe. Use it as a context manager, or call ``start()`` and ``stop()``.
    """

    default_market = "en-US"
    # "huge_declared" trickles this many bytes per interval (about 6 MB/s).
    huge_declared_chunk = 64 * 1024
    huge_declared_interval = 0.01

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._weeks: dict[str, _Week] = {}
        self._faults: dict[str, tuple[str, int | None]] = {}
        self._requests: list[tuple[str, str]] = []
        self._metadata_markets: Counter[str] = Counter()
        self._images: Counter[tuple[str | None, str | None]] = Counter()
        self._blocked: Counter[str] = Counter()
        self._release_event = threading.Event()
        self._stopping = False
        self._stopped = threading.Event()
        self._errors: list[BaseException] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> BingStandIn:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is not None or self._stopping:
            raise RuntimeError("a Bing stand-in can be started only once")
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # so that stop() is quick
            name=f"bing-stand-in:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, promptly: blocked hangs and stalls are dropped (the clients see
        the connection close), open connections are shut, the socket is closed.
        Idempotent; waits at most about ``timeout`` seconds for handler threads."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._stopped.set()
        self.release()
        server = self._server
        if server is None:
            return
        assert self._thread is not None
        server.shutdown()  # the accept loop; handlers are dealt with below
        self._thread.join(timeout)
        threads = server.close_connections()
        server.server_close()
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> BingStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Bing stand-in is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- data ---------------------------------------------------------------------------

    def add_week(
        self,
        market: str,
        photos: Sequence[str],
        newest: datetime | None = None,
        served_market: str | None = None,
    ) -> list[Day]:
        """Give ``market`` one day per photo, newest first, 24 h apart, replacing what it had.

        ``newest`` is when the first photo went live (aware; default: the start of the
        current hour minus one hour, so the week is fresh). ``served_market`` is the
        ``market.mkt`` answered (default ``market``); a worldwide one (``en-WW``/``ROW``)
        gives ids with ``_ROW``. Returns the live list: changes to it are served.
        """
        if newest is None:
            newest = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
            newest -= timedelta(hours=1)
        elif newest.tzinfo is None or newest.utcoffset() is None:
            raise ValueError("newest must be an aware datetime (UTC)")
        served = served_market or market
        tag = _id_tag(served)
        days = [
            Day.create(photo, market, newest - timedelta(days=age), id_tag=tag)
            for age, photo in enumerate(photos)
        ]
        with self._lock:
            self._weeks[market.casefold()] = _Week(market, served, days)
        return days

    def days(self, market: str) -> list[Day]:
        """The live list of ``market``'s days (``KeyError`` if none were added)."""
        with self._lock:
            return self._weeks[market.casefold()].days

    # -- counters -----------------------------------------------------------------------

    def metadata_count(self, market: str | None = None) -> int:
        """Metadata requests so far (faulted ones included), all or for the asked ``market``
        (case-insensitive; a request without ``mkt`` counts as ``default_market``)."""
        with self._lock:
            if market is None:
                return sum(self._metadata_markets.values())
            return self._metadata_markets[market.casefold()]

    def image_count(self, photo: str | None = None, size: str | None = None) -> int:
        """Picture requests so far (faulted and 404 ones included), filtered by photo name
        and/or size."""
        with self._lock:
            return sum(
                count
                for (seen_photo, seen_size), count in self._images.items()
                if (photo is None or seen_photo == photo) and (size is None or seen_size == size)
            )

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request so far as ``(method, path_with_query)``, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def handler_errors(self) -> list[BaseException]:
        """Unexpected exceptions in request handlers (a bug in the stand-in if not empty)."""
        with self._lock:
            return list(self._errors)

    def reset_counts(self) -> None:
        """Forget counted requests, the request log and the hang/stall counts."""
        with self._lock:
            self._requests.clear()
            self._metadata_markets.clear()
            self._images.clear()
            self._blocked.clear()

    # -- faults -------------------------------------------------------------------------

    def set_fault(self, endpoint: Endpoint, kind: str | None, *, times: int | None = None) -> None:
        """Make the next ``times`` requests to ``endpoint`` (all, if ``None``) fail as ``kind``;
        ``kind=None`` clears the fault. See ``METADATA_FAULTS`` and ``IMAGE_FAULTS``.

        ``hang`` sends nothing and ``stall`` sends the headers and half the picture, then
        both wait for ``release()`` (after which the normal answer is completed) or
        ``stop()`` (which drops the connection).
        """
        if endpoint not in _FAULTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; use 'metadata' or 'image'")
        if kind is not None and kind not in _FAULTS[endpoint]:
            known = ", ".join(sorted(_FAULTS[endpoint]))
            raise ValueError(f"unknown {endpoint} fault {kind!r}; known: {known}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for until cleared)")
        with self._lock:
            if kind is None:
                self._faults.pop(endpoint, None)
            else:
                self._faults[endpoint] = (kind, times)

    def release(self) -> None:
        """Let every request blocked right now in a ``hang`` or ``stall`` go on."""
        with self._lock:
            event, self._release_event = self._release_event, threading.Event()
        event.set()

    def wait_for_hang(self, timeout: float, count: int = 1) -> bool:
        """Whether ``count`` requests have started hanging (since start or reset_counts)."""
        return self._wait_for_blocked("hang", timeout, count)

    def wait_for_stall(self, timeout: float, count: int = 1) -> bool:
        """Whether ``count`` stalled responses have sent their first half (since start or
        reset_counts)."""
        return self._wait_for_blocked("stall", timeout, count)

    def _wait_for_blocked(self, kind: str, timeout: float, count: int) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._blocked[kind] >= count, timeout)

    # -- used by the handler ------------------------------------------------------------

    def _record(self, method: str, path: str) -> None:
        with self._lock:
            self._requests.append((method, path))

    def _count_metadata(self, market: str) -> None:
        with self._lock:
            self._metadata_markets[market.casefold()] += 1

    def _count_image(self, photo: str | None, size: str | None) -> None:
        with self._lock:
            self._images[photo, size] += 1

    def _record_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors.append(error)

    def _take_fault(self, endpoint: Endpoint) -> str | None:
        with self._lock:
            fault = self._faults.get(endpoint)
            if fault is None:
                return None
            kind, times = fault
            if times is not None:
                if times <= 1:
                    del self._faults[endpoint]
                else:
                    self._faults[endpoint] = (kind, times - 1)
            return kind

    def _block(self, kind: str) -> bool:
        """Wait for ``release()`` (True) or ``stop()`` (False)."""
        with self._changed:
            if self._stopping:
                return False
            event = self._release_event
            self._blocked[kind] += 1
            self._changed.notify_all()
        event.wait()
        return not self._stopped.is_set()

    def _metadata(self, market: str, idx: int, n: int, uhd: bool) -> dict[str, Any]:
        with self._lock:
            week = self._weeks.get(market.casefold()) or self._weeks.get(_WORLDWIDE.casefold())
            if week is None:
                images: list[dict[str, Any]] = []
                served = _WORLDWIDE
            else:
                images = [day.to_json(uhd=uhd) for day in week.days[idx : idx + min(n, 8)]]
                served = week.served_market
        return {"images": images, "market": {"mkt": served}, "tooltips": dict(TOOLTIPS)}

    def _find_day(self, base: str) -> Day | None:
        with self._lock:
            for week in self._weeks.values():
                for day in week.days:
                    if day.serves_id(base):
                        return day
        return None


class _Server(ThreadingHTTPServer):
    """Tracks its connections and handler threads so that ``stop()`` can end them."""

    daemon_threads = True
    block_on_close = False  # stop() joins with a deadline instead
    request_queue_size = 128  # many clients connect at once
    allow_reuse_address = True

    def __init__(self, standin: BingStandIn) -> None:
        self.standin = standin
        self._tracked = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup (slow on a machine without network)."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = "127.0.0.1"
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name="bing-stand-in-handler",
            daemon=True,
        )
        with self._tracked:
            self._connections.add(request)
            self._handlers.add(thread)
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._tracked:
                self._handlers.discard(threading.current_thread())

    def shutdown_request(self, request: Any) -> None:
        with self._tracked:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> list[threading.Thread]:
        """Shut every open connection (waking blocked reads and writes); return the
        handler threads still running."""
        with self._tracked:
            connections = list(self._connections)
            threads = list(self._handlers)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by its handler or the client
                connection.shutdown(socket.SHUT_RDWR)
        return threads

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal here; anything else is recorded and printed."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):
            return
        if error is not None:
            self.standin._record_error(error)
        super().handle_error(request, client_address)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_param(query: dict[str, list[str]], name: str, default: int) -> int:
    try:
        return int(_first(query, name) or default)
    except ValueError:
        return default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked responses
    server_version = "BingStandIn/1.0"
    sys_version = ""
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the test output is not the place for an access log."""

    @property
    def standin(self) -> BingStandIn:
        return self.server.standin

    def do_GET(self) -> None:
        self.standin._record("GET", self.path)
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            path = url.path.lower()
            if path == "/hpimagearchive.aspx":
                self._serve_metadata(query)
            elif path == "/th":
                self._serve_image(query)
            else:
                self._send_error_page(404)
        except OSError:  # the client went away, or stop() shut the connection
            self.close_connection = True

    # -- metadata -----------------------------------------------------------------------

    def _serve_metadata(self, query: dict[str, list[str]]) -> None:
        standin = self.standin
        market = _first(query, "mkt") or standin.default_market
        standin._count_metadata(market)
        fault = standin._take_fault("metadata")
        if fault is not None and self._common_fault(fault):
            return
        if (_first(query, "format") or "js").lower() != "js":
            self._send_error_page(400)
            return
        idx = max(0, _int_param(query, "idx", 0))
        n = max(1, _int_param(query, "n", 1))
        payload = standin._metadata(market, idx, n, uhd=_first(query, "uhd") == "1")
        if fault == "empty":
            payload["images"] = []
        elif fault == "images_not_list":
            payload["images"] = {str(i): image for i, image in enumerate(payload["images"])}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        if fault == "not_json_object":
            body = b"[]"
        elif fault == "cutoff":
            body = body[: len(body) // 2]
        self._send(200, "application/json; charset=utf-8", body)

    # -- pictures -----------------------------------------------------------------------

    def _serve_image(self, query: dict[str, list[str]]) -> None:
        standin = self.standin
        match = _ID_WITH_SIZE.match(_first(query, "id") or "")
        base, size = (match["base"], match["size"]) if match else (None, None)
        day = standin._find_day(base) if base else None
        if day is not None:
            photo: str | None = day.photo
        else:
            named = _PHOTO_IN_ID.match(base or "")
            photo = named["photo"] if named else None
        standin._count_image(photo, size)

        fault = standin._take_fault("image")
        if fault is not None and self._common_fault(fault):
            return
        if fault == "not_image":
            self._send(200, "image/jpeg", _NOT_AN_IMAGE)
            return
        if fault == "bomb":
            self._send(200, "image/png", _special("bomb"))
            return
        if fault == "placeholder":
            self._send(200, "image/jpeg", _special("placeholder"))
            return
        if day is None or size not in SIZES:
            self._send_error_page(404)
            return
        jpeg = photo_jpeg(day.photo, size)
        if fault == "truncated":
            self._send(200, "image/jpeg", jpeg[: len(jpeg) * 6 // 10], close=True)
        elif fault == "huge_declared":
            self._send_huge_declared(jpeg)
        elif fault == "huge_chunked":
            self._send_huge_chunked(jpeg)
        elif fault == "stall":
            self._send_stalled(jpeg)
        else:
            self._send(200, "image/jpeg", jpeg)

    def _send_huge_declared(self, jpeg: bytes) -> None:
        """Announce 200 MiB, then trickle the picture and zeros until the client leaves."""
        standin = self.standin
        self._send_head(200, "image/jpeg", HUGE_DECLARED_LENGTH, close=True)
        self.wfile.write(jpeg)
        sent = len(jpeg)
        zeros = bytes(standin.huge_declared_chunk)
        while sent < HUGE_DECLARED_LENGTH and not standin._stopped.wait(
            standin.huge_declared_interval
        ):
            part = zeros[: HUGE_DECLARED_LENGTH - sent]
            self.wfile.write(part)
            sent += len(part)

    def _send_huge_chunked(self, jpeg: bytes) -> None:
        """Chunked, no Content-Length: the picture, then 1 MiB chunks of zeros up to 80 MiB."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.close_connection = True
        self.end_headers()
        self._write_chunk(jpeg)
        sent = len(jpeg)
        zeros = bytes(_MIB)
        while sent < HUGE_CHUNKED_LIMIT and not self.standin._stopped.is_set():
            part = zeros[: HUGE_CHUNKED_LIMIT - sent]
            self._write_chunk(part)
            sent += len(part)
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n" % len(data) + data + b"\r\n")

    def _send_stalled(self, jpeg: bytes) -> None:
        """Headers with the full length and half the picture, then wait for release()."""
        half = len(jpeg) // 2
        self._send_head(200, "image/jpeg", len(jpeg))
        self.wfile.write(jpeg[:half])
        if self.standin._block("stall"):
            self.wfile.write(jpeg[half:])
        else:
            self.close_connection = True

    # -- shared -------------------------------------------------------------------------

    def _common_fault(self, fault: str) -> bool:
        """Apply a fault both endpoints know; True if the request is fully answered."""
        if fault in ("500", "503", "404"):
            self._send_error_page(int(fault))
        elif fault == "html":
            self._send(200, "text/html; charset=utf-8", _CAPTIVE_PORTAL)
        elif fault == "reset":
            self._reset()
        elif fault == "hang":
            if self.standin._block("hang"):
                return False  # released: answer normally
            self.close_connection = True
        else:
            return False
        return True

    def _reset(self) -> None:
        """Drop the connection with a TCP reset, answering nothing."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send_error_page(self, status: int) -> None:
        phrase = self.responses.get(status, ("Error",))[0]
        body = _ERROR_PAGE.format(status=f"{status} {phrase}").encode("utf-8")
        self._send(status, "text/html; charset=utf-8", body)

    def _send_head(self, status: int, content_type: str, length: int, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()

    def _send(self, status: int, content_type: str, body: bytes, close: bool = False) -> None:
        self._send_head(status, content_type, len(body), close=close)
        self.wfile.write(body)
