"""Where Huewall keeps its files, which Bing it talks to, and the user's settings."""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from desktop_app.core.errors import UsageError
from desktop_app.core.markets import normalise_market
from desktop_app.core.models import AUTO_RESOLUTION, RESOLUTIONS

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


@dataclass(frozen=True)
class Settings:
    """The user's choices that the core reads. Unknown keys in the file are kept by others."""

    main_market: str | None = None
    resolution: str = AUTO_RESOLUTION
    archive_max_bytes: int = DEFAULT_ARCHIVE_MAX_BYTES
    wallpaper_backend: str = "auto"  # or a backend name, see ``huewall doctor``
    lock_screen: bool = False  # also set the lock screen where the desktop has one
    warnings: tuple[str, ...] = field(default=(), compare=False)


def load_settings(path: Path) -> Settings:
    """Read the settings file. A missing file means defaults; a bad value is dropped with a
    warning (in ``Settings.warnings``) and the file is left as it is, never rewritten here."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        return Settings(warnings=(f"cannot read settings {path}: {exc.strerror}; using defaults",))
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        return Settings(
            warnings=(
                f"settings file {path} is not valid JSON (line {exc.lineno}); using defaults",
            )
        )
    if not isinstance(data, dict):
        return Settings(warnings=(f"settings file {path} is not a JSON object; using defaults",))
    values: dict[str, Any] = {}
    problems: list[str] = []
    known = {f.name for f in fields(Settings)} - {"warnings"}
    for key in known & data.keys():
        try:
            values[key] = _validate_setting(key, data[key])
        except (UsageError, ValueError, TypeError) as exc:
            problems.append(f"ignoring setting {key!r} in {path}: {exc}")
    return Settings(**values, warnings=tuple(problems))


def _validate_setting(key: str, value: Any) -> Any:
    if key == "main_market":
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError("expected a locale such as 'en-US'")
        return normalise_market(value)
    if key == "resolution":
        if value != AUTO_RESOLUTION and value not in RESOLUTIONS:
            raise ValueError(f"expected 'auto' or one of {', '.join(RESOLUTIONS)}")
        return value
    if key == "archive_max_bytes":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError("expected a whole number of bytes")
        return value
    if key == "wallpaper_backend":
        if not isinstance(value, str) or not value.strip():
            raise TypeError("expected 'auto' or a backend name")
        return value.strip().lower()  # checked against the backends when one is chosen
    if key == "lock_screen":
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return value
    raise KeyError(key)  # pragma: no cover - guarded by the caller
