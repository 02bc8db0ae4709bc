"""The tray icon and its menu, drawn only from ``AppState`` snapshots.

``TrayIcon.update(state)`` is the only way in: it changes the actions in place (texts,
checks, enabled states, the History and Locale entries), so an open menu follows the
state without closing or flickering. What the user picks goes to the controller's plain
methods; opening files and links and the clipboard go through injectable callables.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from PySide6.QtCore import QDate, QLocale, QObject, Qt, QUrl
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCursor,
    QDesktopServices,
    QGuiApplication,
    QIcon,
    QPixmap,
)
from PySide6.QtWidgets import (
    QMenu,
    QProxyStyle,
    QStyle,
    QStyleOption,
    QSystemTrayIcon,
    QWidget,
)

from desktop_app.core.appstate import AppState, HistoryEntry, Status
from desktop_app.core.markets import MARKETS
from desktop_app.qt.icons import default_icon, gradient_icon

HEADER_WIDTH = 380  # logical pixels: longer titles and copyright lines are elided
THUMBNAIL_ICON_SIZE = 56  # the History thumbnails' width in the menu (16:9, so 56x31)
NOT_A_WALLPAPER = "Bing does not offer this picture as a wallpaper"


class _ThumbnailStyle(QProxyStyle):
    """The History menu's style: room for a thumbnail instead of a 16 px icon."""

    def pixelMetric(
        self,
        metric: QStyle.PixelMetric,
        option: QStyleOption | None = None,
        widget: QWidget | None = None,
    ) -> int:
        if metric == QStyle.PixelMetric.PM_SmallIconSize:
            return THUMBNAIL_ICON_SIZE
        return int(super().pixelMetric(metric, option, widget))


class TrayController(Protocol):
    """What the tray needs from the controller (``AppController`` fits)."""

    @property
    def state(self) -> AppState: ...

    def refresh(self) -> None: ...

    def set_today(self) -> None: ...

    def set_day(self, days_ago: int) -> None: ...

    def switch_market(self, market: str) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def copy_colours(self) -> str: ...


def menu_text(text: str) -> str:
    """Text for a menu entry: a literal ``&`` must not become a keyboard accelerator."""
    return text.replace("&", "&&")


def day_label(startdate: str, locale: QLocale | None = None) -> str:
    """``20251201`` -> ``Mon 1 Dec`` (in the app's locale)."""
    try:
        day = date(int(startdate[:4]), int(startdate[4:6]), int(startdate[6:8]))
    except ValueError:
        return startdate
    return (locale or QLocale()).toString(QDate(day.year, day.month, day.day), "ddd d MMM")


def history_text(entry: HistoryEntry, locale: QLocale | None = None) -> str:
    """``Mon 1 Dec — Title``, saying so when the day cannot be set."""
    text = f"{day_label(entry.startdate, locale)} — {entry.title}"
    return text if entry.allowed else f"{text} (not a wallpaper)"


def status_text(state: AppState) -> str:
    """One line about what Huewall is doing, for the menu."""
    if state.status is Status.FETCHING:
        return "Fetching…" + (f" {state.progress}%" if state.progress is not None else "")
    if state.status is Status.OFFLINE:
        return "Offline: will retry when the network is back"
    if state.status is Status.ERROR:
        return f"Error: {state.last_error}" if state.last_error else "Error"
    if state.status is Status.STARTING:
        return "Starting…"
    if state.paused:
        return "Up to date; daily updates paused"
    return "Up to date" + (f"; next: {state.next_update}" if state.next_update else "")


def _web_link(link: str) -> QUrl | None:
    """Only http(s) links from Bing are opened in the browser."""
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return QUrl(link)


def _copy_to_clipboard(text: str) -> None:
    clipboard = QGuiApplication.clipboard()
    if clipboard is not None:
        clipboard.setText(text)


