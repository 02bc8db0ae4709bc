"""The tray app's composition root: the one place that builds and wires everything.

``main()`` takes the per-user instance lock (a second start hands over to the first and
exits), sets up logging, creates the ``QApplication`` and a ``HuewallApp``, and runs
the event loop until Quit, SIGTERM or SIGINT, after which background work is cancelled
and waited for, so the process exits 0 without leaving anything half-written.

``HuewallApp`` builds, in this order: the user's paths and settings; on a worker thread
(keyring lookups and opening the cache are not GUI-thread work) the Bing client, the AI
configuration from the settings and the keyring, the store and the shared
``WallpaperService``; then, back on the GUI thread, the ``AppController``, the tray icon
(or, where the desktop has no tray, the main window), the ``Scheduler`` with its Qt timer,
wake and network watchers, and the settings window when it is asked for. No widget looks
anything up globally: each gets what it needs here.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QObject, QSocketNotifier, QThreadPool, Signal
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from desktop_app import __version__
from desktop_app.core.ai_settings import ai_config_for
from desktop_app.core.appstate import AppState
from desktop_app.core.bing import BingClient
from desktop_app.core.config import Paths, bing_base_url
from desktop_app.core.errors import HuewallError, UsageError
from desktop_app.core.exports import ThemeValues
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.markets import MARKETS
from desktop_app.core.models import AUTO_RESOLUTION, Wallpaper, Week, resolution_for_screen
from desktop_app.core.palette.ai import AIAnalyser, AIConfig
from desktop_app.core.palette.base import Palette, PaletteAnalyser
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.schedule import Clock, Scheduler, SystemClock
from desktop_app.core.service import WallpaperService
from desktop_app.core.settings import Settings, load_settings, save_settings
from desktop_app.core.store import Store
from desktop_app.core.wallpapers import WallpaperFolder
from desktop_app.platform.secrets import KeyringSecrets, SecretStore
from desktop_app.qt.controller import AppController
from desktop_app.qt.icons import default_icon
from desktop_app.qt.jobs import Job, JobContext
from desktop_app.qt.logging_setup import configure_logging, install_crash_logging
from desktop_app.qt.main_window import NO_TRAY_REASON, MainWindow
from desktop_app.qt.settings_window import SettingsWindow
from desktop_app.qt.single_instance import SHOW_SETTINGS, SingleInstance
from desktop_app.qt.timers import NetworkWatcher, QtTimer, WakeWatcher
from desktop_app.qt.tray import TrayIcon

log = logging.getLogger("huewall.app")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
SHUTDOWN_TIMEOUT_MS = 4000


# -- the engine: the Qt-free part, built off the GUI thread ----------------------------------


@dataclass(frozen=True)
class Engine:
    """The shared service and the parts it is made of (kept to rebuild it when the AI
    settings change)."""

    store: Store
    locks: KeyedLocks
    client: BingClient
    wallpapers: WallpaperFolder
    ai: AIConfig | None
    service: WallpaperService


def open_engine(
    env: Mapping[str, str], paths: Paths, settings: Settings, secrets: SecretStore | None
) -> Engine:
    """Like ``bootstrap.open_runtime``, with the AI configuration from the settings and
    the keyring. Blocking (keyring, disk): call it from a worker."""
    client = BingClient(bing_base_url(env))
    ai = ai_config_for(settings, env, secrets)
    store = Store(paths.cache_dir, settings.archive_max_bytes)
    locks = KeyedLocks(paths.locks_dir)
    wallpapers = WallpaperFolder(paths.wallpapers_dir, store, locks)
    service = build_service(store, locks, client, ai)
    if ai is not None:
        # Load the openai package now, while the app starts, rather than during the
        # first analysis: importing it holds the interpreter long enough to stall the
        # GUI thread for 50-100 ms.
        import openai  # noqa: F401
    return Engine(store, locks, client, wallpapers, ai, service)


def build_service(
    store: Store, locks: KeyedLocks, client: BingClient, ai: AIConfig | None
) -> WallpaperService:
    local = LocalAnalyser()
    analyser: PaletteAnalyser = AIAnalyser(ai) if ai is not None else local
    return WallpaperService(store, locks, client, analyser, local)


class LiveService:
    """What the controller holds as its service: the current ``WallpaperService``.

    Saving new AI settings builds a new service (same store, locks and client, a new
    analyser, an empty memo, so no answer with the old palette source lingers) and
    swaps it in here; a call already running finishes on the old one.
    """

    def __init__(self, service: WallpaperService) -> None:
        self._current = service

    @property
    def current(self) -> WallpaperService:
        return self._current

    def replace(self, service: WallpaperService) -> None:
        self._current = service

    def get(self, market: str, day: Any = None, resolution: str = "UHD") -> Wallpaper:
        return self._current.get(market, day, resolution)

    def week(self, market: str) -> Week:
        return self._current.week(market)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current, name)


# -- setting the wallpaper (worker threads) ---------------------------------------------------


def apply_wallpaper(
    env: Mapping[str, str],
    settings: Settings,
    paths: Paths,
    wallpapers: WallpaperFolder,
    source: Path,
    wallpaper: Wallpaper | None,
    warn: Callable[[str], None],
) -> str:
    """Put ``source`` on the desktop as ``huewall set`` does, then update the theme files
    and run the hook; return the line saying so. Runs on a worker thread.

    Raises ``HuewallError`` (one line naming the backend and why) when the wallpaper could
    not be set; the previous one then stays. Theme and hook problems go to ``warn``.
    """
    from desktop_app.core.exports import update_theme
    from desktop_app.platform.wallpaper.apply import put_on_desktop

    line, target = put_on_desktop(
        env,
        wallpapers,
        source,
        wallpaper,
        backend=settings.wallpaper_backend,
        lock_screen=settings.lock_screen,
    )
    log.info("%s", line)
    if wallpaper is not None:
        for problem in update_theme(
            paths, settings.theme_dir, settings.export_files, settings.hook, wallpaper, target
        ):
            log.warning("%s", problem)
            warn(problem)
    return line


# -- what the settings window asks of the app -------------------------------------------------


class AppSettingsServices:
    """``SettingsServices`` for the settings window, over the app's collaborators."""

    def __init__(
        self,
        env: Mapping[str, str],
        secrets: SecretStore,
        pool: QThreadPool,
        settings: Callable[[], Settings],
        state: Callable[[], AppState],
        paths: Paths | None = None,
    ) -> None:
        self._env = env
        self._paths = paths or Paths.default()
        self._secrets = secrets
        self._pool = pool
        self._settings = settings
        self._state = state

    def markets(self) -> Mapping[str, str]:
        return MARKETS

    def backend_names(self) -> list[str]:
        from desktop_app.platform.wallpaper.registry import backend_names

        return list(dict.fromkeys(backend_names()))

    def backend_report(self) -> str:
        return backend_report(self._env, self._settings().wallpaper_backend)

    def keyring_status(self) -> tuple[bool, str]:
        return self._secrets.available()

    def api_key(self, endpoint: str) -> str | None:
        return self._secrets.get(endpoint)

    def store_api_key(self, endpoint: str, key: str | None) -> None:
        if key:
            self._secrets.set(endpoint, key)
        else:
            self._secrets.delete(endpoint)

    def test_ai(self, provider: str, base_url: str, model: str, key: str | None) -> str:
        if provider == "none":
            raise UsageError("the local palette needs no test; choose OpenAI or a server first")
        changes: dict[str, Any] = {"ai_provider": provider, "ai_model": model}
        if provider == "custom":
            changes["ai_base_url"] = base_url
        settings, errors = self._settings().with_changes(**changes)
        if errors:
            raise UsageError("; ".join(f"{name}: {why}" for name, why in errors.items()))
        config = ai_config_for(settings, self._env, self._secrets)
        if config is None:
            raise UsageError("no AI endpoint is configured")
        # One quick try: the user is waiting for the answer.
        config = replace(config, timeout=30.0, max_retries=0, deadline=40.0)
        if key is not None:
            config = replace(config, api_key=key)
        picture, _palette = self.preview()
        with contextlib.ExitStack() as stack:
            if picture is None or not picture.is_file():
                picture = stack.enter_context(_sample_picture())
            palette = AIAnalyser(config).analyse(picture)
        return (
            f"OK: {palette.gradient_from} → {palette.gradient_to}, {palette.gradient_angle}° "
            f"from {config.model} at {config.endpoint}"
        )

    def autostart_status(self) -> tuple[bool, str]:
        from desktop_app.platform.autostart import autostart_for

        entry = autostart_for(self._env)
        return entry.enabled(), entry.describe()

    def set_autostart(self, enabled: bool) -> None:
        from desktop_app.platform.autostart import autostart_for

        entry = autostart_for(self._env)
        if enabled:
            entry.enable()
        else:
            entry.disable()

    def theme_folders(self) -> tuple[str, str]:
        paths = self._paths
        return str(paths.theme_dir), str(paths.templates_dir)

    def open_folder(self, path: str) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        folder = Path(path)
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _theme(self) -> ThemeValues | None:
        from desktop_app.core.exports import theme_values

        current = self._state().current
        return theme_values(current) if current is not None else None

    def theme_preview(self) -> tuple[str, ...] | None:
        values = self._theme()
        return values.colors if values is not None else None

    def test_hook(self, hook: Sequence[str]) -> str:
        from desktop_app.core.exports import resolve_theme_dir, run_hook

        values = self._theme()
        if values is None:
            raise UsageError("there is no picture yet to test the hook with")
        run_hook(hook, values, resolve_theme_dir(self._settings().theme_dir, self._paths))
        return f"OK: '{hook[0]}' ran and exited 0"

    def pool(self) -> QThreadPool:
        return self._pool

    def preview(self) -> tuple[Path | None, Palette | None]:
        current = self._state().current
        if current is None:
            return None, None
        return current.image_path, current.palette.palette

    def last_error(self) -> str | None:
        return self._state().last_error


