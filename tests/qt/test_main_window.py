"""The window shown where there is no system tray (offscreen has none, like stock GNOME)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QRectF, Qt, QThreadPool
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSystemTrayIcon
from pytestqt.qtbot import QtBot

from desktop_app.core.appstate import AppState, Status
from desktop_app.core.models import DaysAgo, Wallpaper
from desktop_app.core.palette.base import Palette
from desktop_app.core.service import WallpaperService
from desktop_app.qt.icons import gradient_endpoints
from desktop_app.qt.main_window import NO_TRAY_REASON, MainWindow
from desktop_app.qt.widgets import GradientBar

ROOT = Path(__file__).resolve().parents[2]


class RecordingController:
    """The window's one collaborator (``MainWindowActions``): records what was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def set_today(self) -> None:
        self.calls.append("set_today")

    def refresh(self) -> None:
        self.calls.append("refresh")


class Window:
    def __init__(self, qtbot: QtBot) -> None:
        self.controller = RecordingController()
        self.settings_opened = 0
        self.quit_asked = 0
        self.pool = QThreadPool()
        self.widget = MainWindow(self.controller, self.pool, self._on_settings, self._on_quit)
        qtbot.addWidget(self.widget)

    def _on_settings(self) -> None:
        self.settings_opened += 1

    def _on_quit(self) -> None:
        self.quit_asked += 1


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[Window]:
    made = Window(qtbot)
    yield made
    made.pool.waitForDone(5000)


@pytest.fixture
def wallpaper(make_service: Callable[..., WallpaperService]) -> Wallpaper:
    """A real answer from the service, fetched from the loopback Bing stand-in."""
    return make_service().get("en-US", DaysAgo(0), "1366x768")


def test_offscreen_has_no_tray_which_is_why_this_window_exists(qapp: object) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()


@pytest.mark.timeout(30)
def test_the_window_shows_the_picture_its_texts_gradient_and_status(
    qtbot: QtBot, window: Window, wallpaper: Wallpaper
) -> None:
    widget = window.widget
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.title.text() == "No picture yet (en-US)"
    assert widget.status.text() == "Starting…"
    assert widget.gradient_bar.palette_shown() is None

    state = AppState(status=Status.UP_TO_DATE, current=wallpaper, next_update="tomorrow at 08:07")
    widget.show_state(state)
    palette = wallpaper.palette.palette
    assert widget.title.text() == wallpaper.image.title == "Martimoaapa Finland"
    assert wallpaper.image.copyright in widget.copyright.text()
    assert widget.gradient_bar.palette_shown() == palette
    assert palette.gradient_from in widget.colours.text()
    assert f"{palette.gradient_angle}°" in widget.colours.text()
    assert widget.status.text() == "Up to date; next update tomorrow at 08:07"
    assert widget.error.isHidden()
    assert widget.no_tray.text() == NO_TRAY_REASON and widget.no_tray.isVisible()
    assert "no tray icons" in widget.no_tray.text()
    assert widget.windowTitle() == "Huewall: Martimoaapa Finland"
    # The picture is decoded on the pool, scaled to the preview.
    qtbot.waitUntil(lambda: widget.preview_loaded, timeout=10_000)
    preview = widget.picture.pixmap().toImage()
    assert (preview.width(), preview.height()) == (480, 270)
    with Image.open(wallpaper.image_path) as source:
        expected = source.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    shown = preview.scaled(1, 1, Qt.AspectRatioMode.IgnoreAspectRatio,
                           Qt.TransformationMode.SmoothTransformation).pixelColor(0, 0)  # fmt: skip
    assert max(abs(a - b) for a, b in zip(expected, shown.getRgb()[:3], strict=True)) < 24


def test_fetching_and_errors_are_shown(window: Window) -> None:
    widget = window.widget
    widget.show_state(AppState(status=Status.FETCHING, progress=40))
    assert widget.status.text() == "Fetching… 40%"
    assert not widget.progress.isHidden() and widget.progress.value() == 40
    widget.show_state(
        AppState(status=Status.ERROR, last_error="bing.test did not answer within 20 s")
    )
    assert widget.progress.isHidden()
    assert widget.status.text() == "Could not update"
    assert widget.error.text() == "Last error: bing.test did not answer within 20 s"
    assert not widget.error.isHidden()
    assert "Error: bing.test did not answer" in widget.toolTip()
    widget.show_state(AppState(status=Status.OFFLINE, paused=True))
    assert widget.status.text() == (
        "Offline: will retry when the network is back · daily updates paused"
    )
    assert widget.error.isHidden()


