"""The settings window, offscreen, with a fake ``SettingsServices`` on a real QThreadPool.

The fake stands for the app at the window's one interface; it records what the window
asks and on which thread, and can hold a call open (``gate``) to look at the window
while the work is still running.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from PySide6.QtCore import QObject, QPoint, Qt, QThreadPool, QTime
from PySide6.QtGui import QColor, QFontInfo, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QTimeEdit,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_app.core.errors import PaletteError, StoreError
from desktop_app.core.markets import MARKETS
from desktop_app.core.palette.ai import DEFAULT_BASE_URL
from desktop_app.core.palette.base import Palette
from desktop_app.core.settings import Settings
from desktop_app.qt.settings_window import PAGES, SettingsWindow
from desktop_app.qt.widgets import GradientBar
from tests.support.bing_server import photo_jpeg

W = TypeVar("W", bound=QObject)
WAIT_MS = 10_000
LOCAL_URL = "http://127.0.0.1:11434/v1"
REPORT = (
    "Session:     platform linux, XDG_CURRENT_DESKTOP=xfce, X11\n"
    "Backend:     xfce = XFCE (xfconf-query) (XDG_CURRENT_DESKTOP is xfce); ready\n"
    "Lock screen: supported: no; set it too: no\n"
    "All backends:\n"
    "  gnome     does not fit; ready; tools: gsettings found\n"
    "  xfce      fits: XDG_CURRENT_DESKTOP is xfce; ready; tools: xfconf-query found\n"
    "  x11       fits: an X11 display; ready; tools: feh found, xwallpaper found\n"
)
SAMPLE = Settings(
    main_market="ja-JP",
    markets=("de-DE", "ja-JP"),
    resolution="1920x1080",
    auto_set=True,
    schedule="fixed",
    fixed_time="06:45",
    lock_screen=True,
    wallpaper_backend="x11",
    ai_provider="custom",
    ai_base_url=LOCAL_URL,
    ai_model="llava",
    notify=False,
)


class FakeServices:
    """``SettingsServices`` for tests: canned answers, a record of calls and threads."""

    def __init__(self, pool: QThreadPool) -> None:
        self._pool = pool
        self.keyring: tuple[bool, str] = (True, "Secret Service (GNOME Keyring)")
        self.keys: dict[str, str] = {}
        self.key_reads: list[str] = []
        self.stored: list[tuple[str, str | None]] = []
        self.store_error: Exception | None = None
        self.report = REPORT
        self.test_answer: str | Exception = "OK: #aabbcc → #ddeeff, 135°"
        self.test_calls: list[tuple[str, str, str, str | None]] = []
        self.picture: Path | None = None
        self.palette: Palette | None = None
        self.error: str | None = None
        self.autostart = False
        self.opened: list[str] = []
        self.hook_calls: list[list[str]] = []
        self.hook_error: Exception | None = None
        self.autostart_changes: list[bool] = []
        self.autostart_error: Exception | None = None
        # Cleared by a test to hold that call open until the test sets it again.
        self.gates = {name: threading.Event() for name in ("report", "test", "store")}
        for gate in self.gates.values():
            gate.set()
        self.on_gui_thread: dict[str, bool] = {}
        self._lock = threading.Lock()

    def _note(self, name: str) -> None:
        with self._lock:
            self.on_gui_thread[name] = threading.current_thread() is threading.main_thread()

    def _wait(self, name: str) -> None:
        if not self.gates[name].wait(WAIT_MS / 1000):
            raise AssertionError(f"the test never opened the {name} gate")

    def markets(self) -> Mapping[str, str]:
        return MARKETS

    def backend_names(self) -> list[str]:
        return ["gnome", "kde", "x11", "xfce"]

    def backend_report(self) -> str:
        self._note("backend_report")
        self._wait("report")
        return self.report

    def keyring_status(self) -> tuple[bool, str]:
        self._note("keyring_status")
        return self.keyring

    def api_key(self, endpoint: str) -> str | None:
        self._note("api_key")
        self.key_reads.append(endpoint)
        return self.keys.get(endpoint)

    def store_api_key(self, endpoint: str, key: str | None) -> None:
        self._note("store_api_key")
        self._wait("store")
        if self.store_error is not None:
            raise self.store_error
        self.stored.append((endpoint, key))

    def test_ai(self, provider: str, base_url: str, model: str, key: str | None) -> str:
        self._note("test_ai")
        self.test_calls.append((provider, base_url, model, key))
        self._wait("test")
        if isinstance(self.test_answer, Exception):
            raise self.test_answer
        return self.test_answer

    def theme_folders(self) -> tuple[str, str]:
        return "/home/you/.cache/huewall/theme", "/home/you/.config/huewall/templates"

    def open_folder(self, path: str) -> None:
        self.opened.append(path)

    def theme_preview(self) -> tuple[str, ...] | None:
        self._note("theme_preview")
        return tuple(f"#{i:02x}{i:02x}{i:02x}" for i in range(0, 160, 10))

    def test_hook(self, hook: Sequence[str]) -> str:
        self._note("test_hook")
        self.hook_calls.append(list(hook))
        if self.hook_error is not None:
            raise self.hook_error
        return f"OK: '{hook[0]}' ran and exited 0"

    def autostart_status(self) -> tuple[bool, str]:
        self._note("autostart_status")
        return self.autostart, "~/.config/autostart/io.github.huewall.Huewall.desktop"

    def set_autostart(self, enabled: bool) -> None:
        self._note("set_autostart")
        if self.autostart_error is not None:
            raise self.autostart_error
        self.autostart_changes.append(enabled)
        self.autostart = enabled

    def pool(self) -> QThreadPool:
        return self._pool

    def preview(self) -> tuple[Path | None, Palette | None]:
        self._note("preview")
        return self.picture, self.palette

    def last_error(self) -> str | None:
        return self.error


@pytest.fixture
def pool() -> Iterator[QThreadPool]:
    pool = QThreadPool()
    pool.setMaxThreadCount(4)
    yield pool
    assert pool.waitForDone(WAIT_MS), "a settings job never finished"


@pytest.fixture
def services(pool: QThreadPool) -> Iterator[FakeServices]:
    fake = FakeServices(pool)
    yield fake
    for gate in fake.gates.values():  # never leave a pool thread waiting
        gate.set()


def child(window: QWidget, kind: type[W], name: str) -> W:
    found = window.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} named {name!r}"
    return found


def button(window: QWidget, name: str) -> QPushButton:
    return child(window, QPushButton, name)


@pytest.fixture
def open_window(qtbot: QtBot, services: FakeServices) -> Callable[..., SettingsWindow]:
    """Show a settings window; by default wait until the keyring has been read."""

    def make(settings: Settings = SAMPLE, *, wait_for_keyring: bool = True) -> SettingsWindow:
        window = SettingsWindow(settings, services)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if wait_for_keyring:
            note = child(window, QLabel, "keyring_note")
            qtbot.waitUntil(lambda: note.text() != "", timeout=WAIT_MS)
        return window

    return make


def ticked(window: SettingsWindow) -> set[str]:
    markets = child(window, QListWidget, "markets")
    return {
        markets.item(row).data(Qt.ItemDataRole.UserRole)
        for row in range(markets.count())
        if markets.item(row).checkState() == Qt.CheckState.Checked
    }


def visible_markets(window: SettingsWindow) -> list[str]:
    markets = child(window, QListWidget, "markets")
    return [
        markets.item(row).data(Qt.ItemDataRole.UserRole)
        for row in range(markets.count())
        if not markets.item(row).isHidden()
    ]


def toggle_market(qtbot: QtBot, window: SettingsWindow, code: str) -> None:
    """Search for the market, press Return (to the list), then Space on it: as a user would."""
    search = child(window, QLineEdit, "market_filter")
    markets = child(window, QListWidget, "markets")
    window.tabs.setCurrentIndex(0)
    search.setFocus()
    search.clear()
    qtbot.keyClicks(search, code)
    qtbot.keyClick(search, Qt.Key.Key_Return)
    assert window.focusWidget() is markets, "Return in the search field goes to the list"
    rows = [
        r for r in range(markets.count()) if markets.item(r).data(Qt.ItemDataRole.UserRole) == code
    ]
    markets.setCurrentRow(rows[0])
    qtbot.keyClick(markets, Qt.Key.Key_Space)
    search.clear()


def choose(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    assert index >= 0, f"{value!r} is not offered"
    combo.setCurrentIndex(index)


def replace_text(qtbot: QtBot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    if text:
        qtbot.keyClicks(edit, text)
    edit.editingFinished.emit()  # what leaving the field does


def assert_shows(window: SettingsWindow, settings: Settings) -> None:
    assert ticked(window) == set(settings.markets) | {settings.main_market}
    assert child(window, QComboBox, "main_market").currentData() == settings.main_market
    assert child(window, QComboBox, "resolution").currentData() == settings.resolution
    assert child(window, QCheckBox, "auto_set").isChecked() == settings.auto_set
    fixed = child(window, QRadioButton, "schedule_fixed")
    assert fixed.isChecked() == (settings.schedule == "fixed")
    assert child(window, QRadioButton, "schedule_publish").isChecked() != fixed.isChecked()
    time_edit = child(window, QTimeEdit, "fixed_time")
    assert time_edit.time().toString("HH:mm") == settings.fixed_time
    assert child(window, QCheckBox, "lock_screen").isChecked() == settings.lock_screen
    assert child(window, QComboBox, "wallpaper_backend").currentData() == settings.wallpaper_backend
    assert child(window, QComboBox, "ai_provider").currentData() == settings.ai_provider
    assert child(window, QLineEdit, "ai_base_url").text() == settings.ai_base_url
    assert child(window, QLineEdit, "ai_model").text() == settings.ai_model
    assert child(window, QCheckBox, "notify").isChecked() == settings.notify


def test_fields_show_the_settings(open_window: Callable[..., SettingsWindow]) -> None:
    window = open_window(SAMPLE)
    assert [window.tabs.tabText(i).replace("&", "") for i in range(len(PAGES))] == list(PAGES)
    assert_shows(window, SAMPLE)
    main = child(window, QComboBox, "main_market")
    # The main market is chosen among the ticked ones only.
    assert sorted(main.itemData(i) for i in range(main.count())) == ["de-DE", "ja-JP"]
    # The ticked markets come first, in their saved order.
    assert visible_markets(window)[:2] == ["de-DE", "ja-JP"]
    assert child(window, QTimeEdit, "fixed_time").isEnabled()
    assert child(window, QLineEdit, "ai_base_url").isEnabled()
    assert child(window, QLineEdit, "api_key").echoMode() == QLineEdit.EchoMode.Password
    assert child(window, QLabel, "markets_count").text() == "2 ticked"


def test_defaults_start_from_the_system_locale(
    open_window: Callable[..., SettingsWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    window = open_window(Settings())
    assert ticked(window) == {"fr-FR"}
    assert child(window, QComboBox, "main_market").currentData() == "fr-FR"
    assert child(window, QComboBox, "resolution").currentData() == "auto"
    assert not child(window, QTimeEdit, "fixed_time").isEnabled()  # publish time
    assert child(window, QComboBox, "ai_provider").currentData() == "none"
    assert not child(window, QLineEdit, "ai_base_url").isEnabled()
    assert not child(window, QLineEdit, "ai_model").isEnabled()
    assert not child(window, QLineEdit, "api_key").isEnabled()
    assert not button(window, "test_ai").isEnabled()


def test_search_filters_markets(qtbot: QtBot, open_window: Callable[..., SettingsWindow]) -> None:
    window = open_window(SAMPLE)
    search = child(window, QLineEdit, "market_filter")
    everything = visible_markets(window)
    assert len(everything) == len(MARKETS)

    qtbot.keyClicks(search, "japan")
    assert visible_markets(window) == ["ja-JP"]
    search.clear()
    qtbot.keyClicks(search, "DE-")  # codes match too, whatever the case
    assert sorted(visible_markets(window)) == ["de-AT", "de-CH", "de-DE"]
    search.clear()
    qtbot.keyClicks(search, "nowhere")
    assert visible_markets(window) == []
    search.clear()
    assert visible_markets(window) == everything
    assert ticked(window) == {"de-DE", "ja-JP"}  # filtering never changes the choice

    toggle_market(qtbot, window, "en-GB")
    assert ticked(window) == {"de-DE", "ja-JP", "en-GB"}
    main = child(window, QComboBox, "main_market")
    assert main.findData("en-GB") >= 0
    assert window.isVisible(), "Return in the search field must not press Save"


@pytest.mark.timeout(30)
def test_save_emits_the_validated_settings(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    window = open_window(SAMPLE)
    toggle_market(qtbot, window, "en-GB")
    choose(child(window, QComboBox, "main_market"), "en-GB")
    choose(child(window, QComboBox, "resolution"), "auto")
    child(window, QTimeEdit, "fixed_time").setTime(QTime(21, 5))
    qtbot.mouseClick(child(window, QCheckBox, "lock_screen"), Qt.MouseButton.LeftButton)
    choose(child(window, QComboBox, "wallpaper_backend"), "gnome")
    choose(child(window, QComboBox, "ai_provider"), "openai")
    replace_text(qtbot, child(window, QLineEdit, "ai_model"), "gpt-4.1-mini")
    child(window, QCheckBox, "notify").setChecked(True)

    with qtbot.waitSignal(window.saved, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)

    saved = blocker.args[0]
    assert isinstance(saved, Settings)
    assert saved == Settings(
        main_market="en-GB",
        markets=("de-DE", "ja-JP", "en-GB"),  # saved order, then the newly ticked
        resolution="auto",
        auto_set=True,
        schedule="fixed",
        fixed_time="21:05",
        lock_screen=False,
        wallpaper_backend="gnome",
        ai_provider="openai",
        ai_base_url=LOCAL_URL,  # kept for when the user switches back to "custom"
        ai_model="gpt-4.1-mini",
        notify=True,
    )
    assert window.result() == QDialog.DialogCode.Accepted
    assert not window.isVisible()
    assert services.stored == []  # the key was not touched


BreakIt = Callable[[QtBot, SettingsWindow], None]


def _untick_all(qtbot: QtBot, window: SettingsWindow) -> None:
    for code in sorted(ticked(window)):
        toggle_market(qtbot, window, code)


def _untick_main(qtbot: QtBot, window: SettingsWindow) -> None:
    toggle_market(qtbot, window, "ja-JP")
    main = child(window, QComboBox, "main_market")
    assert main.currentData() == "ja-JP" and "not ticked" in main.currentText()


def _ftp_url(qtbot: QtBot, window: SettingsWindow) -> None:
    replace_text(qtbot, child(window, QLineEdit, "ai_base_url"), "ftp://x")


def _no_url(qtbot: QtBot, window: SettingsWindow) -> None:
    replace_text(qtbot, child(window, QLineEdit, "ai_base_url"), "")


def _empty_model(qtbot: QtBot, window: SettingsWindow) -> None:
    replace_text(qtbot, child(window, QLineEdit, "ai_model"), "   ")


@pytest.mark.parametrize(
    ("break_it", "field", "focus", "page", "message"),
    [
        (_untick_all, "markets", "markets", 0, "at least one market"),
        (_untick_main, "main_market", "main_market", 0, "one of the ticked markets"),
        (_ftp_url, "ai_base_url", "ai_base_url", 2, "http:// or https://"),
        (_no_url, "ai_base_url", "ai_base_url", 2, "Enter the server's URL"),
        (_empty_model, "ai_model", "ai_model", 2, "model name"),
    ],
    ids=["no-market", "main-not-ticked", "ftp-url", "no-url", "empty-model"],
)
def test_invalid_input_is_shown_beside_its_field(
    qtbot: QtBot,
    open_window: Callable[..., SettingsWindow],
    break_it: BreakIt,
    field: str,
    focus: str,
    page: int,
    message: str,
) -> None:
    window = open_window(SAMPLE)
    break_it(qtbot, window)
    window.tabs.setCurrentIndex(3)  # Save from another page

    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)

    assert window.isVisible()
    error = child(window, QLabel, f"{field}_error")
    assert error.isVisible()
    assert message in error.text()
    assert "#c62828" in error.styleSheet() or "#ff7b72" in error.styleSheet()  # red
    assert window.tabs.currentIndex() == page, "the page with the first bad field is shown"
    assert window.focusWidget() is child(window, QWidget, focus)
    others = [
        label.objectName()
        for label in window.findChildren(QLabel)
        if label.objectName().endswith("_error") and label.isVisible() and label is not error
    ]
    assert others == []


@pytest.mark.timeout(30)
def test_errors_go_away_once_fixed(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow]
) -> None:
    window = open_window(SAMPLE)
    _untick_all(qtbot, window)
    _empty_model(qtbot, window)
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert not child(window, QLabel, "markets_error").isHidden()
    assert not child(window, QLabel, "ai_model_error").isHidden()
    assert window.tabs.currentIndex() == 0  # the first bad field wins

    toggle_market(qtbot, window, "it-IT")
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert child(window, QLabel, "markets_error").isHidden()
    # ja-JP, the main market, is still unticked: the user chooses again.
    assert not child(window, QLabel, "main_market_error").isHidden()
    assert window.tabs.currentIndex() == 0

    choose(child(window, QComboBox, "main_market"), "it-IT")
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert child(window, QLabel, "main_market_error").isHidden()
    assert not child(window, QLabel, "ai_model_error").isHidden()
    assert window.tabs.currentIndex() == 2

    replace_text(qtbot, child(window, QLineEdit, "ai_model"), "llava:13b")
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS) as blocker:
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert blocker.args[0].markets == ("it-IT",)
    assert blocker.args[0].main_market == "it-IT"
    assert blocker.args[0].ai_model == "llava:13b"


@pytest.mark.parametrize("how", ["cancel", "escape", "close"])
def test_cancel_changes_nothing(
    qtbot: QtBot,
    open_window: Callable[..., SettingsWindow],
    services: FakeServices,
    how: str,
) -> None:
    services.keys = {LOCAL_URL: "stored-key"}
    window = open_window(SAMPLE)
    toggle_market(qtbot, window, "ja-JP")
    choose(child(window, QComboBox, "resolution"), "800x600")
    child(window, QRadioButton, "schedule_publish").setChecked(True)
    choose(child(window, QComboBox, "ai_provider"), "none")
    child(window, QCheckBox, "notify").setChecked(True)
    window.tabs.setCurrentIndex(2)
    replace_text(qtbot, child(window, QLineEdit, "ai_model"), "other-model")
    choose(child(window, QComboBox, "ai_provider"), "custom")
    key = child(window, QLineEdit, "api_key")
    replace_text(qtbot, key, "sk-typed-then-cancelled")

    with qtbot.assertNotEmitted(window.saved):
        if how == "cancel":
            qtbot.mouseClick(button(window, "cancel"), Qt.MouseButton.LeftButton)
        elif how == "escape":
            qtbot.keyClick(window, Qt.Key.Key_Escape)
        else:
            window.close()
    assert not window.isVisible()
    assert window.result() == QDialog.DialogCode.Rejected
    assert services.stored == []

    # Opened again, the same window shows the settings as they were...
    window.show()
    qtbot.waitExposed(window)
    assert_shows(window, SAMPLE)
    qtbot.waitUntil(lambda: key.text() == "stored-key", timeout=WAIT_MS)
    # ...and so does a new one.
    assert_shows(open_window(SAMPLE), SAMPLE)


@pytest.mark.timeout(30)
def test_api_key_is_stored_on_save_only_and_never_in_the_settings(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.keys = {DEFAULT_BASE_URL: "sk-old-key", LOCAL_URL: "local-key"}
    window = open_window(SAMPLE)  # custom endpoint
    key = child(window, QLineEdit, "api_key")
    assert key.text() == "local-key"
    # Switching endpoint shows that endpoint's key, never the previous one's.
    choose(child(window, QComboBox, "ai_provider"), "openai")
    qtbot.waitUntil(lambda: key.text() == "sk-old-key", timeout=WAIT_MS)

    show = child(window, QToolButton, "show_key")
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert key.echoMode() == QLineEdit.EchoMode.Normal
    qtbot.mouseClick(show, Qt.MouseButton.LeftButton)
    assert key.echoMode() == QLineEdit.EchoMode.Password

    services.gates["store"].clear()
    replace_text(qtbot, key, "sk-new-0123456789")
    assert services.stored == [], "typing stores nothing"
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
        assert not button(window, "save").isEnabled()  # while the keyring works
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS) as blocker:
        services.gates["store"].set()

    assert services.stored == [(DEFAULT_BASE_URL, "sk-new-0123456789")]
    assert services.on_gui_thread["store_api_key"] is False
    assert services.on_gui_thread["api_key"] is False
    saved = blocker.args[0]
    assert saved.ai_provider == "openai"
    assert "sk-new" not in repr(saved)
    assert "sk-new" not in json.dumps(saved.to_json())


def test_unchanged_key_is_not_stored_and_a_cleared_one_is_deleted(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.keys = {LOCAL_URL: "local-key"}
    window = open_window(SAMPLE)
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert services.stored == []

    window = open_window(SAMPLE)
    replace_text(qtbot, child(window, QLineEdit, "api_key"), "")
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert services.stored == [(LOCAL_URL, None)]


def test_a_key_the_keyring_refuses_keeps_the_window_open(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.store_error = PaletteError("the keyring is locked")
    window = open_window(SAMPLE)
    replace_text(qtbot, child(window, QLineEdit, "api_key"), "sk-whatever")
    error = child(window, QLabel, "api_key_error")
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(error.isVisible, timeout=WAIT_MS)
    assert "the keyring is locked" in error.text()
    assert window.isVisible() and button(window, "save").isEnabled()


def test_keyring_unavailable_disables_the_key_field(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    reason = "no keyring backend found (install gnome-keyring or KWallet)"
    services.keyring = (False, reason)
    window = open_window(SAMPLE)
    window.tabs.setCurrentIndex(2)
    key = child(window, QLineEdit, "api_key")
    note = child(window, QLabel, "keyring_note")
    assert not key.isEnabled()
    assert not child(window, QToolButton, "show_key").isEnabled()
    assert note.isVisible()
    assert reason in note.text()
    assert "OPENAI_API_KEY" in note.text()
    window.resize(720, 520)
    page = window.tabs.widget(2)
    assert page is not None
    qtbot.waitUntil(lambda: _clipped(page) == [], timeout=WAIT_MS)
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert services.key_reads == [] and services.stored == []


@pytest.mark.timeout(30)
def test_ai_test_runs_in_the_background_and_shows_success(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.keys = {LOCAL_URL: "local-key"}
    services.gates["report"].clear()
    window = open_window(SAMPLE)
    window.tabs.setCurrentIndex(2)
    test = button(window, "test_ai")
    result = child(window, QLabel, "test_result")
    report = child(window, QPlainTextEdit, "backend_report")

    services.gates["test"].clear()
    qtbot.mouseClick(test, Qt.MouseButton.LeftButton)
    assert not test.isEnabled()
    assert result.text() == "Testing…"
    # The window stays live while the call runs: another job's answer arrives meanwhile.
    services.gates["report"].set()
    qtbot.waitUntil(lambda: report.toPlainText() == REPORT.rstrip(), timeout=WAIT_MS)
    assert not test.isEnabled() and result.text() == "Testing…"

    services.gates["test"].set()
    qtbot.waitUntil(lambda: result.text() == "OK: #aabbcc → #ddeeff, 135°", timeout=WAIT_MS)
    assert test.isEnabled()
    assert services.test_calls == [("custom", LOCAL_URL, "llava", "local-key")]
    assert services.on_gui_thread["test_ai"] is False


@pytest.mark.timeout(30)
def test_ai_test_shows_the_error(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.test_answer = PaletteError(
        "the AI endpoint api.openai.com rejected the API key (HTTP 401); check the key"
    )
    window = open_window(SAMPLE)
    window.tabs.setCurrentIndex(2)
    choose(child(window, QComboBox, "ai_provider"), "openai")
    replace_text(qtbot, child(window, QLineEdit, "api_key"), "sk-typed")
    test = button(window, "test_ai")
    result = child(window, QLabel, "test_result")
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(test, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "rejected the API key" in result.text(), timeout=WAIT_MS)
    assert test.isEnabled()
    assert "#c62828" in result.styleSheet() or "#ff7b72" in result.styleSheet()
    assert services.test_calls == [("openai", DEFAULT_BASE_URL, "llava", "sk-typed")]
    assert services.stored == []  # testing a key does not store it


def test_ai_test_checks_the_fields_first(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    window = open_window(SAMPLE)
    _ftp_url(qtbot, window)
    qtbot.mouseClick(button(window, "test_ai"), Qt.MouseButton.LeftButton)
    assert child(window, QLabel, "ai_base_url_error").isVisible()
    assert services.test_calls == []


@pytest.mark.timeout(30)
def test_backend_report_loads_in_the_background(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    services.gates["report"].clear()
    window = open_window(SAMPLE)  # returns although the report is still being made
    window.tabs.setCurrentIndex(1)
    report = child(window, QPlainTextEdit, "backend_report")
    assert report.toPlainText() == "Checking…"
    assert report.isReadOnly()
    assert QFontInfo(report.font()).fixedPitch()
    assert report.textInteractionFlags() & Qt.TextInteractionFlag.TextSelectableByMouse
    services.gates["report"].set()
    qtbot.waitUntil(lambda: report.toPlainText() == REPORT.rstrip(), timeout=WAIT_MS)
    assert services.on_gui_thread["backend_report"] is False
    backend = child(window, QComboBox, "wallpaper_backend")
    assert [backend.itemData(i) for i in range(backend.count())] == [
        "auto",
        "gnome",
        "kde",
        "x11",
        "xfce",
    ]


def _colour_at(image: QImage, x: int, y: int) -> QColor:
    return image.pixelColor(x, y)


def _close(a: QColor, b: QColor, tolerance: int = 12) -> bool:
    pairs = ((a.red(), b.red()), (a.green(), b.green()), (a.blue(), b.blue()))
    return all(abs(p - q) <= tolerance for p, q in pairs)


@pytest.mark.timeout(30)
def test_preview_shows_the_picture_its_gradient_and_the_last_error(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices, tmp_path: Path
) -> None:
    services.picture = tmp_path / "today.jpg"
    services.picture.write_bytes(photo_jpeg("MartimoaapaFinland", "1920x1080"))
    services.palette = Palette("#c67d3a", "#6b8d7d", 90)
    services.error = "cannot reach www.bing.com: timed out after 10 s"
    window = open_window(SAMPLE)
    window.tabs.setCurrentIndex(3)
    thumbnail = child(window, QLabel, "thumbnail")
    qtbot.waitUntil(lambda: not thumbnail.pixmap().isNull(), timeout=WAIT_MS)
    assert thumbnail.pixmap().width() >= thumbnail.width() - 1
    assert services.on_gui_thread["preview"] is False

    bar = child(window, GradientBar, "gradient")
    assert bar.palette_shown() == services.palette
    image = bar.grab().toImage()
    middle = image.height() // 2
    assert _close(_colour_at(image, 3, middle), QColor("#c67d3a"))  # 90°: left to right
    assert _close(_colour_at(image, image.width() - 4, middle), QColor("#6b8d7d"))
    assert "#c67d3a → #6b8d7d, 90°" in child(window, QLabel, "gradient_caption").text()

    problem = child(window, QLabel, "last_error")
    assert problem.isVisible()
    assert services.error in problem.text()
    assert "#c62828" in problem.styleSheet() or "#ff7b72" in problem.styleSheet()


def test_no_picture_yet(qtbot: QtBot, open_window: Callable[..., SettingsWindow]) -> None:
    window = open_window(SAMPLE)
    caption = child(window, QLabel, "gradient_caption")
    qtbot.waitUntil(lambda: caption.text() == "No gradient yet", timeout=WAIT_MS)
    assert child(window, QLabel, "thumbnail").text() == "No picture yet"
    assert child(window, QLabel, "last_error").isHidden()


def _clipped(page: QWidget) -> list[str]:
    """Texts on ``page`` that do not fit the space their widget got."""
    problems: list[str] = []
    for label in page.findChildren(QLabel):
        if not label.isVisibleTo(page) or not label.text():
            continue
        if label.wordWrap():
            needed = label.heightForWidth(label.width())
            if needed > label.height():
                problems.append(f"{label.text()!r}: {label.height()} px tall, needs {needed}")
            elif label.height() > needed + label.fontMetrics().height():
                problems.append(f"{label.text()!r}: blank lines around it ({label.height()} px)")
        elif label.sizeHint().width() > label.width():
            problems.append(f"{label.text()!r}: {label.width()} px wide, needs more")
    for control in page.findChildren(QAbstractButton):
        if not control.isVisibleTo(page) or not control.text():
            continue  # a line edit's clear button, say
        if control.minimumSizeHint().width() > control.width():
            problems.append(f"{control.text()!r}: {control.width()} px wide, needs more")
    for edit in page.findChildren(QLineEdit):
        text = edit.placeholderText()
        if edit.isVisibleTo(page) and text and not edit.text():
            needed = edit.fontMetrics().horizontalAdvance(text) + 16
            if needed > edit.width():
                problems.append(f"placeholder {text!r}: {edit.width()} px wide, needs {needed}")
    for combo in page.findChildren(QComboBox):
        if combo.isVisibleTo(page):
            needed = combo.fontMetrics().horizontalAdvance(combo.currentText()) + 40
            if needed > combo.width():
                problems.append(f"combo {combo.currentText()!r}: {combo.width()} px wide")
    return problems


@pytest.mark.timeout(60)
def test_screenshot_and_nothing_is_clipped(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices, tmp_path: Path
) -> None:
    services.picture = tmp_path / "today.jpg"
    services.picture.write_bytes(photo_jpeg("MartimoaapaFinland", "1920x1080"))
    services.palette = Palette("#c67d3a", "#6b8d7d", 135)
    services.keys = {LOCAL_URL: "a-local-key"}
    services.error = "cannot reach www.bing.com: timed out after 10 s"
    settings = Settings(
        main_market="en-GB",
        markets=("en-GB", "de-DE", "ja-JP"),
        ai_provider="custom",
        ai_base_url="http://localhost:11434/v1",
        ai_model="llava",
    )
    window = open_window(settings)
    window.resize(720, 520)
    report = child(window, QPlainTextEdit, "backend_report")
    thumbnail = child(window, QLabel, "thumbnail")
    qtbot.waitUntil(
        lambda: report.toPlainText() != "Checking…" and not thumbnail.pixmap().isNull(),
        timeout=WAIT_MS,
    )
    assert (window.width(), window.height()) == (720, 520)
    tab_bar = window.tabs.tabBar()
    assert tab_bar.sizeHint().width() <= window.tabs.width(), "all tabs fit without scrolling"

    shots = (
        Path("resources/screenshots") if os.environ.get("HUEWALL_SCREENSHOTS") == "1" else tmp_path
    )
    shots = Path(__file__).resolve().parents[2] / shots if not shots.is_absolute() else shots
    shots.mkdir(parents=True, exist_ok=True)
    problems: dict[str, list[str]] = {}
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        page = window.tabs.widget(index)
        assert page is not None
        qtbot.waitUntil(page.isVisible, timeout=WAIT_MS)
        found = _clipped(page)
        if found:
            problems[window.tabs.tabText(index)] = found
        picture = window.grab().toImage()
        assert (picture.width(), picture.height()) == (720, 520)
        assert picture.pixelColor(QPoint(360, 10)).isValid()
        if index == 0:
            assert picture.save(str(shots / "settings.png"))
    assert problems == {}
    assert (shots / "settings.png").stat().st_size > 10_000

    # The messages beside the fields fit too, without blank space around them.
    _untick_all(qtbot, window)
    _ftp_url(qtbot, window)
    _empty_model(qtbot, window)
    with qtbot.assertNotEmitted(window.saved):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    for index in (0, 2):
        window.tabs.setCurrentIndex(index)
        page = window.tabs.widget(index)
        assert page is not None
        qtbot.waitUntil(page.isVisible, timeout=WAIT_MS)
        assert _clipped(page) == []


def test_start_at_login_changes_only_on_save(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    window = open_window(Settings(markets=("en-US",), main_market="en-US"))
    box = child(window, QCheckBox, "start_at_login")
    qtbot.waitUntil(box.isEnabled)
    assert not box.isChecked()
    assert "autostart" in child(window, QLabel, "autostart_note").text()
    box.setChecked(True)
    assert services.autostart_changes == []  # nothing before Save
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert services.autostart_changes == [True]
    assert services.on_gui_thread["set_autostart"] is False

    services.autostart_error = StoreError("cannot write ~/.config/autostart: read-only")
    window = open_window(Settings(markets=("en-US",), main_market="en-US"))
    box = child(window, QCheckBox, "start_at_login")
    qtbot.waitUntil(box.isEnabled)
    assert box.isChecked()
    box.setChecked(False)
    with qtbot.assertNotEmitted(window.saved, wait=200):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
        error = child(window, QLabel, "start_at_login_error")
        qtbot.waitUntil(error.isVisible)
    assert "read-only" in error.text() and window.isVisible()

    untouched = open_window(Settings(markets=("en-US",), main_market="en-US"))
    qtbot.waitUntil(child(untouched, QCheckBox, "start_at_login").isEnabled)
    with qtbot.waitSignal(untouched.saved, timeout=WAIT_MS):
        qtbot.mouseClick(button(untouched, "save"), Qt.MouseButton.LeftButton)
    assert services.autostart_changes == [True]  # an unchanged box writes nothing


def test_the_exports_page(
    qtbot: QtBot, open_window: Callable[..., SettingsWindow], services: FakeServices
) -> None:
    base = Settings(markets=("en-US",), main_market="en-US")
    settings, errors = base.with_changes(
        export_files=["colors.json", "colors.sh"], hook=["notify-send", "it's new"]
    )
    assert errors == {}
    window = open_window(settings)
    hook = child(window, QLineEdit, "hook")
    assert hook.text() == "notify-send 'it'\"'\"'s new'"
    assert child(window, QCheckBox, "export_colors.json").isChecked()
    assert not child(window, QCheckBox, "export_colors.css").isChecked()
    qtbot.waitUntil(lambda: "#0a0a0a" in child(window, QLabel, "color1").styleSheet())

    qtbot.mouseClick(button(window, "test_hook"), Qt.MouseButton.LeftButton)
    result = child(window, QLabel, "hook_result")
    qtbot.waitUntil(lambda: result.text().startswith("OK"))
    assert services.hook_calls == [["notify-send", "it's new"]]
    assert services.on_gui_thread["test_hook"] is False

    replace_text(qtbot, hook, "sh -c 'unclosed")
    with qtbot.assertNotEmitted(window.saved, wait=100):
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    assert child(window, QLabel, "hook_error").isVisible()

    replace_text(qtbot, hook, "sh -c 'pkill -USR2 waybar'")
    child(window, QCheckBox, "export_colors.css").setChecked(True)
    replace_text(qtbot, child(window, QLineEdit, "theme_dir"), "~/themes/huewall")
    with qtbot.waitSignal(window.saved, timeout=WAIT_MS) as saved:
        qtbot.mouseClick(button(window, "save"), Qt.MouseButton.LeftButton)
    new = saved.args[0]
    assert new.hook == ("sh", "-c", "pkill -USR2 waybar")
    assert new.export_files == ("colors.json", "colors.css", "colors.sh")
    assert new.theme_dir == "~/themes/huewall"
