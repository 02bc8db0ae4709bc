"""The client for Bing's picture-of-the-day service (``HPImageArchive.aspx``).

It fetches a market's whole week in one request, builds picture URLs only on hosts it
trusts, and streams pictures with a size cap and an overall deadline. It knows nothing
about caching or locking; the service does that.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

from desktop_app.core.config import DEFAULT_BING_URL, is_loopback_host
from desktop_app.core.errors import BadResponseError, NetworkError, NotFoundError
from desktop_app.core.markets import OWN_PICTURES
from desktop_app.core.models import RESOLUTIONS, BingImage, Week, clean_text

log = logging.getLogger("huewall.bing")

MAX_IMAGE_BYTES = 50 * 1024**2
MAX_METADATA_BYTES = 2 * 1024**2
CHUNK = 64 * 1024
USER_AGENT = "huewall (+https://github.com/huewall/huewall)"


class BingClient:
    """Thread-safe: each thread gets its own HTTP session."""

    def __init__(
        self,
        base_url: str = DEFAULT_BING_URL,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        deadline: float = 55.0,
        max_image_bytes: int = MAX_IMAGE_BYTES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._scheme = parts.scheme
        self._host = (parts.hostname or "").lower()
        self._netloc = parts.netloc.lower()
        self._trust_bing_hosts = self.base_url == DEFAULT_BING_URL
        self._timeout = (connect_timeout, read_timeout)
        self._deadline = deadline
        self._max_image_bytes = max_image_bytes
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    # -- metadata -----------------------------------------------------------------------

    def fetch_week(self, market: str) -> Week:
        """One request for the market's whole week (up to 8 days, newest first)."""
        url = f"{self.base_url}/HPImageArchive.aspx"
        params = {"format": "js", "idx": "0", "n": "8", "mkt": market}
        with self._get(url, params=params, what=f"Bing's picture list for {market}") as response:
            body = self._read_all(response, MAX_METADATA_BYTES, f"Bing's picture list for {market}")
            content_type = response.headers.get("Content-Type", "")
        data = self._parse_json(body, content_type, market)
        images = data.get("images")
        if not isinstance(images, list):
            raise BadResponseError(f"Bing's answer for {market} has no picture list")
        if not images:
            raise NotFoundError(f"Bing listed no pictures for {market}; try again later")
        served = data.get("market")
        served_market = served.get("mkt") if isinstance(served, dict) else None
        served_market = clean_text(served_market, 20) or market
        entries = tuple(self._parse_image(market, raw) for raw in images[:8])
        if not any(isinstance(entry, BingImage) for entry in entries):
            reason = next(entry for entry in entries if isinstance(entry, str))
            raise BadResponseError(f"no picture Bing listed for {market} can be used: {reason}")
        if served_market.casefold() != market.casefold():
            level = logging.WARNING if market in OWN_PICTURES else logging.INFO
            log.log(level, "Bing served %s's pictures when asked for %s", served_market, market)
        return Week(
            market=market,
            served_market=served_market,
            entries=entries,
            fetched_at=self._clock(),
        )

    def _parse_json(self, body: bytes, content_type: str, market: str) -> dict[str, Any]:
        import json

        head = body.lstrip()[:1]
        if "html" in content_type.lower() or head == b"<":
            raise BadResponseError(
                f"Bing's answer for {market} was a web page, not picture data "
                "(a captive portal or proxy login?)"
            )
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise BadResponseError(
                f"Bing's answer for {market} was cut off or is not JSON"
            ) from None
        if not isinstance(data, dict):
            raise BadResponseError(f"Bing's answer for {market} is not a JSON object")
        return data

    def _parse_image(self, market: str, raw: object) -> BingImage | str:
        """One listed picture, or why it was refused (with a warning) when it is unsafe."""
        try:
            if not isinstance(raw, dict):
                raise ValueError("an entry is not an object")
            image = BingImage.from_bing(market, raw)
            self.image_url(image, "1920x1080")
        except (ValueError, BadResponseError) as exc:
            log.warning("ignoring a picture Bing listed for %s: %s", market, exc)
            return str(exc)
        return image

    # -- pictures -----------------------------------------------------------------------

    def image_url(self, image: BingImage, resolution: str) -> str:
        """``{base}{urlbase}_{resolution}.jpg``, refused when it points at a foreign host."""
        urlbase = image.urlbase
        if urlbase.startswith("//"):
            urlbase = f"{self._scheme}:{urlbase}"
        parts = urlsplit(urlbase)
        if parts.scheme or parts.netloc:
            self._check_host(urlbase)
            return f"{urlbase}_{resolution}.jpg"
        separator = "" if urlbase.startswith("/") else "/"
        return f"{self.base_url}{separator}{urlbase}_{resolution}.jpg"

    def image_urls(self, image: BingImage) -> dict[str, str]:
        return {resolution: self.image_url(image, resolution) for resolution in RESOLUTIONS}

    def _check_host(self, url: str) -> None:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        trusted = parts.netloc.lower() == self._netloc or (
            self._trust_bing_hosts
            and (host in ("bing.com", "bing.net") or host.endswith((".bing.com", ".bing.net")))
        )
        secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host))
        if not trusted or not secure:
            raise BadResponseError(
                f"refused a picture URL on a foreign host: {clean_text(host, 80) or url[:80]!r}"
            )

    def download(self, url: str, out: BinaryIO) -> tuple[str, int]:
        """Stream the picture at ``url`` into ``out``; return its SHA-256 and size.

        Refuses an answer that is not a picture, one larger than the cap (early by
        Content-Length, else by counting), and one that takes longer than the deadline.
        """
        self._check_host(url)
        digest = hashlib.sha256()
        size = 0
        with self._get(url, what="the picture") as response:
            self._check_host(response.url)  # after redirects
            content_type = response.headers.get("Content-Type", "").lower()
            if content_type.startswith(("text/", "application/json")):
                raise BadResponseError(
                    "Bing answered with a web page instead of the picture (a captive portal?)"
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > self._max_image_bytes:
                raise BadResponseError(self._too_large(int(declared)))
            for chunk in self._chunks(response, "the picture"):
                size += len(chunk)
                if size > self._max_image_bytes:
                    raise BadResponseError(self._too_large(size, at_least=True))
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise BadResponseError("Bing sent an empty file instead of the picture")
        return digest.hexdigest(), size

    def _too_large(self, size: int, at_least: bool = False) -> str:
        cap = self._max_image_bytes // 1024**2
        amount = f"over {size // 1024**2}" if at_least else f"{size // 1024**2}"
        return f"refused a picture of {amount} MB; the cap is {cap} MB"

    # -- HTTP -----------------------------------------------------------------------------

    def _get(
        self, url: str, *, what: str, params: dict[str, str] | None = None
    ) -> requests.Response:
        try:
            response = self._session().get(url, params=params, timeout=self._timeout, stream=True)
        except requests.Timeout:
            raise NetworkError(
                f"{self._host} did not answer within {self._timeout[1]:g} s while fetching {what}"
            ) from None
        except requests.RequestException as exc:
            raise NetworkError(f"cannot reach {self._host} for {what}: {_reason(exc)}") from None
        if response.status_code != 200:
            response.close()
            raise NetworkError(f"{self._host} answered HTTP {response.status_code} for {what}")
        return response

    def _chunks(self, response: requests.Response, what: str) -> Iterator[bytes]:
        deadline = time.monotonic() + self._deadline
        try:
            for chunk in response.iter_content(CHUNK):
                if time.monotonic() > deadline:
                    raise NetworkError(
                        f"{self._host} took longer than {self._deadline:g} s to send {what}"
                    )
                yield chunk
        except requests.RequestException as exc:
            if isinstance(exc, (requests.ConnectionError, requests.Timeout)) and "timed out" in str(
                exc
            ):
                raise NetworkError(
                    f"{self._host} stopped sending {what} for {self._timeout[1]:g} s"
                ) from None
            raise NetworkError(
                f"the connection to {self._host} broke while receiving {what}: {_reason(exc)}"
            ) from None

    def _read_all(self, response: requests.Response, limit: int, what: str) -> bytes:
        parts: list[bytes] = []
        size = 0
        for chunk in self._chunks(response, what):
            size += len(chunk)
            if size > limit:
                raise BadResponseError(f"{what} is far larger than expected; refused")
            parts.append(chunk)
        return b"".join(parts)


def _reason(exc: BaseException) -> str:
    """A short reason from a requests exception, without its nested reprs."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "timed out",
        "Connection reset",
        "Remote end closed",
        "IncompleteRead",
        "Temporary failure in name resolution",
        "Network is unreachable",
    ):
        if marker in text:
            return marker.lower() if marker != "IncompleteRead" else "the answer was cut off"
    return text.splitlines()[0][:120] if text else type(exc).__name__