def test_the_buttons_call_the_controller_and_the_settings(qtbot: QtBot, window: Window) -> None:
    widget = window.widget
    widget.show()
    qtbot.mouseClick(widget.set_today_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(widget.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(widget.set_today_button, Qt.MouseButton.LeftButton)
    assert window.controller.calls == ["set_today", "refresh", "set_today"]
    assert window.settings_opened == 0
    qtbot.mouseClick(widget.settings_button, Qt.MouseButton.LeftButton)
    assert window.settings_opened == 1
    assert window.quit_asked == 0


def test_closing_the_window_quits(qtbot: QtBot, window: Window) -> None:
    widget = window.widget
    widget.show()
    qtbot.waitExposed(widget)
    assert window.quit_asked == 0
    widget.close()
    assert window.quit_asked == 1
    assert not widget.isVisible()


@pytest.mark.timeout(30)
def test_a_newer_picture_wins_over_a_slower_older_preview(
    qtbot: QtBot, window: Window, wallpaper: Wallpaper, tmp_path: Path
) -> None:
    widget = window.widget
    other = tmp_path / "other.png"
    Image.new("RGB", (1600, 900), "#20c040").save(other)
    moved = replace(wallpaper, stored=replace(wallpaper.stored, path=other))
    widget.show_state(AppState(current=wallpaper))
    widget.show_state(AppState(current=moved))
    qtbot.waitUntil(lambda: widget.preview_loaded, timeout=10_000)
    window.pool.waitForDone(5000)
    qtbot.wait(0)  # deliver the queued results of both jobs
    centre = widget.picture.pixmap().toImage().pixelColor(240, 135)
    assert (centre.red(), centre.green(), centre.blue()) == pytest.approx((32, 192, 64), abs=6)


@pytest.mark.parametrize(
    ("angle", "start", "end"),
    [
        (180, (50, 0), (50, 20)),  # top to bottom
        (90, (0, 10), (100, 10)),  # left to right
        (0, (50, 20), (50, 0)),  # bottom to top
        (270, (100, 10), (0, 10)),
    ],
)
def test_the_gradient_line_follows_css_angles(
    angle: int, start: tuple[float, float], end: tuple[float, float]
) -> None:
    a, b = gradient_endpoints(QRectF(0, 0, 100, 20), angle)
    assert (a.x(), a.y()) == pytest.approx(start, abs=1e-6)
    assert (b.x(), b.y()) == pytest.approx(end, abs=1e-6)
    assert isinstance(a, QPointF)


def test_a_diagonal_gradient_puts_the_pure_colours_in_the_corners() -> None:
    a, b = gradient_endpoints(QRectF(0, 0, 100, 20), 135)  # top-left to bottom-right, as CSS

    def position(x: float, y: float) -> float:
        """Where a point falls along the gradient: 0 = start colour, 1 = end colour."""
        dx, dy = b.x() - a.x(), b.y() - a.y()
        return ((x - a.x()) * dx + (y - a.y()) * dy) / (dx * dx + dy * dy)

    assert position(0, 0) == pytest.approx(0.0)
    assert position(100, 20) == pytest.approx(1.0)
    assert position(50, 10) == pytest.approx(0.5)
    assert 0 < position(100, 0) < 1 and 0 < position(0, 20) < 1


def test_the_bar_is_painted_with_the_palette(qtbot: QtBot) -> None:
    bar = GradientBar()
    qtbot.addWidget(bar)
    bar.resize(200, 18)
    bar.set_palette(Palette("#ff0000", "#0000ff", 90))
    image = bar.grab().toImage()
    left, right = image.pixelColor(8, 9), image.pixelColor(191, 9)
    assert left.red() > 200 and left.blue() < 60, left.name()
    assert right.blue() > 200 and right.red() < 60, right.name()
    bar.set_palette(None)
    grey = bar.grab().toImage().pixelColor(100, 9)
    assert abs(grey.red() - grey.blue()) < 10 and grey != QColor("#ff0000")


@pytest.mark.timeout(30)
def test_screenshot(qtbot: QtBot, window: Window, wallpaper: Wallpaper, tmp_path: Path) -> None:
    """``HUEWALL_SCREENSHOTS=1`` writes resources/screenshots/main-window.png."""
    widget = window.widget
    widget.show_state(
        AppState(
            status=Status.UP_TO_DATE,
            current=wallpaper,
            next_update="tomorrow at 08:07",
            last_error=None,
        )
    )
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.preview_loaded, timeout=10_000)
    folder = (
        ROOT / "resources" / "screenshots" if os.environ.get("HUEWALL_SCREENSHOTS") else tmp_path
    )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "main-window.png"
    assert widget.grab().save(str(target))
    with Image.open(target) as shot:
        assert shot.width >= 480 and shot.height >= 400
        assert len(shot.convert("RGB").getcolors(1 << 20) or []) > 500  # a picture, not blank
