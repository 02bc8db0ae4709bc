"""The user's settings: a typed, frozen value saved as JSON, written atomically.

Only choices live here; runtime state (the last error, the current picture) does not.
API keys never do: they go to the OS keyring (``desktop_app.platform.secrets``).
Unknown keys in the file are kept when saving, so an older Huewall does not erase what a
newer one wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from desktop_app.core.errors import StoreError, UsageError
from desktop_app.core.exports import DEFAULT_FILES
from desktop_app.core.files import atomic_write_text
from desktop_app.core.markets import normalise_market
from desktop_app.core.models import AUTO_RESOLUTION, RESOLUTIONS

DEFAULT_ARCHIVE_MAX_BYTES = 2 * 1024**3
SCHEDULES = ("publish", "fixed")  # at Bing's publish time for the main market, or a set time
AI_PROVIDERS = ("none", "openai", "custom")  # none = the local palette
DEFAULT_AI_MODEL = "gpt-4o-mini"
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Settings:
    main_market: str | None = None  # None: the system's locale, else en-US
    markets: tuple[str, ...] = ()  # the markets offered in the tray (main one included)
    resolution: str = AUTO_RESOLUTION
    auto_set: bool = True  # set each new picture as the wallpaper
    schedule: str = "publish"
    fixed_time: str = "08:00"  # local HH:MM, used when schedule == "fixed"
    paused: bool = False  # "Pause daily updates" in the tray
    lock_screen: bool = False
    wallpaper_backend: str = "auto"
    ai_provider: str = "none"
    ai_base_url: str = ""  # for "custom": any OpenAI-compatible server
    ai_model: str = DEFAULT_AI_MODEL
    notify: bool = True  # a notification when a new picture arrives
    archive_max_bytes: int = DEFAULT_ARCHIVE_MAX_BYTES
    theme_dir: str = ""  # "" = <user cache dir>/huewall/theme (``Paths.theme_dir``)
    export_files: tuple[str, ...] = DEFAULT_FILES  # () = no theme exports
    hook: tuple[str, ...] = ()  # a command run after each change, as an argument list
    # Problems found while loading: shown to the user, never saved.
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def with_changes(self, **changes: Any) -> tuple[Settings, dict[str, str]]:
        """A copy with ``changes`` validated; the errors by field name (copy unchanged there)."""
        values, errors = _validated(changes)
        return replace(self, **values), errors

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["warnings"]
        data["markets"] = list(self.markets)
        data["export_files"] = list(self.export_files)
        data["hook"] = list(self.hook)
        return data


def _market(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("expected a locale such as 'en-US'")
    return normalise_market(value)


def _markets(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of locales")
    result: list[str] = []
    for item in value:
        market = normalise_market(item)
        if market not in result:
            result.append(market)
    return tuple(result)


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return str(value)

    return check


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected true or false")
    return value


def _time(value: Any) -> str:
    if not isinstance(value, str) or not _TIME.match(value.strip()):
        raise ValueError("expected a time as HH:MM (24-hour), e.g. 07:30")
    return value.strip()


def _backend(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9_-]{1,32}", value.strip().lower()):
        raise ValueError("expected 'auto' or a backend name (see 'huewall doctor')")
    return value.strip().lower()


def _base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a URL such as http://localhost:11434/v1")
    text = value.strip()
    if text:
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// URL, e.g. http://localhost:11434/v1")
    return text


def _model(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise ValueError("expected a model name such as gpt-4o-mini")
    return value.strip()


def _bytes(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("expected a whole number of bytes")
    return value


def _folder(value: Any) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise TypeError("expected a folder such as ~/.cache/huewall/theme")
    text = value.strip()
    if text and not Path(text).expanduser().is_absolute():
        raise ValueError("expected an absolute folder (or one starting with ~), or empty")
    return text


def _export_files(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"expected a list of files from {', '.join(DEFAULT_FILES)}")
    unknown = [v for v in value if v not in DEFAULT_FILES]
    if unknown:
        raise ValueError(
            f"unknown export file {unknown[0]!r}; expected some of {', '.join(DEFAULT_FILES)}"
        )
    return tuple(dict.fromkeys(value))


def _hook(value: Any) -> tuple[str, ...]:
    example = 'expected a command as a list of arguments, e.g. ["notify-send", "Huewall"]'
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(example)
    if value and not value[0].strip():
        raise ValueError(example + "; the first one names the program")
    if any("\0" in v for v in value):
        raise ValueError("a hook argument cannot contain a NUL character")
    return tuple(value)


_VALIDATORS: Mapping[str, Callable[[Any], Any]] = {
    "main_market": _market,
    "markets": _markets,
    "resolution": _choice((AUTO_RESOLUTION, *RESOLUTIONS)),
    "auto_set": _flag,
    "schedule": _choice(SCHEDULES),
    "fixed_time": _time,
    "paused": _flag,
    "lock_screen": _flag,
    "wallpaper_backend": _backend,
    "ai_provider": _choice(AI_PROVIDERS),
    "ai_base_url": _base_url,
    "ai_model": _model,
    "notify": _flag,
    "archive_max_bytes": _bytes,
    "theme_dir": _folder,
    "export_files": _export_files,
    "hook": _hook,
}
assert set(_VALIDATORS) == {f.name for f in fields(Settings)} - {"warnings"}


def _validated(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, raw in data.items():
        check = _VALIDATORS.get(key)
        if check is None:
            continue
        try:
            values[key] = check(raw)
        except (UsageError, ValueError, TypeError) as exc:
            errors[key] = str(exc)
    return values, errors


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
    values, errors = _validated(data)
    problems = tuple(f"ignoring setting {key!r} in {path}: {why}" for key, why in errors.items())
    return Settings(**values, warnings=problems)


def save_settings(path: Path, settings: Settings) -> None:
    """Write ``settings`` atomically, keeping keys this version does not know."""
    kept: dict[str, Any] = {}
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(existing, dict):
            kept = {k: v for k, v in existing.items() if k not in _VALIDATORS}
    except (OSError, ValueError):
        pass
    text = json.dumps({**kept, **settings.to_json()}, indent=2, ensure_ascii=False) + "\n"
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise StoreError(f"cannot save the settings to {path}: {exc.strerror or exc}") from None
