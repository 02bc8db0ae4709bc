"""Shared fixtures: every test gets its own HOME, cache and config, and no real network."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from desktop_app.core.bing import BingClient
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.palette.base import Palette, PaletteAnalyser
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.service import WallpaperService
from desktop_app.core.store import Store
from tests.support.bing_server import BingStandIn
from tests.support.openai_server import FakeOpenAIServer

# Qt tests run without a screen; this must be set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_LEAKY_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "HUEWALL_AI_MODEL",
    "HUEWALL_BING_URL",
    "LC_ALL",
    "LC_MESSAGES",
    "LANG",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME with XDG folders, and none of the developer's Huewall/OpenAI settings."""
    home = tmp_path / "home"
    for sub in (".cache", ".config", ".local/share", ".local/state"):
        (home / sub).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    for name in _LEAKY_VARS:
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def cache_dir(isolated_home: Path) -> Path:
    return isolated_home / ".cache" / "huewall"


@pytest.fixture
def config_dir(isolated_home: Path) -> Path:
    return isolated_home / ".config" / "huewall"


PHOTOS = (
    "MartimoaapaFinland",
    "LakeBledSlovenia",
    "AtacamaStars",
    "KelpForest",
    "TulipFields",
    "ArcticFox",
    "PetraJordan",
    "BambooGrove",
)


@pytest.fixture
def bing(monkeypatch: pytest.MonkeyPatch) -> Iterator[BingStandIn]:
    """A Bing stand-in on loopback with a fresh week for en-US; HUEWALL_BING_URL points at it."""
    server = BingStandIn()
    server.start()
    server.add_week("en-US", PHOTOS)
    monkeypatch.setenv("HUEWALL_BING_URL", server.base_url)
    try:
        yield server
    finally:
        server.stop()


TEST_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    """An OpenAI-compatible stand-in; OPENAI_BASE_URL and OPENAI_API_KEY point at it."""
    with FakeOpenAIServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)
        yield server


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``condition`` until it holds (for threads we cannot get an event from)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)


class CountingAnalyser:
    """Wraps a real analyser and counts how often it is asked (thread-safe)."""

    def __init__(self, inner: PaletteAnalyser) -> None:
        self.inner = inner
        self.calls = 0
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        return self.inner.identity

    @property
    def source(self) -> str:
        return self.inner.source

    def analyse(self, image_path: Path) -> Palette:
        with self._lock:
            self.calls += 1
        return self.inner.analyse(image_path)


@pytest.fixture
def make_service(cache_dir: Path, bing: BingStandIn) -> Callable[..., WallpaperService]:
    """Build a service on the test's cache against the Bing stand-in.

    Each call builds new store, lock and client objects, as another process would.
    """

    def make(
        *,
        analyser: PaletteAnalyser | None = None,
        clock: Callable[[], datetime] | None = None,
        read_timeout: float = 10.0,
        deadline: float = 30.0,
        lock_timeout: float | None = 30.0,
        archive_max_bytes: int = 2 * 1024**3,
    ) -> WallpaperService:
        local = LocalAnalyser()
        client = BingClient(
            bing.base_url, read_timeout=read_timeout, deadline=deadline, clock=clock
        )
        kwargs = {"clock": clock} if clock is not None else {}
        return WallpaperService(
            Store(cache_dir, archive_max_bytes),
            KeyedLocks(cache_dir / "locks"),
            client,
            analyser or local,
            local,
            lock_timeout=lock_timeout,
            **kwargs,
        )

    return make
