"""The window Huewall shows where the desktop has no system tray (stock GNOME, offscreen).

It shows what the tray's menu and tooltip would: the current picture, its title and
copyright, the gradient, the status and the last error, with buttons for the common
actions. Like the tray icon it is built only from ``AppState`` snapshots
(``show_state``). There is no tray to live in, so closing it quits Huewall; the daily
schedule keeps running while it is open.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt, QThreadPool
from PySide6.QtGui import (
    QCloseEvent,
    QImage,
    QPalette,
    QPixmap,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.appstate import AppState, Status
from desktop_app.qt.jobs import Job
from desktop_app.qt.widgets import GradientBar, cover_image

PICTURE_SIZE = QSize(480, 270)
NOTICE_MS = 10_000
NO_TRAY_REASON = (
    "This desktop shows no tray icons (no system tray was found; on GNOME the "
    "AppIndicator extension adds one), so Huewall lives in this window instead. "
    "Daily updates keep running while it is open; closing it quits Huewall."
)


class MainWindowActions(Protocol):
    """What the window's buttons ask for (the ``AppController`` provides it)."""

    def set_today(self) -> None: ...

    def refresh(self) -> None: ...


def _soften(label: QLabel) -> None:
    """Secondary text: the style's placeholder colour, readable in light and dark themes."""
    palette = label.palette()
    palette.setColor(
        QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText)
    )
    label.setPalette(palette)