@contextlib.contextmanager
def _sample_picture() -> Any:
    """A small picture to test the AI with before any wallpaper is downloaded."""
    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="huewall-test-") as folder:
        path = Path(folder) / "sample.jpg"
        image = Image.linear_gradient("L").resize((320, 180)).convert("RGB")
        image.save(path, "JPEG")
        yield path


def backend_report(env: Mapping[str, str], override: str) -> str:
    """``huewall doctor``'s findings about the wallpaper, as text."""
    from desktop_app.platform.wallpaper.registry import all_backends, choose
    from desktop_app.platform.wallpaper.runner import CommandRunner
    from desktop_app.platform.wallpaper.session import Session

    session = Session.from_env(env)
    runner = CommandRunner(env)
    lines = [f"Session:  {session.describe()}"]
    try:
        choice = choose(session, runner, override)
    except HuewallError as exc:
        lines.append(f"Backend:  none: {exc}")
    else:
        problem = choice.backend.missing(session)
        state = "ready" if problem is None else f"NOT READY: {problem}"
        lines.append(f"Backend:  {choice.backend.name} ({choice.reason}); {state}")
    lines.append("All backends:")
    for backend in all_backends(runner):
        fits = backend.detect(session)
        problem = backend.missing(session)
        status = "ready" if problem is None else f"not ready: {problem}"
        tools = ", ".join(
            f"{tool} {'found' if where else 'missing'}" for tool, where in backend.tools().items()
        )
        line = f"  {backend.name:<9} {'fits: ' + fits if fits else 'does not fit'}; {status}"
        lines.append(line + (f"; tools: {tools}" if tools else ""))
    return "\n".join(lines)


