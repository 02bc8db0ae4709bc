"""Builds the shared service from the environment and the user's settings.

The CLI calls this once per run; the Qt app's composition root calls it once at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from desktop_app.core.bing import BingClient
from desktop_app.core.config import Paths, bing_base_url
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.palette.ai import AIAnalyser, AIConfig
from desktop_app.core.palette.base import PaletteAnalyser
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.service import WallpaperService
from desktop_app.core.settings import Settings, load_settings
from desktop_app.core.store import Store
from desktop_app.core.wallpapers import WallpaperFolder

log = logging.getLogger("huewall")


@dataclass(frozen=True)
class Runtime:
    paths: Paths
    settings: Settings
    service: WallpaperService
    wallpapers: WallpaperFolder
    ai: AIConfig | None


def open_runtime(env: Mapping[str, str], paths: Paths | None = None) -> Runtime:
    paths = paths or Paths.default()
    settings = load_settings(paths.settings_file)
    for warning in settings.warnings:
        log.warning("%s", warning)
    client = BingClient(bing_base_url(env))
    ai = AIConfig.from_env(env)
    local = LocalAnalyser()
    analyser: PaletteAnalyser = AIAnalyser(ai) if ai is not None else local
    store = Store(paths.cache_dir, settings.archive_max_bytes)
    locks = KeyedLocks(paths.locks_dir)
    service = WallpaperService(store, locks, client, analyser, local)
    wallpapers = WallpaperFolder(paths.wallpapers_dir, store, locks)
    return Runtime(paths=paths, settings=settings, service=service, wallpapers=wallpapers, ai=ai)


def describe_ai(env: Mapping[str, str]) -> str:
    """One line about the palette source for ``huewall doctor``; never shows the key."""
    try:
        ai = AIConfig.from_env(env)
    except Exception as exc:  # a bad OPENAI_BASE_URL is reported, not raised, here
        return f"misconfigured AI endpoint: {exc}"
    if ai is None:
        return "local (no AI endpoint configured: set OPENAI_API_KEY or OPENAI_BASE_URL)"
    key = "an API key is set" if ai.api_key else "no API key (fine for a local server)"
    return f"AI at {ai.endpoint}, model {ai.model}, {key}"
