"""The tray icon and menu, built from ``AppState`` snapshots (offscreen).

Most tests drive the tray with snapshots and a recording controller (the tray's whole
interface to the app); the screenshot test runs it on the real controller and service.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QLocale, QPoint, QRect, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from desktop_app.core.appstate import AppState, HistoryEntry, Status
from desktop_app.core.models import BingImage, PaletteRecord, StoredImage, Wallpaper
from desktop_app.core.palette.base import Palette
from desktop_app.core.service import WallpaperService
from desktop_app.core.settings import Settings
from desktop_app.qt.icons import NEUTRAL_FROM, NEUTRAL_TO, gradient_icon, gradient_pixmap
from desktop_app.qt.tray import NOT_A_WALLPAPER, TrayIcon
from tests.qt.test_controller import MakeRig, rig_factory, settle
from tests.support.bing_server import BingStandIn

SCREENSHOTS = Path(__file__).resolve().parents[2] / "resources" / "screenshots"


class RecordingController:
    """The tray's interface to the app, recording what the tray asks for."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.calls: list[tuple[str, Any]] = []

    def refresh(self) -> None:
        self.calls.append(("refresh", None))

    def set_today(self) -> None:
        self.calls.append(("set_today", None))

    def set_day(self, days_ago: int) -> None:
        self.calls.append(("set_day", days_ago))

    def switch_market(self, market: str) -> None:
        self.calls.append(("switch_market", market))

    def set_paused(self, paused: bool) -> None:
        self.calls.append(("set_paused", paused))

    def copy_colours(self) -> str:
        self.calls.append(("copy_colours", None))
        return "#ff0000 #0000ff 180\n"


def picture(folder: Path, name: str, colour: tuple[int, int, int]) -> Path:
    path = folder / f"{name}.jpg"
    Image.new("RGB", (320, 180), colour).save(path, "JPEG")
    return path


def wallpaper(
    folder: Path,
    title: str = "Finland's living peatland",
    *,
    colours: tuple[str, str, int] = ("#ff0000", "#0000ff", 180),
    market: str = "en-US",
    link: str = "https://www.bing.com/search?q=Martimoaapa+Finland&form=hpcapt",
    copyright: str = "Martimoaapa Mire Reserve (© romikatarina)",
) -> Wallpaper:
    path = picture(folder, title.replace(" ", "_").replace("'", ""), (200, 120, 60))
    image = BingImage(
        market=market,
        startdate="20251201",
        fullstartdate="202512010800",
        enddate="20251202",
        image_id="OHR.MartimoaapaFinland_EN-US3685817058",
        urlbase="/th?id=OHR.MartimoaapaFinland_EN-US3685817058",
        title=title,
        copyright=copyright,
        copyright_link=link,
        wallpaper_allowed=True,
    )
    stored = StoredImage(path=path, sha256="ab" * 32, width=320, height=180, size=1)
    record = PaletteRecord(
        palette=Palette(*colours),
        source="ai",
        analyser="test",
        created_at=datetime.now(timezone.utc),
    )
    return Wallpaper(market, image, "1366x768", {}, stored, record)


def history(folder: Path) -> tuple[HistoryEntry, ...]:
    first, second = picture(folder, "t0", (200, 90, 40)), picture(folder, "t1", (40, 90, 200))
    return (
        HistoryEntry(0, "20251201", "Finland's living peatland", first, True),
        HistoryEntry(1, "20251130", "Lake Bled", second, True),
        HistoryEntry(2, "20251129", "Not for walls", None, False),
        HistoryEntry(3, "20251128", "Tulips & windmills", None, True),
    )


@pytest.fixture
def english() -> Iterator[None]:
    """Day names in English whatever the machine's locale; restored afterwards."""
    previous = QLocale()
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    yield
    QLocale.setDefault(previous)


class Opened:
    def __init__(self) -> None:
        self.urls: list[QUrl] = []
        self.copied: list[str] = []
        self.settings = 0
        self.quits = 0


@pytest.fixture
def rig(qtbot: QtBot) -> Iterator[tuple[TrayIcon, RecordingController, Opened]]:
    controller = RecordingController(AppState(market="en-US", markets=("en-US", "de-DE")))
    opened = Opened()

    def on_settings() -> None:
        opened.settings += 1

    def on_quit() -> None:
        opened.quits += 1

    tray = TrayIcon(
        controller,
        on_settings,
        on_quit,
        open_url=opened.urls.append,
        copy_text=opened.copied.append,
    )
    yield tray, controller, opened
    tray.menu.close()
    tray.hide()