# -- SIGTERM and SIGINT -----------------------------------------------------------------------


class QuitSignals(QObject):
    """Delivers SIGTERM and SIGINT to the GUI thread as ``received(signum)``.

    A Python signal handler runs only when the interpreter gets control, which it does
    not while Qt's event loop waits. ``signal.set_wakeup_fd`` makes the C-level handler
    write the signal's number into one end of a socket pair; a ``QSocketNotifier`` on the
    other end wakes the event loop, which reads it and emits ``received``.
    """

    received = Signal(int)

    def __init__(
        self,
        signals: Sequence[signal.Signals] = (signal.SIGTERM, signal.SIGINT),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous: dict[signal.Signals, Any] = {}
        for signum in signals:
            self._previous[signum] = signal.signal(signum, _ignore_in_python)
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_notifier_activated)

    def _on_notifier_activated(self) -> None:
        try:
            data = self._reader.recv(64)
        except (BlockingIOError, InterruptedError):
            return
        for signum in data:
            log.info("received %s", _signal_name(signum))
            self.received.emit(signum)

    def close(self) -> None:
        """Give the signals back to their previous handlers."""
        if not self._previous:
            return
        self._notifier.setEnabled(False)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()
        signal.set_wakeup_fd(self._previous_fd)
        self._reader.close()
        self._writer.close()


