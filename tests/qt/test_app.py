"""The composition root: start-up, the window without a tray, settings, signals, quitting.

In-process tests build a real ``HuewallApp`` (real service, controller, scheduler and
window) against the loopback Bing stand-in; process tests start ``python -m desktop_app``
as a user would and stop it with SIGTERM and SIGINT.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, qInstallMessageHandler, qWarning
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop_app.core.ai_settings import normalise_endpoint
from desktop_app.core.appstate import Status
from desktop_app.core.config import Paths
from desktop_app.core.errors import UsageError
from desktop_app.core.models import resolution_for_screen
from desktop_app.core.settings import load_settings
from desktop_app.qt.app import (
    EXIT_ERROR,
    EXIT_OK,
    HuewallApp,
    QuitSignals,
    display_problem,
    next_update_text,
)
from desktop_app.qt.logging_setup import (
    LOG_MAX_BYTES,
    configure_logging,
    install_crash_logging,
)
from desktop_app.qt.single_instance import SingleInstance, instance_key
from tests.conftest import TEST_KEY, wait_until
from tests.support.bing_server import BingStandIn
from tests.support.openai_server import FakeOpenAIServer
from tests.support.screen import difference, root_window
from tests.support.xvfb import require, xvfb

ROOT = Path(__file__).resolve().parents[2]


class MemorySecrets:
    """The app's ``SecretStore`` interface over a dict (the keyring is tested elsewhere)."""

    def __init__(self, keys: dict[str, str] | None = None) -> None:
        self.keys = dict(keys or {})

    def available(self) -> tuple[bool, str]:
        return True, "a test keyring"

    def get(self, endpoint: str) -> str | None:
        return self.keys.get(normalise_endpoint(endpoint))

    def set(self, endpoint: str, key: str) -> None:
        self.keys[normalise_endpoint(endpoint)] = key

    def delete(self, endpoint: str) -> None:
        self.keys.pop(normalise_endpoint(endpoint), None)


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """A short private folder for instance sockets (their paths are limited)."""
    folder = Path(tempfile.mkdtemp(prefix="hw-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_settings(config_dir: Path, **values: Any) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "settings.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def clean_env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "HUEWALL_AI"))}
    return {**env, **changes}


class Harness:
    """Builds ``HuewallApp``s and shuts every one down at the end of the test."""

    def __init__(self, qapp: QApplication, qtbot: QtBot) -> None:
        self.qapp = qapp
        self.qtbot = qtbot
        self.exits: list[int] = []
        self.apps: list[HuewallApp] = []

    def build(self, env: dict[str, str] | None = None, **kwargs: Any) -> HuewallApp:
        kwargs.setdefault("secrets", MemorySecrets())
        app = HuewallApp(
            self.qapp,
            env if env is not None else clean_env(),
            leave_loop=self.exits.append,
            **kwargs,
        )
        self.apps.append(app)
        return app

    def start(self, app: HuewallApp) -> HuewallApp:
        with self.qtbot.waitSignal(app.ready, timeout=15_000):
            app.start()
        return app

    def first_picture(self, app: HuewallApp) -> None:
        """Wait for the scheduler's catch-up fetch at start."""
        self.qtbot.waitUntil(
            lambda: app.state.current is not None and app.state.status is Status.UP_TO_DATE,
            timeout=15_000,
        )

    def close(self) -> None:
        for app in self.apps:
            assert app.shutdown(5000)
            if app.window is not None:
                app.window.deleteLater()
            if app.settings_window is not None:
                app.settings_window.deleteLater()


@pytest.fixture
def harness(qapp: QApplication, qtbot: QtBot) -> Iterator[Harness]:
    made = Harness(qapp, qtbot)
    try:
        yield made
    finally:
        made.close()


# -- in-process: the app as built by the composition root ---------------------------------------