@pytest.fixture
def make_rig(
    qtbot: QtBot, make_service: Callable[..., WallpaperService], cache_dir: Path, tmp_path: Path
) -> Iterator[MakeRig]:
    """The controller on the real service (see tests/qt/test_controller.py)."""
    yield from rig_factory(make_service, cache_dir, tmp_path)


def full_state(folder: Path, **changes: Any) -> AppState:
    state = AppState(
        status=Status.UP_TO_DATE,
        market="en-US",
        markets=("en-US", "de-DE", "ja-JP"),
        current=wallpaper(folder),
        history=history(folder),
        next_update="tomorrow at 09:00",
    )
    return AppState(**{**state.__dict__, **changes})


def shown(menu: QMenu) -> list[str]:
    """The visible entries' texts as the user reads them."""
    return [
        a.text().replace("&&", "&") for a in menu.actions() if a.isVisible() and not a.isSeparator()
    ]


def colour_at(image: QImage, x: int, y: int) -> QColor:
    return image.pixelColor(x, y)


# -- the menu from snapshots ----------------------------------------------------------------


def test_the_menu_shows_the_picture_then_the_actions(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, _ = rig
    state = full_state(tmp_path)
    tray.update(state)
    assert state.current is not None
    assert shown(tray.menu) == [
        "Finland's living peatland",
        state.current.image.copyright,
        "Up to date; next: tomorrow at 09:00",
        "Set today's wallpaper",
        "Refresh",
        "History",
        "Locale",
        "Copy colours",
        "Open picture",
        "Open pictures folder",
        "About this picture",
        "Pause daily updates",
        "Settings…",
        "Quit",
    ]
    assert not tray.actions["header"].isEnabled() and tray.actions["header"].font().bold()
    assert not tray.actions["copyright"].isEnabled()
    for key in ("set_today", "refresh", "history", "locale", "copy_colours", "open_picture"):
        assert tray.actions[key].isEnabled(), key
    assert tray.actions["about"].isEnabled()
    assert tray.actions["pause"].isCheckable() and not tray.actions["pause"].isChecked()


def test_before_the_first_picture_the_menu_says_so(
    rig: tuple[TrayIcon, RecordingController, Opened],
) -> None:
    tray, _, _ = rig
    assert tray.actions["header"].text() == "No picture yet (en-US)"
    assert not tray.actions["copyright"].isVisible()
    assert tray.actions["status"].text() == "Starting…"
    for key in ("copy_colours", "open_picture", "open_folder", "about", "history"):
        assert not tray.actions[key].isEnabled(), key
    assert shown(tray.history_menu) == ["No pictures yet"]


def test_titles_with_ampersands_are_not_accelerators(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, _ = rig
    state = full_state(tmp_path, current=wallpaper(tmp_path, "Rock & roll"))
    tray.update(state)
    assert tray.actions["header"].text() == "Rock && roll"
    assert tray.history_actions[3].text().endswith("Tulips && windmills")


def test_a_long_title_is_elided_with_the_whole_in_the_tooltip(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, _ = rig
    title = "A very long title " * 10
    credit = "(© Someone Long/Shutterstock)"
    long_copyright = (
        "Aerial view of the peatland in the Martimoaapa Mire Reserve, Finland " + credit
    )
    tray.update(
        full_state(tmp_path, current=wallpaper(tmp_path, title.strip(), copyright=long_copyright))
    )
    text = tray.actions["header"].text()
    assert text.endswith("…") and len(text) < len(title.strip())
    assert tray.actions["header"].toolTip() == title.strip()
    line = tray.actions["copyright"].text()
    assert "…" in line and line.startswith("Aerial view") and line.endswith(credit)
    assert tray.actions["copyright"].toolTip() == long_copyright


def test_history_entries_with_thumbnails_and_a_disabled_day(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path, english: None
) -> None:
    tray, controller, _ = rig
    tray.update(full_state(tmp_path))
    assert shown(tray.history_menu) == [
        "Mon 1 Dec — Finland's living peatland",
        "Sun 30 Nov — Lake Bled",
        "Sat 29 Nov — Not for walls (not a wallpaper)",
        "Fri 28 Nov — Tulips & windmills",
    ]
    icons = [not a.icon().isNull() for a in tray.history_actions]
    assert icons == [True, True, False, False]
    assert not tray.history_actions[0].icon().pixmap(40).isNull()
    enabled = [a.isEnabled() for a in tray.history_actions]
    assert enabled == [True, True, False, True]
    assert tray.history_actions[2].toolTip() == NOT_A_WALLPAPER

    tray.history_actions[1].trigger()
    tray.history_actions[2].trigger()  # disabled: does nothing
    tray.history_actions[3].trigger()
    assert controller.calls == [("set_day", 1), ("set_day", 3)]


def test_the_locale_menu_checks_the_shown_market_and_switches(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, controller, _ = rig
    tray.update(full_state(tmp_path, market="de-DE"))
    assert shown(tray.locale_menu) == [
        "English (United States)  (en-US)",
        "German (Germany)  (de-DE)",
        "Japanese (Japan)  (ja-JP)",
    ]
    assert [a.isChecked() for a in tray.locale_actions] == [False, True, False]
    tray.locale_actions[2].trigger()
    assert controller.calls == [("switch_market", "ja-JP")]

    # The markets change: the entries follow, the check follows the state.
    tray.update(full_state(tmp_path, market="ja-JP", markets=("ja-JP", "fr-FR")))
    assert [a.data() for a in tray.locale_actions] == ["ja-JP", "fr-FR"]
    assert [a.isChecked() for a in tray.locale_actions] == [True, False]


def test_pause_is_checked_from_the_state_and_toggles_the_controller(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, controller, _ = rig
    tray.update(full_state(tmp_path, paused=True))
    assert tray.actions["pause"].isChecked()
    assert tray.actions["status"].text() == "Up to date; daily updates paused"
    assert controller.calls == []  # showing the state calls nothing
    tray.actions["pause"].trigger()  # the user unticks it
    assert controller.calls == [("set_paused", False)]


def test_every_action_reaches_the_controller_or_its_callable(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, controller, opened = rig
    state = full_state(tmp_path)
    tray.update(state)
    assert state.current is not None
    for key in (
        "set_today",
        "refresh",
        "copy_colours",
        "open_picture",
        "open_folder",
        "about",
        "settings",
        "quit",
    ):
        tray.actions[key].trigger()
    assert controller.calls == [("set_today", None), ("refresh", None), ("copy_colours", None)]
    assert opened.copied == ["#ff0000 #0000ff 180\n"]
    assert opened.urls == [
        QUrl.fromLocalFile(str(state.current.image_path)),
        QUrl.fromLocalFile(str(state.current.image_path.parent)),
        QUrl(state.current.image.copyright_link),
    ]
    assert opened.settings == 1 and opened.quits == 1


def test_about_is_disabled_for_a_link_that_is_not_a_web_page(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, opened = rig
    tray.update(full_state(tmp_path, current=wallpaper(tmp_path, link="file:///etc/passwd")))
    assert not tray.actions["about"].isEnabled()
    tray.actions["about"].trigger()
    assert opened.urls == []


@pytest.mark.timeout(30)
def test_the_open_menu_follows_the_state_in_place(
    qtbot: QtBot, rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, _ = rig
    tray.update(full_state(tmp_path, status=Status.FETCHING, progress=None, current=None))
    tray.menu.popup(QPoint(10, 10))
    qtbot.waitExposed(tray.menu)
    tray.history_menu.popup(QPoint(300, 10))
    qtbot.waitExposed(tray.history_menu)
    header, status = tray.actions["header"], tray.actions["status"]
    first_day = tray.history_actions[0]
    assert status.text() == "Fetching…"

    for percent in (5, 40):
        tray.update(full_state(tmp_path, status=Status.FETCHING, progress=percent, current=None))
        assert status.text() == f"Fetching… {percent}%"
    tray.update(full_state(tmp_path, history=history(tmp_path)[:2]))

    assert tray.menu.isVisible() and tray.history_menu.isVisible()
    assert tray.actions["header"] is header and header.text() == "Finland's living peatland"
    assert status.text() == "Up to date; next: tomorrow at 09:00"
    assert tray.actions["copy_colours"].isEnabled()
    assert tray.history_actions[0] is first_day and len(tray.history_actions) == 2
    assert len([a for a in tray.history_menu.actions() if a.isVisible()]) == 2

    tray.update(full_state(tmp_path, status=Status.ERROR, last_error="Bing said no"))
    assert status.text() == "Error: Bing said no"
    assert tray.menu.isVisible() and len(tray.history_actions) == 4


def test_the_tooltip_and_the_icon_follow_the_state(
    rig: tuple[TrayIcon, RecordingController, Opened], tmp_path: Path
) -> None:
    tray, _, _ = rig
    neutral = tray.tray.icon().pixmap(32).toImage()
    assert not neutral.isNull()
    assert tray.tray.toolTip() == AppState(market="en-US", markets=("en-US", "de-DE")).tooltip()

    state = full_state(tmp_path)
    tray.update(state)
    assert tray.tray.toolTip() == state.tooltip()
    assert "Finland's living peatland (en-US)" in tray.tray.toolTip()
    red_blue = tray.tray.icon().pixmap(32).toImage()
    top, bottom = colour_at(red_blue, 16, 5), colour_at(red_blue, 16, 26)
    assert top.red() > 180 and top.blue() < 80, top.name()
    assert bottom.blue() > 180 and bottom.red() < 80, bottom.name()

    tray.update(full_state(tmp_path, status=Status.OFFLINE, last_error="no network"))
    assert "Offline" in tray.tray.toolTip()
    swatch = tray.actions["copy_colours"].icon().pixmap(32).toImage()
    assert colour_at(swatch, 16, 5).red() > 180 and colour_at(swatch, 16, 26).blue() > 180
    assert tray.tray.icon().pixmap(32).toImage() == red_blue  # same palette, same icon

    other = wallpaper(tmp_path, "Green", colours=("#00ff00", "#00ff00", 90))
    tray.update(full_state(tmp_path, current=other))
    green = colour_at(tray.tray.icon().pixmap(32).toImage(), 16, 16)
    assert green.green() > 200 and green.red() < 60 and green.blue() < 60, green.name()


def test_a_left_click_opens_the_menu_and_messages_are_harmless(
    qtbot: QtBot, rig: tuple[TrayIcon, RecordingController, Opened]
) -> None:
    tray, _, _ = rig
    tray.show()
    tray.show_message("New picture", "Lake Bled")  # offscreen: no tray, no crash
    tray.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    qtbot.waitUntil(tray.menu.isVisible, timeout=5000)


# -- the icon itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("angle", "first", "second"),
    [(180, (32, 8), (32, 56)), (0, (32, 56), (32, 8)), (90, (8, 32), (56, 32))],
)
def test_the_gradient_runs_in_the_css_direction(
    qtbot: QtBot, angle: int, first: tuple[int, int], second: tuple[int, int]
) -> None:
    image = gradient_pixmap("#ff0000", "#0000ff", angle, 64).toImage()
    start, end = image.pixelColor(*first), image.pixelColor(*second)
    assert start.red() > 190 and start.blue() < 70, start.name()
    assert end.blue() > 190 and end.red() < 70, end.name()


def test_the_icon_is_a_rounded_square_with_a_border_and_a_neutral_default(qtbot: QtBot) -> None:
    image = gradient_pixmap("#ffffff", "#ffffff", 180, 64).toImage()
    assert image.pixelColor(0, 0).alpha() == 0  # rounded: the corner is transparent
    edge, inside = image.pixelColor(32, 2), image.pixelColor(32, 32)
    assert edge.lightness() < inside.lightness() - 30  # a dark rim shows on light panels
    # ... and a light one inside it on dark panels
    dark = gradient_pixmap("#000000", "#000000", 180, 64).toImage()
    assert dark.pixelColor(32, 5).lightness() > dark.pixelColor(32, 32).lightness() + 20

    neutral = gradient_pixmap(None, None, 0, 64).toImage()
    top, bottom = neutral.pixelColor(32, 10), neutral.pixelColor(32, 52)
    assert abs(top.red() - QColor(NEUTRAL_FROM).red()) < 25
    assert abs(bottom.red() - QColor(NEUTRAL_TO).red()) < 25
    assert abs(top.red() - top.blue()) < 30 and abs(bottom.red() - bottom.blue()) < 30  # grey
    sizes = {s.width() for s in gradient_icon("#123456", "#abcdef", 45, 64).availableSizes()}
    assert {16, 22, 32, 64} <= sizes


# -- on the real controller, and the screenshot -------------------------------------------------


@pytest.mark.timeout(60)
def test_screenshot_of_the_open_menu_on_the_real_controller(
    qtbot: QtBot, bing: BingStandIn, make_rig: MakeRig, tmp_path: Path, english: None
) -> None:
    days = bing.days("en-US")
    days[3].wp = False
    rig = make_rig(
        settings=Settings(main_market="en-US", markets=("en-US", "de-DE", "ja-JP", "fr-FR"))
    )
    controller = rig.controller
    tray = TrayIcon(controller, on_settings=lambda: None, on_quit=lambda: None)
    controller.set_day(2)
    controller.set_day(1)
    controller.set_today()
    controller.set_next_update("tomorrow at 09:00")
    settle(
        qtbot,
        rig,
        lambda: (
            len(rig.desktop.calls) == 1
            and rig.state.status is Status.UP_TO_DATE
            and sum(e.thumbnail is not None for e in rig.state.history) == 3
        ),
    )
    assert rig.desktop.titles == [days[0].title]  # the last request wins
    assert tray.actions["header"].text() == days[0].title
    assert [a.isEnabled() for a in tray.history_actions] == [True] * 3 + [False] + [True] * 4
    assert [not a.icon().isNull() for a in tray.history_actions] == [True] * 3 + [False] * 5
    assert [a.isChecked() for a in tray.locale_actions] == [True, False, False, False]

    menu, sub = tray.menu, tray.history_menu
    menu.popup(QPoint(24, 24))
    qtbot.waitExposed(menu)
    at = menu.actionGeometry(tray.actions["history"])
    sub.popup(menu.mapToGlobal(QPoint(at.right() - 4, at.top() - 4)))
    qtbot.waitExposed(sub)
    main_shot, sub_shot = menu.grab(), sub.grab()
    assert main_shot.width() > 150 and sub_shot.width() > 150

    # The two menus over the wallpaper they describe, as on a desktop.
    left, top = 24, 24
    sub_at = QPoint(left + main_shot.width() - 6, top + at.top() - 4)
    width = sub_at.x() + sub_shot.width() + 24
    height = max(top + main_shot.height(), sub_at.y() + sub_shot.height()) + 24
    canvas = QPixmap(width, height)
    painter = QPainter(canvas)
    assert rig.state.current is not None
    backdrop = QPixmap(str(rig.state.current.image_path))
    painter.drawPixmap(
        QRect(0, 0, width, height),
        backdrop.scaled(
            width,
            height,
            Qt.AspectRatioMode.KeepAspectRatioByExpanding,
            Qt.TransformationMode.SmoothTransformation,
        ),
    )
    painter.drawPixmap(QPoint(left, top), main_shot)
    painter.drawPixmap(sub_at, sub_shot)
    painter.end()

    folder = SCREENSHOTS if os.environ.get("HUEWALL_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "tray-menu.png"
    assert canvas.save(str(target), "PNG")
    with Image.open(target) as saved:
        assert saved.size == (width, height)
        assert len(saved.convert("RGB").getcolors(1 << 16) or range(1 << 16)) > 50  # not blank
    menu.close()
    sub.close()


def test_the_real_controller_fits_the_tray(
    qtbot: QtBot, bing: BingStandIn, make_rig: MakeRig
) -> None:
    """The tray follows ``state_changed`` by itself and its actions reach the controller."""
    rig = make_rig()
    tray = TrayIcon(rig.controller, on_settings=lambda: None, on_quit=lambda: None)
    tray.actions["refresh"].trigger()
    assert tray.actions["status"].text().startswith("Fetching")
    settle(qtbot, rig, lambda: rig.state.status is Status.UP_TO_DATE)
    assert tray.state == rig.state
    assert tray.actions["header"].text() == bing.days("en-US")[0].title
    tray.actions["pause"].trigger()
    assert rig.state.paused and tray.actions["pause"].isChecked()
    assert isinstance(tray.actions["history"], QAction)
