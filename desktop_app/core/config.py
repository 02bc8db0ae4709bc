"""Where Huewall keeps its files, which Bing it talks to, and the user's settings."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from desktop_app.core.errors import UsageError

APP_NAME = "huewall"
DEFAULT_BING_URL = "https://www.bing.com"
DEFAULT_ARCHIVE_MAX_BYTES = 2 * 1024**3

log = logging.getLogger("huewall.config")


@dataclass(frozen=True)
class Paths:
    """The user's folders for Huewall (platformdirs: honours ``XDG_CACHE_HOME`` and friends)."""

    cache_dir: Path
    config_dir: Path
    data_dir: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(
            cache_dir=Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
            config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        )

    @property
    def wallpapers_dir(self) -> Path:
        """The copies handed to the desktop: not in the cache, which cleaners may empty."""
        return self.data_dir / "wallpapers"

    @property
    def locks_dir(self) -> Path:
        return self.cache_dir / "locks"

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def theme_dir(self) -> Path:
        """The default theme folder for exports (like pywal's ``~/.cache/wal``)."""
        return self.cache_dir / "theme"

    @property
    def templates_dir(self) -> Path:
        """The user's templates, rendered into the theme folder after each change."""
        return self.config_dir / "templates"


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (also IPv4-mapped)."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def bing_base_url(env: Mapping[str, str]) -> str:
    """``HUEWALL_BING_URL`` or Bing itself; plain http only for loopback hosts."""
    raw = env.get("HUEWALL_BING_URL", "").strip() or DEFAULT_BING_URL
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"HUEWALL_BING_URL must be an http(s) URL, not {raw!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise UsageError(
            f"HUEWALL_BING_URL {raw!r} uses plain http; only https is accepted "
            "except for loopback hosts"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"HUEWALL_BING_URL must not have a query or fragment: {raw!r}")
    return raw.rstrip("/")