class TrayIcon(QObject):
    """``QSystemTrayIcon`` + ``QMenu``; follows ``controller.state_changed`` when it has one."""

    def __init__(
        self,
        controller: TrayController,
        on_settings: Callable[[], None],
        on_quit: Callable[[], None],
        parent: QObject | None = None,
        *,
        open_url: Callable[[QUrl], object] | None = None,
        copy_text: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._on_settings = on_settings
        self._on_quit = on_quit
        self._open_url = open_url or QDesktopServices.openUrl
        self._copy_text = copy_text or _copy_to_clipboard
        self._state: AppState | None = None
        self._icon_key: tuple[str, str, int] | bool | None = False  # False: none set yet
        self._thumbnails: dict[Path, QIcon] = {}

        self.menu = QMenu()
        self.menu.setToolTipsVisible(True)
        self.history_menu = QMenu("History", self.menu)
        self.history_menu.setObjectName("history")
        self._history_style = _ThumbnailStyle()  # kept: setStyle does not take it over
        self.history_menu.setStyle(self._history_style)
        self.history_menu.setToolTipsVisible(True)
        self.locale_menu = QMenu("Locale", self.menu)
        self.history_actions: list[QAction] = []
        self.locale_actions: list[QAction] = []
        self._locale_group = QActionGroup(self.locale_menu)
        self._locale_group.setExclusive(True)
        self._no_history = QAction("No pictures yet", self.history_menu)
        self._no_history.setEnabled(False)
        self.history_menu.addAction(self._no_history)

        self.actions: dict[str, QAction] = {}
        self._build_menu()

        self.tray = QSystemTrayIcon(self)
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self._on_activated)

        self.update(controller.state)
        changed = getattr(controller, "state_changed", None)
        if changed is not None:
            changed.connect(self.update)

    # -- building ---------------------------------------------------------------------

    def _add(self, key: str, text: str, slot: Callable[[], None] | None = None) -> QAction:
        action = QAction(text, self.menu)
        if slot is None:
            action.setEnabled(False)
        else:
            action.triggered.connect(lambda _checked=False: slot())
        self.menu.addAction(action)
        self.actions[key] = action
        return action

    def _build_menu(self) -> None:
        header = self._add("header", "Huewall")
        font = header.font()
        font.setBold(True)
        header.setFont(font)
        self._add("copyright", "")
        self._add("status", "Starting…")
        self.menu.addSeparator()
        self._add("set_today", "Set today's wallpaper", self._controller.set_today)
        self._add("refresh", "Refresh", self._controller.refresh)
        self.actions["history"] = self.menu.addMenu(self.history_menu)
        self.actions["locale"] = self.menu.addMenu(self.locale_menu)
        self.menu.addSeparator()
        self._add("copy_colours", "Copy colours", self._copy_colours)
        self._add("open_picture", "Open picture", self._open_picture)
        self._add("open_folder", "Open pictures folder", self._open_folder)
        self._add("about", "About this picture", self._open_about)
        self.menu.addSeparator()
        pause = QAction("Pause daily updates", self.menu)
        pause.setCheckable(True)
        pause.triggered.connect(self._controller.set_paused)  # user clicks only
        self.menu.addAction(pause)
        self.actions["pause"] = pause
        self._add("settings", "Settings…", self._on_settings)
        self._add("quit", "Quit", self._on_quit)

    # -- the one way in ---------------------------------------------------------------

    @property
    def state(self) -> AppState | None:
        return self._state

    def update(self, state: AppState) -> None:
        """Show ``state``: everything is changed in place, so an open menu keeps working."""
        if state == self._state:
            return
        previous, self._state = self._state, state
        current = state.current
        actions = self.actions
        if current is not None:
            image = current.image
            self._set_text(actions["header"], image.title, tip=image.title)
            # Elided in the middle, so the credit at the end, "(© …)", stays readable.
            self._set_text(actions["copyright"], image.copyright, tip=image.copyright, middle=True)
            actions["copyright"].setVisible(bool(image.copyright))
        else:
            self._set_text(actions["header"], f"No picture yet ({state.market})")
            actions["copyright"].setVisible(False)
        self._set_text(actions["status"], status_text(state), tip=state.last_error or "")
        has_picture = current is not None
        for key in ("copy_colours", "open_picture", "open_folder"):
            actions[key].setEnabled(has_picture)
        link = _web_link(current.image.copyright_link) if current is not None else None
        actions["about"].setEnabled(link is not None)
        actions["pause"].setChecked(state.paused)
        if previous is None or previous.history != state.history:
            self._sync_history(state.history)
        if previous is None or (previous.markets, previous.market) != (state.markets, state.market):
            self._sync_locales(state.markets, state.market)
        self.tray.setToolTip(state.tooltip())
        self._sync_icon(state)

    def show(self) -> None:
        self.tray.show()

    def hide(self) -> None:
        self.tray.hide()

    def show_message(self, title: str, message: str) -> None:
        """A desktop notification (connect ``controller.notify`` here)."""
        if self.tray.isVisible() and QSystemTrayIcon.supportsMessages():
            self.tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, 8000)

    # -- keeping the menu in step -----------------------------------------------------

    def _set_text(self, action: QAction, text: str, tip: str = "", middle: bool = False) -> None:
        metrics = self.menu.fontMetrics()
        mode = Qt.TextElideMode.ElideMiddle if middle else Qt.TextElideMode.ElideRight
        shown = metrics.elidedText(text, mode, HEADER_WIDTH)
        action.setText(menu_text(shown))
        action.setToolTip(tip if shown != text else "")

    def _sync_history(self, entries: tuple[HistoryEntry, ...]) -> None:
        """Reuse the History actions by position: an open submenu is updated in place."""
        while len(self.history_actions) < len(entries):
            action = QAction(self.history_menu)
            action.triggered.connect(lambda _checked=False, a=action: self._pick_day(a))
            self.history_menu.addAction(action)
            self.history_actions.append(action)
        while len(self.history_actions) > len(entries):
            action = self.history_actions.pop()
            self.history_menu.removeAction(action)
            action.deleteLater()
        self._no_history.setVisible(not entries)
        locale = QLocale()
        for action, entry in zip(self.history_actions, entries, strict=True):
            action.setText(menu_text(history_text(entry, locale)))
            action.setData(entry.days_ago)
            action.setEnabled(entry.allowed)
            action.setToolTip("" if entry.allowed else NOT_A_WALLPAPER)
            action.setIcon(self._thumbnail(entry.thumbnail))
        self.actions["history"].setEnabled(bool(entries))

    def _thumbnail(self, path: Path | None) -> QIcon:
        if path is None:
            return QIcon()
        icon = self._thumbnails.get(path)
        if icon is None:
            if len(self._thumbnails) > 64:
                self._thumbnails.clear()
            # From a pixmap, not the file: a file icon is stretched to a square.
            icon = self._thumbnails[path] = QIcon(QPixmap(str(path)))
        return icon

    def _sync_locales(self, markets: tuple[str, ...], current: str) -> None:
        while len(self.locale_actions) < len(markets):
            action = QAction(self.locale_menu)
            action.setCheckable(True)
            action.triggered.connect(lambda _checked=False, a=action: self._pick_market(a))
            self._locale_group.addAction(action)
            self.locale_menu.addAction(action)
            self.locale_actions.append(action)
        while len(self.locale_actions) > len(markets):
            action = self.locale_actions.pop()
            self._locale_group.removeAction(action)
            self.locale_menu.removeAction(action)
            action.deleteLater()
        for action, market in zip(self.locale_actions, markets, strict=True):
            name = MARKETS.get(market, market)
            action.setText(menu_text(f"{name}  ({market})"))
            action.setData(market)
            action.setChecked(market == current)
        self.actions["locale"].setEnabled(len(markets) > 1 or current not in markets)

    def _sync_icon(self, state: AppState) -> None:
        key: tuple[str, str, int] | None = None
        if state.current is not None:
            palette = state.current.palette.palette
            key = (palette.gradient_from, palette.gradient_to, palette.gradient_angle)
        if key == self._icon_key:
            return
        self._icon_key = key
        self.tray.setIcon(gradient_icon(*key) if key is not None else default_icon())
        # The menu shows the palette next to the entry that copies it.
        self.actions["copy_colours"].setIcon(gradient_icon(*key, 32) if key else QIcon())

    # -- what the user picks ----------------------------------------------------------

    def _pick_day(self, action: QAction) -> None:
        days_ago = action.data()
        if isinstance(days_ago, int):
            self._controller.set_day(days_ago)

    def _pick_market(self, action: QAction) -> None:
        market = action.data()
        if isinstance(market, str):
            self._controller.switch_market(market)

    def _copy_colours(self) -> None:
        text = self._controller.copy_colours()
        if text:
            self._copy_text(text)

    def _open_picture(self) -> None:
        if self._state is not None and self._state.current is not None:
            self._open_url(QUrl.fromLocalFile(str(self._state.current.image_path)))

    def _open_folder(self) -> None:
        if self._state is not None and self._state.current is not None:
            self._open_url(QUrl.fromLocalFile(str(self._state.current.image_path.parent)))

    def _open_about(self) -> None:
        if self._state is None or self._state.current is None:
            return
        url = _web_link(self._state.current.image.copyright_link)
        if url is not None:
            self._open_url(url)

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # A left click opens the menu too (Windows, XEmbed trays); macOS does that itself.
        if reason is QSystemTrayIcon.ActivationReason.Trigger and sys.platform != "darwin":
            self.menu.popup(QCursor.pos())