@pytest.mark.timeout(60)
def test_without_a_tray_the_app_shows_its_window_and_fetches_today(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    write_settings(config_dir, auto_set=False)
    app = harness.start(harness.build())
    assert app.tray is None  # offscreen has no system tray
    window = app.window
    assert window is not None and window.isVisible()
    assert "no tray icons" in window.no_tray.text()

    harness.first_picture(app)
    current = app.state.current
    assert current is not None and current.image.title == "Martimoaapa Finland"
    assert bing.metadata_count("en-US") == 1 and bing.image_count() == 1
    screen = harness.qapp.primaryScreen()
    size, ratio = screen.size(), screen.devicePixelRatio()
    expected = resolution_for_screen((round(size.width() * ratio), round(size.height() * ratio)))
    assert app.resolution() == expected == current.resolution
    # The window follows the state; the schedule planned the next run from the week.
    assert window.title.text() == "Martimoaapa Finland"
    harness.qtbot.waitUntil(lambda: window.preview_loaded, timeout=10_000)
    assert app.scheduler is not None and app.scheduler.next_due is not None
    assert app.state.next_update is not None
    assert app.state.next_update.startswith(("today at", "tomorrow at"))
    assert harness.exits == []


@pytest.mark.timeout(60)
def test_the_window_buttons_reach_the_real_controller_and_setter(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    """No desktop here (no DISPLAY): setting fails with one clear line, shown in the window."""
    write_settings(config_dir, auto_set=False)
    app = harness.start(harness.build())
    harness.first_picture(app)
    window = app.window
    assert window is not None
    harness.qtbot.mouseClick(window.set_today_button, Qt.MouseButton.LeftButton)
    harness.qtbot.waitUntil(lambda: app.state.last_error is not None, timeout=15_000)
    error = app.state.last_error
    assert error is not None and "cannot tell how to set the wallpaper" in error
    assert "\n" not in error
    assert window.error.text() == f"Last error: {error}" and not window.error.isHidden()

    before = bing.metadata_count("en-US")
    harness.qtbot.mouseClick(window.refresh_button, Qt.MouseButton.LeftButton)
    harness.qtbot.waitUntil(lambda: app.state.status is Status.UP_TO_DATE, timeout=15_000)
    assert bing.metadata_count("en-US") == before  # answered from the cache


@pytest.mark.timeout(90)
def test_set_today_puts_the_picture_on_a_real_x_screen(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    """The composition root's ``set_wallpaper`` with the real registry and feh."""
    require("feh")
    write_settings(config_dir, auto_set=False, resolution="1366x768")
    with xvfb(1366, 768) as display:
        env = clean_env(DISPLAY=display, XDG_SESSION_TYPE="x11")
        app = harness.start(harness.build(env))
        harness.first_picture(app)
        assert app.resolution() == "1366x768"
        window = app.window
        assert window is not None
        harness.qtbot.mouseClick(window.set_today_button, Qt.MouseButton.LeftButton)
        current = app.state.current
        assert current is not None
        copies = config_dir.parent.parent / ".local/share/huewall/wallpapers"
        harness.qtbot.waitUntil(lambda: copies.is_dir() and any(copies.iterdir()), timeout=20_000)
        harness.qtbot.waitUntil(
            lambda: difference(root_window(display), current.image_path) < 12, timeout=20_000
        )
        assert app.state.last_error is None


def test_quitting_from_the_window_shuts_down_and_leaves_the_loop(
    harness: Harness, bing: BingStandIn, run_dir: Path
) -> None:
    instance = SingleInstance(instance_key("tester"), run_dir)
    assert instance.acquire()
    app = harness.start(harness.build(instance=instance))
    assert instance.listening
    window = app.window
    assert window is not None
    window.close()
    assert harness.exits == [EXIT_OK]
    assert app.quitting and not instance.listening
    assert app.pool.activeThreadCount() == 0
    # The lock went with it: the next start is a first start.
    assert SingleInstance(instance_key("tester"), run_dir).acquire()
    app.quit()  # again: nothing more happens
    assert harness.exits == [EXIT_OK]


@pytest.mark.timeout(60)
def test_saved_settings_are_written_and_reach_the_controller_and_the_schedule(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    settings_file = write_settings(config_dir, auto_set=False, unknown_key="kept")
    app = harness.start(harness.build())
    harness.first_picture(app)
    app.show_settings()
    window = app.settings_window
    assert window is not None and window.isVisible()
    app.show_settings()  # a second request raises the same window
    assert app.settings_window is window

    new, errors = app.settings.with_changes(
        schedule="fixed", fixed_time="07:30", paused=True, resolution="1280x720"
    )
    assert errors == {}
    window.saved.emit(new)
    harness.qtbot.waitUntil(lambda: load_settings(settings_file) == new, timeout=10_000)
    assert json.loads(settings_file.read_text())["unknown_key"] == "kept"
    assert app.settings == new
    assert app.controller is not None and app.controller.settings == new
    assert app.scheduler is not None and app.scheduler.paused
    assert app.scheduler.next_due is None and app.state.next_update is None
    assert app.resolution() == "1280x720"


@pytest.mark.timeout(60)
def test_pausing_from_the_tray_menu_is_remembered(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    settings_file = write_settings(config_dir, auto_set=False)
    app = harness.start(harness.build())
    harness.first_picture(app)
    assert app.controller is not None and app.scheduler is not None
    app.controller.set_paused(True)
    harness.qtbot.waitUntil(lambda: load_settings(settings_file).paused, timeout=10_000)
    assert app.scheduler.paused and app.settings.paused
    app.controller.set_paused(False)
    harness.qtbot.waitUntil(lambda: not load_settings(settings_file).paused, timeout=10_000)
    assert not app.scheduler.paused


@pytest.mark.timeout(60)
def test_a_pause_just_before_quitting_is_not_lost(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    settings_file = write_settings(config_dir, auto_set=False)
    app = harness.start(harness.build())
    assert app.controller is not None
    app.controller.set_paused(True)
    app.quit()  # no event loop turn in between
    assert harness.exits == [EXIT_OK]
    assert load_settings(settings_file).paused


@pytest.mark.timeout(60)
def test_a_later_start_opens_the_settings_window(
    harness: Harness, bing: BingStandIn, run_dir: Path
) -> None:
    instance = SingleInstance(instance_key("tester"), run_dir)
    assert instance.acquire()
    app = harness.start(harness.build(instance=instance))
    assert app.settings_window is None
    later = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; "
            "from desktop_app.qt.single_instance import SingleInstance, SHOW_SETTINGS; "
            "print(SingleInstance(sys.argv[1], Path(sys.argv[2])).send(SHOW_SETTINGS))",
            instance.key,
            str(run_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    harness.qtbot.waitUntil(
        lambda: app.settings_window is not None and app.settings_window.isVisible(),
        timeout=15_000,
    )
    out, _ = later.communicate(timeout=15)
    assert out.strip() == "True"


@pytest.mark.timeout(90)
def test_new_ai_settings_swap_the_palette_source_without_a_restart(
    harness: Harness, bing: BingStandIn, config_dir: Path, openai_server: FakeOpenAIServer
) -> None:
    write_settings(config_dir, auto_set=False)
    secrets = MemorySecrets()
    # The environment's OPENAI_* (set by the fixture) are left out: local palette first.
    app = harness.start(harness.build(clean_env(), secrets=secrets))
    harness.first_picture(app)
    current = app.state.current
    assert current is not None and current.palette.source == "local"
    assert openai_server.count == 0

    secrets.set(openai_server.base_url, TEST_KEY)  # as the settings window's Save does
    new, errors = app.settings.with_changes(
        ai_provider="custom", ai_base_url=openai_server.base_url, ai_model="vision-test"
    )
    assert errors == {}
    app.apply_settings(new)
    harness.qtbot.waitUntil(
        lambda: app.state.current is not None and app.state.current.palette.source == "ai",
        timeout=30_000,
    )
    assert openai_server.count == 1
    assert openai_server.last_headers["authorization"] == f"Bearer {TEST_KEY}"
    assert openai_server.last_body["model"] == "vision-test"
    assert app.engine is not None and app.engine.ai is not None
    assert app.engine.ai.model == "vision-test"
    assert bing.image_count() == 1  # the same picture, only a new palette


@pytest.mark.timeout(60)
def test_the_settings_services_test_the_ai_with_one_real_call(
    harness: Harness, bing: BingStandIn, config_dir: Path, openai_server: FakeOpenAIServer
) -> None:
    write_settings(config_dir, auto_set=False)
    app = harness.build(clean_env())
    services = app._services  # what the settings window is handed
    line = services.test_ai("custom", openai_server.base_url, "vision-test", "sk-typed-in")
    assert line.startswith("OK: #") and "vision-test" in line
    assert openai_server.count == 1
    assert openai_server.last_headers["authorization"] == "Bearer sk-typed-in"
    with pytest.raises(UsageError):
        services.test_ai("none", "", "x", None)
    assert services.markets()["en-US"]
    assert "x11" in services.backend_names()
    assert "Session:" in services.backend_report()


@pytest.mark.timeout(60)
def test_with_a_tray_the_menu_is_wired_to_the_app(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    """Offscreen has no tray host, but the icon and its menu can still be built."""
    write_settings(config_dir, auto_set=False)
    app = harness.start(harness.build(tray_available=True))
    tray = app.tray
    assert tray is not None and app.window is None
    harness.first_picture(app)
    harness.qtbot.waitUntil(lambda: "Martimoaapa Finland" in tray.tray.toolTip(), timeout=10_000)
    tray.actions["settings"].trigger()
    assert app.settings_window is not None and app.settings_window.isVisible()
    tray.actions["quit"].trigger()
    assert harness.exits == [EXIT_OK]
    assert app.settings_window is None or not app.settings_window.isVisible()


@pytest.mark.timeout(60)
def test_failed_fetches_notify_once_and_the_schedule_backs_off(
    harness: Harness, bing: BingStandIn, config_dir: Path
) -> None:
    write_settings(config_dir, auto_set=False)
    bing.set_fault("metadata", "500")
    app = harness.build()
    notices: list[tuple[str, str]] = []
    app.noticed.connect(lambda title, message: notices.append((title, message)))
    harness.start(app)
    scheduler, controller = app.scheduler, app.controller
    assert scheduler is not None and controller is not None
    harness.qtbot.waitUntil(lambda: scheduler.failures == 1, timeout=15_000)
    assert [title for title, _ in notices] == ["Huewall could not update the wallpaper"]
    assert "500" in notices[0][1] and "\n" not in notices[0][1]
    assert app.state.last_error is not None and app.state.status in (Status.ERROR, Status.OFFLINE)
    window = app.window
    assert window is not None and not window.error.isHidden()
    assert app._services.last_error() == app.state.last_error  # the settings window's view
    # Retried later (backoff: a minute), not at once.
    assert scheduler.next_due is not None
    wait = (scheduler.next_due - datetime.now(timezone.utc)).total_seconds()
    assert 50 < wait <= 61
    # The next failure in the same run is not announced again.
    with harness.qtbot.waitSignal(controller.fetch_failed, timeout=15_000):
        controller.update_now()
    assert scheduler.failures == 2 and len(notices) == 1
    # Bing is back: a success resets the run.
    bing.set_fault("metadata", None)
    with harness.qtbot.waitSignal(controller.fetch_succeeded, timeout=15_000):
        controller.update_now()
    assert scheduler.failures == 0 and app.state.status is Status.UP_TO_DATE


def test_a_bad_bing_url_is_a_usage_error_at_start(harness: Harness) -> None:
    app = harness.build(clean_env(HUEWALL_BING_URL="http://bing.example.com"))
    with pytest.raises(UsageError, match="plain http"):
        app.start()


@pytest.mark.timeout(30)
def test_a_cache_that_cannot_be_opened_ends_the_app_with_an_error(
    harness: Harness, bing: BingStandIn, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    paths = Paths(cache_dir=blocked, config_dir=tmp_path / "config", data_dir=tmp_path / "data")
    app = harness.build(paths=paths)
    with harness.qtbot.waitSignal(app.failed, timeout=15_000) as failure:
        app.start()
    assert "cannot create the cache folder" in failure.args[0]
    assert harness.exits == [EXIT_ERROR]
    assert app.controller is None and app.window is None


def test_quit_signals_reach_the_event_loop(qtbot: QtBot) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    signals = QuitSignals()
    try:
        with qtbot.waitSignal(signals.received, timeout=5000) as term:
            os.kill(os.getpid(), signal.SIGTERM)
        with qtbot.waitSignal(signals.received, timeout=5000) as interrupt:
            os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt inside Qt
    finally:
        signals.close()
    assert term.args == [signal.SIGTERM] and interrupt.args == [signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) == previous


def test_next_update_text() -> None:
    now = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
    local = now.astimezone()
    assert next_update_text(None, now) is None
    later_today = local.replace(hour=23, minute=59)
    assert next_update_text(later_today, now) == "today at 23:59"
    tomorrow = (local + timedelta(days=1)).replace(hour=8, minute=7)
    assert next_update_text(tomorrow, now) == "tomorrow at 08:07"
    far = local + timedelta(days=3)
    assert next_update_text(far, now) == f"{far:%a} {far.day} {far:%b} at {far:%H:%M}"


def test_without_any_display_the_tray_app_says_so() -> None:
    assert display_problem({}, "linux") is not None
    assert display_problem({"DISPLAY": ":0"}, "linux") is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert display_problem({}, "win32") is None


# -- logging ------------------------------------------------------------------------------------


@pytest.fixture
def restored_logging() -> Iterator[logging.Logger]:
    """``configure_logging`` changes the process's ``huewall`` logger: put it back."""
    logger = logging.getLogger("huewall")
    saved = (logger.handlers[:], logger.level, logger.propagate, sys.excepthook)
    try:
        yield logger
    finally:
        for handler in logger.handlers[:]:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
        sys.excepthook = saved[3]
        qInstallMessageHandler(None)


def test_the_log_goes_to_the_user_log_dir_and_rotates_at_about_1_mb(
    restored_logging: logging.Logger, isolated_home: Path
) -> None:
    path = configure_logging(console=False)
    assert path == isolated_home / ".local/state/huewall/log/huewall.log"
    assert [type(h) for h in restored_logging.handlers] == [RotatingFileHandler]
    line = "x" * 1000
    for _ in range(4500):  # about 4.5 MB
        logging.getLogger("huewall.test").info("%s", line)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["huewall.log", "huewall.log.1", "huewall.log.2", "huewall.log.3"]
    assert all(p.stat().st_size <= LOG_MAX_BYTES for p in path.parent.iterdir())


def test_debug_adds_the_console_and_a_second_start_writes_no_file(
    restored_logging: logging.Logger, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(debug=True)
    assert restored_logging.level == logging.DEBUG
    logging.getLogger("huewall.test").debug("details only with --debug")
    assert "details only with --debug" in capsys.readouterr().err
    assert configure_logging(to_file=False, console=True) is None
    assert [type(h) for h in restored_logging.handlers] == [logging.StreamHandler]


def test_an_unwritable_log_folder_falls_back_to_the_console(
    restored_logging: logging.Logger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert configure_logging(directory=blocked / "log", console=False) is None
    assert "cannot write the log file" in capsys.readouterr().err


def test_qt_warnings_and_uncaught_exceptions_reach_the_log(
    restored_logging: logging.Logger, tmp_path: Path
) -> None:
    path = configure_logging(directory=tmp_path, console=False)
    assert path is not None
    install_crash_logging()
    qWarning("a warning from Qt")
    qWarning("This plugin does not support propagateSizeHints()")  # offscreen noise
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())  # type: ignore[arg-type]
    for handler in restored_logging.handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "WARNING huewall.qt [MainThread] a warning from Qt" in text
    assert "propagateSizeHints" not in text
    assert "CRITICAL huewall [MainThread] uncaught exception" in text
    assert "RuntimeError: boom in a slot" in text


# -- real processes: start as a user would, stop with a signal ----------------------------------


def app_env(home: Path, run_dir: Path, **changes: str) -> dict[str, str]:
    env = clean_env(
        XDG_RUNTIME_DIR=str(run_dir),
        QT_QPA_PLATFORM="offscreen",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DISPLAY", None)
    return {**env, **changes}


def log_text(home: Path) -> str:
    path = home / ".local/state/huewall/log/huewall.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def start_app(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "desktop_app", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=10)


def partial_files(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.name.endswith(".partial")]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_app_process_quits_cleanly_on_a_signal(
    signum: signal.Signals,
    bing: BingStandIn,
    isolated_home: Path,
    config_dir: Path,
    run_dir: Path,
) -> None:
    write_settings(config_dir, auto_set=False)
    env = app_env(isolated_home, run_dir)
    process = start_app(env)
    try:
        images = isolated_home / ".cache/huewall/images"
        wait_until(
            lambda: "ready: Huewall" in log_text(isolated_home) or process.poll() is not None,
            timeout=30,
            what="the app to start",
        )
        assert process.poll() is None, process.communicate()
        wait_until(lambda: any(images.glob("*.jpg")), timeout=30, what="the first picture")
        socket_path = run_dir / instance_key()
        assert socket_path.exists()

        sent = time.monotonic()
        process.send_signal(signum)
        code = process.wait(10)
        took = time.monotonic() - sent
    finally:
        stop(process)
    print(f"{signum.name}: exit {code} after {took:.2f} s")
    log = log_text(isolated_home)
    assert code == 0, log[-2000:]
    assert took < 10
    assert f"received {signum.name}" in log and "shut down" in log
    assert "exiting with code 0" in log
    assert "Traceback" not in log
    assert not socket_path.exists()  # the instance socket went with it
    assert partial_files(isolated_home) == []


@pytest.mark.timeout(60)
def test_a_second_start_hands_over_and_exits_zero(
    bing: BingStandIn, isolated_home: Path, config_dir: Path, run_dir: Path
) -> None:
    write_settings(config_dir, auto_set=False)
    env = app_env(isolated_home, run_dir)
    first = start_app(env)
    try:
        wait_until(
            lambda: "ready: Huewall" in log_text(isolated_home) or first.poll() is not None,
            timeout=30,
            what="the first instance",
        )
        second = subprocess.run(
            [sys.executable, "-m", "desktop_app"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stderr
        wait_until(
            lambda: "a later start asked: show-settings" in log_text(isolated_home),
            timeout=10,
            what="the hand-over",
        )
        assert first.poll() is None  # the first one keeps running
        first.send_signal(signal.SIGTERM)
        assert first.wait(10) == 0
    finally:
        stop(first)


@pytest.mark.timeout(60)
def test_a_stalled_download_does_not_hold_up_quitting(
    bing: BingStandIn, isolated_home: Path, config_dir: Path, run_dir: Path
) -> None:
    """A worker stuck in a network read cannot be interrupted; quitting still ends the
    process within seconds, and no half picture ends up under a picture's name."""
    write_settings(config_dir, auto_set=False)
    bing.set_fault("image", "stall")
    process = start_app(app_env(isolated_home, run_dir))
    try:
        assert bing.wait_for_stall(30), "the download never started"
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(10)
        took = time.monotonic() - sent
    finally:
        stop(process)
        bing.release()
    print(f"stalled download: exit {code} after {took:.2f} s")
    assert code == 0
    assert took < 10
    assert "did not finish within" in log_text(isolated_home)
    images = isolated_home / ".cache/huewall/images"
    assert list(images.glob("*.jpg")) == []
    assert partial_files(isolated_home) == [], "the stuck download's temporary file stays"


def test_the_cli_commands_do_not_start_the_tray(bing: BingStandIn) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app", "locales"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0 and "en-US" in result.stdout


@pytest.mark.timeout(30)
def test_no_command_without_a_display_is_one_line_not_a_qt_abort(
    isolated_home: Path, run_dir: Path
) -> None:
    env = app_env(isolated_home, run_dir)
    env.pop("QT_QPA_PLATFORM")
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-m", "desktop_app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("huewall: error: no display")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_settings_window_turns_start_at_login_on_and_off(isolated_home: Path) -> None:
    from PySide6.QtCore import QThreadPool

    from desktop_app.core.appstate import AppState
    from desktop_app.core.settings import Settings
    from desktop_app.platform.secrets import KeyringSecrets
    from desktop_app.qt.app import AppSettingsServices

    services = AppSettingsServices(
        dict(os.environ), KeyringSecrets(), QThreadPool(), Settings, AppState
    )
    entry = isolated_home / ".config/autostart/io.github.huewall.Huewall.desktop"
    assert services.autostart_status()[0] is False
    services.set_autostart(True)
    enabled, where = services.autostart_status()
    assert enabled and entry.is_file() and str(entry) in where
    services.set_autostart(False)
    assert services.autostart_status()[0] is False and not entry.exists()


def test_the_app_updates_the_theme_after_a_set_and_reports_a_failing_hook(
    bing: BingStandIn, make_service: Any, isolated_home: Path, tmp_path: Path
) -> None:
    from desktop_app.core.locks import KeyedLocks
    from desktop_app.core.models import DaysAgo
    from desktop_app.core.settings import Settings
    from desktop_app.core.wallpapers import WallpaperFolder
    from desktop_app.qt.app import apply_wallpaper
    from tests.support.standins import StandIns

    tools = StandIns(tmp_path / "standins")
    tools.add("feh")
    service = make_service()
    wallpaper = service.get("en-US", DaysAgo(0), "1366x768")
    paths = Paths.default()
    folder = WallpaperFolder(paths.wallpapers_dir, service.store, KeyedLocks(tmp_path / "locks"))
    env = {**os.environ, **tools.env, "DISPLAY": ":0"}
    env.pop("XDG_CURRENT_DESKTOP", None)
    settings, errors = Settings().with_changes(
        hook=[sys.executable, "-c", "import sys; sys.exit('hook says no')"]
    )
    assert errors == {}
    problems: list[str] = []
    line = apply_wallpaper(
        env, settings, paths, folder, wallpaper.image_path, wallpaper, problems.append
    )
    assert "with X11 root window" in line and len(tools.calls()) == 1
    theme = paths.cache_dir / "theme"
    assert json.loads((theme / "colors.json").read_text()) == wallpaper.to_json()
    assert problems == [
        f"the hook '{sys.executable}' failed (exit 1): hook says no; the wallpaper stays set"
    ]