def _long_date(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


class MainWindow(QMainWindow):
    """Huewall's face when there is no tray icon."""

    def __init__(
        self,
        controller: MainWindowActions,
        pool: QThreadPool,
        on_settings: Callable[[], None],
        on_quit: Callable[[], None],
        reason: str = NO_TRAY_REASON,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._controller = controller
        self._pool = pool
        self._on_settings = on_settings
        self._on_quit = on_quit
        self._state = AppState()
        self._shown_picture: Path | None = None
        self._jobs: set[Job] = set()
        self.setWindowTitle("Huewall")

        self.picture = QLabel()
        self.picture.setFixedSize(PICTURE_SIZE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setStyleSheet(
            "background: palette(mid); border-radius: 6px; color: palette(light);"
        )
        self.picture.setText("No picture yet")

        self.title = QLabel()
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.copyright = QLabel()
        self.copyright.setWordWrap(True)
        _soften(self.copyright)
        self.copyright.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.gradient_bar = GradientBar(height=18)
        self.colours = QLabel()
        self.colours.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(6)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()

        self.set_today_button = QPushButton("Set today's wallpaper")
        self.set_today_button.setDefault(True)
        self.refresh_button = QPushButton("Refresh")
        self.settings_button = QPushButton("Settings…")
        self.set_today_button.clicked.connect(self._on_set_today_button_clicked)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.settings_button.clicked.connect(self._on_settings_button_clicked)

        self.no_tray = QLabel(reason)
        self.no_tray.setWordWrap(True)
        small = self.no_tray.font()
        small.setPointSizeF(small.pointSizeF() * 0.9)
        self.no_tray.setFont(small)
        _soften(self.no_tray)

        buttons = QHBoxLayout()
        buttons.addWidget(self.set_today_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(self.settings_button)

        layout = QVBoxLayout()
        layout.setContentsMargins(18, 18, 18, 14)
        layout.setSpacing(8)
        layout.addWidget(self.picture, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.copyright)
        layout.addSpacing(2)
        layout.addWidget(self.gradient_bar)
        layout.addWidget(self.colours)
        layout.addSpacing(2)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.error)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addSpacing(6)
        layout.addWidget(self.no_tray)
        central = QWidget()
        central.setLayout(layout)
        self.setCentralWidget(central)
        self.setMinimumWidth(PICTURE_SIZE.width() + 36)
        self.show_state(self._state)

    @property
    def state(self) -> AppState:
        return self._state

    # -- from the controller ----------------------------------------------------------------

    def show_state(self, state: AppState) -> None:
        """Rebuild everything shown from one snapshot."""
        self._state = state
        current = state.current
        if current is None:
            self.title.setText(f"No picture yet ({state.market})")
            self.copyright.setText("")
            self.copyright.hide()
            self.gradient_bar.set_palette(None)
            self.colours.setText("")
            self._show_picture(None)
        else:
            image = current.image
            self.title.setText(f"{image.title}")
            self.copyright.setText(f"{image.copyright}\n{state.market}, {_long_date(image.day)}")
            self.copyright.show()
            palette = current.palette.palette
            self.gradient_bar.set_palette(palette)
            source = "AI" if current.palette.source == "ai" else "local"
            self.colours.setText(
                f"{palette.gradient_from} → {palette.gradient_to}, "
                f"{palette.gradient_angle}°  ({source} palette)"
            )
            self._show_picture(current.image_path)
        self.status.setText(self._status_text(state))
        fetching = state.status is Status.FETCHING
        self.progress.setVisible(fetching)
        if fetching:
            if state.progress is None:
                self.progress.setRange(0, 0)  # busy
            else:
                self.progress.setRange(0, 100)
                self.progress.setValue(state.progress)
        self.error.setText(f"Last error: {state.last_error}" if state.last_error else "")
        self.error.setVisible(bool(state.last_error))
        self.setWindowTitle(f"Huewall: {current.image.title}" if current else "Huewall")
        self.setToolTip(state.tooltip())

    def show_notice(self, title: str, message: str) -> None:
        """A notification, where a tray icon would have shown a balloon."""
        self.statusBar().showMessage(f"{title}: {message}", NOTICE_MS)

    @staticmethod
    def _status_text(state: AppState) -> str:
        if state.status is Status.STARTING:
            text = "Starting…"
        elif state.status is Status.FETCHING:
            text = "Fetching…" + (f" {state.progress}%" if state.progress is not None else "")
        elif state.status is Status.OFFLINE:
            text = "Offline: will retry when the network is back"
        elif state.status is Status.ERROR:
            text = "Could not update"
        else:
            text = "Up to date" + (
                f"; next update {state.next_update}" if state.next_update else ""
            )
        if state.paused:
            text += " · daily updates paused"
        return text

    # -- the picture, decoded off the GUI thread ----------------------------------------------

    def _show_picture(self, path: Path | None) -> None:
        if path == self._shown_picture:
            return
        self._shown_picture = path
        if path is None:
            self.picture.setPixmap(QPixmap())
            self.picture.setText("No picture yet")
            return
        job = Job(f"preview {path.name}", lambda _ctx: cover_image(path, PICTURE_SIZE))
        job.signals.succeeded.connect(lambda image, p=path: self._on_preview_succeeded(p, image))
        job.signals.finished.connect(lambda j=job: self._jobs.discard(j))
        self._jobs.add(job)
        self._pool.start(job)

    def _on_preview_succeeded(self, path: Path, image: Any) -> None:
        if path != self._shown_picture:
            return  # a newer picture was asked for meanwhile
        if not isinstance(image, QImage) or image.isNull():
            self.picture.setPixmap(QPixmap())
            self.picture.setText("The picture cannot be shown")
            return
        self.picture.setPixmap(QPixmap.fromImage(image))

    @property
    def preview_loaded(self) -> bool:
        pixmap = self.picture.pixmap()
        return pixmap is not None and not pixmap.isNull()

    # -- buttons and closing ---------------------------------------------------------------

    def _on_set_today_button_clicked(self) -> None:
        self._controller.set_today()

    def _on_refresh_button_clicked(self) -> None:
        self._controller.refresh()

    def _on_settings_button_clicked(self) -> None:
        self._on_settings()

    def closeEvent(self, event: QCloseEvent) -> None:
        # No tray to live in: closing the window is quitting.
        for job in self._jobs:
            job.cancel()
        event.accept()
        self._on_quit()