def _ignore_in_python(signum: int, frame: object) -> None:
    """The work happens in ``QuitSignals``; replacing the default handler keeps SIGINT
    from raising ``KeyboardInterrupt`` somewhere inside a slot."""


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# -- the app ---------------------------------------------------------------------------------


class HuewallApp(QObject):
    """Builds and wires the tray app; see the module's docstring for the order."""

    ready = Signal()  # the service, the controller and the tray (or window) are up
    failed = Signal(str)  # start-up failed; the app quits with EXIT_ERROR
    noticed = Signal(str, str)  # a notification was shown (title, message)
    _theme_problem = Signal(str)  # a theme export or hook failed, from a worker thread

    def __init__(
        self,
        qapp: QApplication,
        env: Mapping[str, str],
        *,
        paths: Paths | None = None,
        secrets: SecretStore | None = None,
        instance: SingleInstance | None = None,
        tray_available: bool | None = None,
        clock: Clock | None = None,
        leave_loop: Callable[[int], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``leave_loop(code)`` ends the event loop after quitting (``qapp.exit``; tests,
        which run no ``exec()``, hand in a recorder)."""
        super().__init__(parent)
        self._theme_problem.connect(self._on_theme_problem)
        self._qapp = qapp
        self._leave_loop = leave_loop or qapp.exit
        self._env = dict(env)
        self._paths = paths or Paths.default()
        self._secrets: SecretStore = secrets if secrets is not None else KeyringSecrets()
        self._instance = instance
        if tray_available is None:
            tray_available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray_available = tray_available
        self._clock: Clock = clock or SystemClock()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(4, QThreadPool.globalInstance().maxThreadCount()))
        self._settings = load_settings(self._paths.settings_file)
        self._state = AppState()
        self._jobs: set[Job] = set()
        self._save_lock = threading.Lock()
        self._settings_to_save: Settings | None = None
        self._resolution = AUTO_RESOLUTION
        self._watched_screen: QScreen | None = None
        self._engine: Engine | None = None
        self._service: LiveService | None = None
        self._controller: AppController | None = None
        self._scheduler: Scheduler | None = None
        self._timer: QtTimer | None = None
        self._wake: WakeWatcher | None = None
        self._network: NetworkWatcher | None = None
        self._tray: TrayIcon | None = None
        self._window: MainWindow | None = None
        self._settings_window: SettingsWindow | None = None
        self._services = AppSettingsServices(
            self._env,
            self._secrets,
            self._pool,
            lambda: self._settings,
            lambda: self._state,
            self._paths,
        )
        self._started = False
        self._quitting = False
        self._shut_down = False
        self._pool_finished = True
        self._prefetched = False

    # -- what tests and main() look at ---------------------------------------------------------

    @property
    def pool(self) -> QThreadPool:
        return self._pool

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def state(self) -> AppState:
        return self._state

    @property
    def controller(self) -> AppController | None:
        return self._controller

    @property
    def scheduler(self) -> Scheduler | None:
        return self._scheduler

    @property
    def tray(self) -> TrayIcon | None:
        return self._tray

    @property
    def window(self) -> MainWindow | None:
        return self._window

    @property
    def settings_window(self) -> SettingsWindow | None:
        return self._settings_window

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def quitting(self) -> bool:
        return self._quitting

    # -- start-up ------------------------------------------------------------------------------

    def start(self) -> None:
        """Check the configuration, then open the engine in the background (``ready``
        follows). Raises ``UsageError`` for a configuration that cannot work."""
        if self._started:
            return
        self._started = True
        for warning in self._settings.warnings:
            log.warning("%s", warning)
        bing_base_url(self._env)  # a bad HUEWALL_BING_URL is a usage error, now
        if self._instance is not None:
            self._instance.activated.connect(self._on_instance_activated)
            self._instance.listen()
        self._qapp.primaryScreenChanged.connect(self._on_qapp_primary_screen_changed)
        self._on_qapp_primary_screen_changed(self._qapp.primaryScreen())
        env, paths, settings, secrets = self._env, self._paths, self._settings, self._secrets
        self._run(
            "open the cache and the service",
            lambda _ctx: open_engine(env, paths, settings, secrets),
            self._on_engine_opened,
            self._on_engine_failed,
        )

    def _on_engine_opened(self, engine: Any) -> None:
        if self._quitting:
            return
        assert isinstance(engine, Engine)
        self._engine = engine
        self._service = LiveService(engine.service)
        controller = AppController(
            cast(WallpaperService, self._service),
            engine.wallpapers,
            self._settings,
            self._pool,
            self.set_wallpaper,
            self.resolution,
            parent=self,
        )
        self._controller = controller
        self._state = controller.state
        controller.state_changed.connect(self._on_controller_state_changed)
        controller.notify.connect(self._on_controller_notify)
        controller.settings_changed.connect(self._on_controller_settings_changed)

        self._timer = QtTimer(parent=self)
        scheduler = Scheduler(self._clock, self._timer, controller.update_now, random.Random())
        self._scheduler = scheduler
        controller.fetch_succeeded.connect(self._on_controller_fetch_succeeded)
        controller.fetch_failed.connect(self._on_controller_fetch_failed)
        self._wake = WakeWatcher(scheduler.check_for_wake, parent=self)
        self._wake.start()
        self._network = NetworkWatcher(scheduler.network_back, parent=self)

        if self._tray_available:
            self._tray = TrayIcon(controller, self.show_settings, self.quit, parent=self)
            self._tray.update(self._state)
            self._tray.show()
        else:
            log.info("no system tray on this desktop; showing the main window")
            self._window = MainWindow(
                controller, self._pool, self.show_settings, self.quit, NO_TRAY_REASON
            )
            self._window.show_state(self._state)
            self._window.show()

        scheduler.configure(
            self._settings.schedule, self._settings.fixed_time, self._settings.paused
        )
        scheduler.start()
        self._show_next_update()
        log.info(
            "ready: Huewall %s (pid %d) with a %s",
            __version__,
            os.getpid(),
            "tray icon" if self._tray is not None else "window (no system tray)",
        )
        self.ready.emit()

    def _on_engine_failed(self, message: str) -> None:
        log.error("cannot start: %s", message)
        print(f"huewall: error: {message}", file=sys.stderr)
        self.failed.emit(message)
        self.quit(EXIT_ERROR)

    # -- the screen decides the rendition --------------------------------------------------------

    def resolution(self) -> str:
        """The rendition to fetch: the setting, or the smallest that covers the primary
        screen in device pixels. Safe from any thread (reads a value kept up to date on
        the GUI thread)."""
        return self._resolution

    def _on_qapp_primary_screen_changed(self, screen: QScreen | None) -> None:
        if self._watched_screen is not None:
            with contextlib.suppress(RuntimeError, TypeError):
                self._watched_screen.geometryChanged.disconnect(self._on_screen_geometry_changed)
        self._watched_screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._on_screen_geometry_changed)
        self._update_resolution()

    def _on_screen_geometry_changed(self, *_args: object) -> None:
        self._update_resolution()

    def _update_resolution(self) -> None:
        if self._settings.resolution != AUTO_RESOLUTION:
            self._resolution = self._settings.resolution
            return
        screen = self._watched_screen
        if screen is None:
            self._resolution = resolution_for_screen(None)
            return
        size, ratio = screen.size(), screen.devicePixelRatio()
        pixels = (round(size.width() * ratio), round(size.height() * ratio))
        self._resolution = resolution_for_screen(pixels)
        log.debug("primary screen %dx%d device pixels: %s", *pixels, self._resolution)

    # -- the wallpaper (called by the controller's jobs, on worker threads) ----------------------

    def set_wallpaper(self, source: Path, wallpaper: Wallpaper | None) -> str:
        engine = self._engine
        if engine is None:
            raise HuewallError("Huewall is still starting")
        return apply_wallpaper(
            self._env,
            self._settings,
            self._paths,
            engine.wallpapers,
            source,
            wallpaper,
            self._theme_problem.emit,  # from a worker: queued to the GUI thread
        )

    # -- controller events ---------------------------------------------------------------------

    def _on_controller_state_changed(self, state: Any) -> None:
        assert isinstance(state, AppState)
        self._state = state
        if self._window is not None:
            self._window.show_state(state)
        # (The tray icon follows ``state_changed`` by itself.)

    def _on_controller_settings_changed(self, settings: Any) -> None:
        # "Pause daily updates" in the tray: remember it and tell the schedule.
        assert isinstance(settings, Settings)
        self._settings = settings
        self._save_settings(settings)
        self._configure_scheduler()

    def _on_controller_fetch_succeeded(self, week: Any) -> None:
        if self._scheduler is not None and isinstance(week, Week):
            self._scheduler.fetch_succeeded(week)
            self._show_next_update()
        if not self._prefetched and self._controller is not None:
            self._prefetched = True
            self._controller.prefetch()  # the other markets, so switching is instant

    def _on_controller_fetch_failed(self, message: str) -> None:
        if self._scheduler is None:
            return
        if self._scheduler.fetch_failed(message):
            self.notify("Huewall could not update the wallpaper", message)
        self._show_next_update()

    def _show_next_update(self) -> None:
        if self._scheduler is not None and self._controller is not None:
            text = next_update_text(self._scheduler.next_due, self._clock.now())
            self._controller.set_next_update(text)

    def _on_theme_problem(self, message: str) -> None:
        self.notify("Huewall: theme not updated", message)

    def _on_controller_notify(self, title: str, message: str) -> None:
        self.notify(title, message)

    def notify(self, title: str, message: str) -> None:
        """A desktop notification from the tray icon, or a line in the main window."""
        log.info("notice: %s: %s", title, message)
        self.noticed.emit(title, message)
        if self._tray is not None:
            self._tray.show_message(title, message)
        elif self._window is not None:
            self._window.show_notice(title, message)

    # -- the settings window ---------------------------------------------------------------------

    def show_settings(self) -> None:
        """Open the settings window, or bring the open one to the front."""
        if self._quitting:
            return
        window = self._settings_window
        if window is None:
            window = SettingsWindow(self._settings, self._services)
            window.saved.connect(self._on_settings_window_saved)
            window.finished.connect(self._on_settings_window_finished)
            self._settings_window = window
        window.show()
        window.raise_()
        window.activateWindow()

    def _on_settings_window_finished(self, _result: int) -> None:
        window, self._settings_window = self._settings_window, None
        if window is not None:
            window.deleteLater()

    def _on_settings_window_saved(self, settings: Any) -> None:
        assert isinstance(settings, Settings)
        log.info("settings saved")
        self.apply_settings(settings)

    def apply_settings(self, settings: Settings) -> None:
        """Save ``settings`` and hand them to everything that depends on them."""
        self._settings = settings
        self._save_settings(settings)
        self._update_resolution()
        if self._controller is not None:
            self._controller.apply_settings(settings)
        self._configure_scheduler()
        self._reload_ai()

    def _configure_scheduler(self) -> None:
        if self._scheduler is not None:
            s = self._settings
            self._scheduler.configure(s.schedule, s.fixed_time, s.paused)
            self._show_next_update()

    def _save_settings(self, settings: Settings) -> None:
        """Write the settings file in the background; the last one asked for wins."""
        with self._save_lock:
            self._settings_to_save = settings
        self._run(
            "save the settings",
            lambda _ctx: self._save_pending_settings(),
            None,
            self._on_save_failed,
        )

    def _save_pending_settings(self) -> None:
        """Write the newest settings not written yet, if any (any thread)."""
        with self._save_lock:
            latest, self._settings_to_save = self._settings_to_save, None
            if latest is not None:
                save_settings(self._paths.settings_file, latest)

    def _on_save_failed(self, message: str) -> None:
        self.notify("Huewall could not save the settings", message)

    def _reload_ai(self) -> None:
        """The AI settings (or the key in the keyring) may have changed: look again, off
        the GUI thread, and swap in a service with the new analyser if they did."""
        engine = self._engine
        if engine is None:
            return
        env, settings, secrets = self._env, self._settings, self._secrets

        def look(_ctx: JobContext) -> AIConfig | None:
            return ai_config_for(settings, env, secrets)

        self._run("read the AI settings", look, self._on_ai_config_read, self._on_ai_config_failed)

    def _on_ai_config_read(self, ai: Any) -> None:
        engine = self._engine
        if engine is None or self._service is None or ai == engine.ai:
            return
        log.info("the AI settings changed; palettes now come from %s", _describe(ai))
        service = build_service(engine.store, engine.locks, engine.client, ai)
        self._engine = replace(engine, ai=ai, service=service)
        self._service.replace(service)
        if self._controller is not None:
            self._controller.refresh()  # the current picture's palette from the new source

    def _on_ai_config_failed(self, message: str) -> None:
        self.notify("Huewall cannot use the AI settings", message)

    def _on_instance_activated(self, message: str) -> None:
        if message == SHOW_SETTINGS:
            self.show_settings()
        else:
            log.warning("ignoring an unknown request from a later start: %r", message)

    # -- background jobs -------------------------------------------------------------------------

    def _run(
        self,
        name: str,
        work: Callable[[JobContext], Any],
        on_success: Callable[[Any], None] | None,
        on_failure: Callable[[str], None] | None,
    ) -> Job:
        job = Job(name, work)
        if on_success is not None:
            job.signals.succeeded.connect(on_success)
        if on_failure is not None:
            job.signals.failed.connect(on_failure)
        job.signals.finished.connect(lambda: self._jobs.discard(job))
        self._jobs.add(job)
        self._pool.start(job)
        return job

    # -- quitting ----------------------------------------------------------------------------------

    def quit(self, code: int = EXIT_OK) -> None:
        """Quit from the menu, the window or a signal: shut down, then leave the loop."""
        if self._quitting:
            return
        self._quitting = True
        log.info("quitting")
        self.shutdown()
        self._leave_loop(code)

    def remove_partial_files(self) -> None:
        """Delete the half-written files of this process's stuck workers."""
        from desktop_app.core.files import remove_own_partials

        paths = self._paths
        for folder in (paths.cache_dir / "images", paths.wallpapers_dir):
            if folder.is_dir():
                removed = remove_own_partials(folder)
                if removed:
                    log.info("removed %d unfinished file(s) in %s", removed, folder)

    def shutdown(self, timeout_ms: int = SHUTDOWN_TIMEOUT_MS) -> bool:
        """Stop the schedule, cancel and wait for background work, take the windows and the
        tray icon down, release the instance lock. Idempotent; False if work was still
        running after ``timeout_ms``."""
        if self._shut_down:
            return self._pool_finished
        self._shut_down = True
        self._quitting = True
        if self._timer is not None:
            self._timer.stop()
        if self._wake is not None:
            self._wake.stop()
        for job in list(self._jobs):
            job.cancel()
        deadline = time.monotonic() + timeout_ms / 1000
        if self._controller is not None:
            self._controller.shutdown(timeout_ms)  # cancels its jobs, waits for the pool
        self._pool.clear()
        left = max(0, int((deadline - time.monotonic()) * 1000))
        self._pool_finished = self._pool.waitForDone(left)
        if not self._pool_finished:
            log.warning("background work did not finish within %d ms", timeout_ms)
        try:
            self._save_pending_settings()  # a save still queued when the pool was cleared
        except HuewallError as exc:
            log.error("%s", exc)
        if self._settings_window is not None:
            self._settings_window.reject()
        if self._window is not None:
            self._window.hide()
        if self._tray is not None:
            self._tray.hide()
        if self._instance is not None:
            self._instance.release()
        log.info("shut down")
        return self._pool_finished


def next_update_text(due: datetime | None, now: datetime) -> str | None:
    """``today at 09:07`` / ``tomorrow at 09:07`` / ``Mon 3 Mar at 09:07`` in local time;
    None when nothing is planned (paused, or a fetch is running)."""
    if due is None:
        return None
    local_due, today = due.astimezone(), now.astimezone().date()
    at = f"{local_due:%H:%M}"
    if local_due.date() <= today:
        return f"today at {at}"
    if local_due.date() == today + timedelta(days=1):
        return f"tomorrow at {at}"
    return f"{local_due:%a} {local_due.day} {local_due:%b} at {at}"


def _describe(ai: AIConfig | None) -> str:
    return "the local analyser" if ai is None else f"{ai.model} at {ai.endpoint}"


# -- the entry point ----------------------------------------------------------------------------


def display_problem(env: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """Why Qt could not show anything here, before it aborts the process trying."""
    if platform in ("win32", "darwin") or env.get("QT_QPA_PLATFORM"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "no display (neither DISPLAY nor WAYLAND_DISPLAY is set); the tray app needs a "
        "desktop session. For the command line, see 'huewall --help'"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huewall", description="Huewall's tray app (run 'huewall --help' for commands)."
    )
    parser.add_argument("--debug", action="store_true", help="log details, also to the console")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the tray app until it quits; the process's exit code."""
    args = build_parser().parse_args(argv)
    env = os.environ
    problem = display_problem(env)
    if problem is not None:
        print(f"huewall: error: {problem}", file=sys.stderr)
        return EXIT_USAGE

    instance = SingleInstance.for_user(env)
    if not instance.acquire():
        # The running instance owns the log file; this one only talks to the console.
        configure_logging(debug=args.debug, console=True, directory=None, to_file=False)
        if instance.send(SHOW_SETTINGS):
            print("huewall: already running; showing its settings", file=sys.stderr)
            return EXIT_OK
        print("huewall: error: Huewall is already running but does not answer", file=sys.stderr)
        return EXIT_ERROR

    log_file = configure_logging(debug=args.debug)
    install_crash_logging()
    log.info("starting Huewall %s (pid %d); log file %s", __version__, os.getpid(), log_file)
    qapp = QApplication(["huewall"])  # argv[0] names the X11 window class
    qapp.setApplicationName("huewall")
    qapp.setApplicationDisplayName("Huewall")
    qapp.setOrganizationName("huewall")
    qapp.setApplicationVersion(__version__)
    qapp.setDesktopFileName("huewall")
    qapp.setWindowIcon(default_icon())
    # The tray (or the main window's own close) decides when to quit, not the last window.
    qapp.setQuitOnLastWindowClosed(False)

    app = HuewallApp(qapp, env, instance=instance)
    signals = QuitSignals()
    signals.received.connect(lambda _signum: app.quit(EXIT_OK))
    try:
        app.start()
    except HuewallError as exc:
        print(f"huewall: error: {exc}", file=sys.stderr)
        instance.release()
        signals.close()
        return exc.exit_code
    code = qapp.exec()
    finished = app.shutdown()
    signals.close()
    log.info("exiting with code %d", code)
    if not finished:
        # A worker is stuck in a call that cannot be interrupted; every file Huewall
        # writes appears whole or not at all, so leaving now loses nothing once this
        # process's own temporary files are gone.
        app.remove_partial_files()
        logging.shutdown()
        os._exit(code)
    return code
