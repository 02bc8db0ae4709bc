"""The settings window: every user choice on four pages, validated by the core's ``Settings``.

The window edits a copy and never saves anything itself: Save validates through
``Settings.with_changes`` (plus the rules that span fields), shows each problem beside
its field, and only when all is well emits ``saved(Settings)`` for the app to save.
Cancel, Esc and closing change nothing. The API key is the one exception to "the app
saves": it goes to the keyring through ``SettingsServices.store_api_key`` on Save, in a
background job, and never into ``Settings``.

Everything that may be slow (the doctor's report, the keyring, the AI test, reading the
current picture) runs as a ``Job`` on the app's thread pool; the GUI thread only draws.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from PySide6.QtCore import (
    QEvent,
    QObject,
    QSettings,
    QSize,
    Qt,
    QThreadPool,
    QTime,
    Signal,
)
from PySide6.QtGui import (
    QFontDatabase,
    QImage,
    QKeyEvent,
    QPalette,
    QPixmap,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QTabWidget,
    QTimeEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.core.exports import DEFAULT_FILES
from desktop_app.core.markets import default_market
from desktop_app.core.models import AUTO_RESOLUTION, RESOLUTIONS
from desktop_app.core.palette.ai import DEFAULT_BASE_URL
from desktop_app.core.palette.base import Palette
from desktop_app.core.settings import DEFAULT_AI_MODEL, Settings
from desktop_app.qt.jobs import Job, JobContext
from desktop_app.qt.widgets import GradientBar, cover_image

log = logging.getLogger("huewall.settings")

GEOMETRY_KEY = "settings_window/geometry"
THUMBNAIL_SIZE = QSize(192, 108)
PAGES = ("Pictures", "Wallpaper", "Palette (AI)", "Exports", "General")
_PICTURES, _WALLPAPER, _PALETTE, _EXPORTS, _GENERAL = range(5)


class SettingsServices(Protocol):
    """What the settings window needs from the app; the composition root implements it.

    Only ``markets``, ``backend_names``, ``pool`` and ``last_error`` are called on the
    GUI thread and must be quick. The others run in background jobs.
    """

    def markets(self) -> Mapping[str, str]:
        """Market code -> display name (``desktop_app.core.markets.MARKETS``)."""
        ...

    def backend_names(self) -> list[str]:
        """The wallpaper backends a user may choose besides "auto"."""
        ...

    def backend_report(self) -> str:
        """The doctor's findings: session, chosen backend and why, tools. May be slow."""
        ...

    def keyring_status(self) -> tuple[bool, str]:
        """(usable, a line saying which keyring, or why there is none)."""
        ...

    def api_key(self, endpoint: str) -> str | None:
        """The stored key for an AI endpoint (base URL), if any."""
        ...

    def store_api_key(self, endpoint: str, key: str | None) -> None:
        """Store the key for an endpoint; None deletes it. Raises ``HuewallError``."""
        ...

    def test_ai(self, provider: str, base_url: str, model: str, key: str | None) -> str:
        """Make one real call; return a success line or raise ``HuewallError``.

        ``base_url`` is the endpoint: ``DEFAULT_BASE_URL`` for "openai", the user's URL
        for "custom". ``key`` None means "whatever the app would use" (the keyring or
        ``OPENAI_API_KEY``)."""
        ...

    def autostart_status(self) -> tuple[bool, str]:
        """(starts at login now, one line saying where the entry lives)."""
        ...

    def set_autostart(self, enabled: bool) -> None:
        """Add or remove the start-at-login entry. Raises ``HuewallError``."""
        ...

    def theme_folders(self) -> tuple[str, str]:
        """(the default theme folder, the templates folder), for display."""
        ...

    def open_folder(self, path: str) -> None:
        """Show a folder in the file manager (created first if missing)."""
        ...

    def theme_preview(self) -> tuple[str, ...] | None:
        """The current picture's 16 terminal colours (color0..15), if there is a picture."""
        ...

    def test_hook(self, hook: Sequence[str]) -> str:
        """Run the hook once with the current picture's values; a success line or raise."""
        ...

    def pool(self) -> QThreadPool: ...

    def preview(self) -> tuple[Path | None, Palette | None]:
        """The current picture and its gradient (either may be missing)."""
        ...

    def last_error(self) -> str | None: ...


_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("none", "Local: computed from the picture, no network"),
    ("openai", "OpenAI"),
    ("custom", "OpenAI-compatible server (Ollama, LM Studio, OpenRouter…)"),
)
_RESOLUTION_LABELS: Mapping[str, str] = {
    AUTO_RESOLUTION: "Automatic: the smallest size that covers the screen",
    "UHD": "UHD (3840 \u00d7 2160 or larger)",
    **{r: r.replace("x", " \u00d7 ") for r in RESOLUTIONS if r != "UHD"},
}
_ENV_FALLBACK = "Huewall uses OPENAI_API_KEY from the environment instead."


def _is_dark(widget: QWidget) -> bool:
    return widget.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _tone(widget: QWidget, kind: str) -> str:
    """A colour for error/success text that reads on light and dark themes."""
    dark = _is_dark(widget)
    if kind == "error":
        return "#ff7b72" if dark else "#c62828"
    if kind == "ok":
        return "#7ee787" if dark else "#2e7d32"
    return widget.palette().color(QPalette.ColorRole.PlaceholderText).name()


class WrappedLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its real width.

    QLabel's own size hint assumes a narrow label, so in a form it gets blank space
    above and below the text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        if self.width() > 0:
            hint.setHeight(self.heightForWidth(self.width()))
        return hint

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if self.width() > 0:
            hint.setHeight(self.heightForWidth(self.width()))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.updateGeometry()


def _message_label(object_name: str) -> QLabel:
    label = WrappedLabel()
    label.setObjectName(object_name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def _hint(text: str) -> QLabel:
    label = WrappedLabel(text)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _row(*widgets: QWidget, spacing: int = 6, stretch: bool = True) -> QWidget:
    box = QWidget()
    layout = QHBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(spacing)
    for widget in widgets:
        layout.addWidget(widget)
    if stretch:
        layout.addStretch(1)
    return box


def _add_below(form: QFormLayout, widget: QWidget) -> None:
    """A row with no label: ``widget`` under the fields above (hidden: takes no space)."""
    form.setWidget(form.rowCount(), QFormLayout.ItemRole.FieldRole, widget)


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    form.setHorizontalSpacing(12)
    form.setVerticalSpacing(8)
    return form


def _buddy(text: str, field: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(field)
    return label


def _thumbnail(path: Path | None, size: QSize) -> QImage | None:
    """The picture scaled to cover ``size`` and cropped to it (runs on a pool thread)."""
    if path is None:
        return None
    image = cover_image(path, size)
    if image.isNull():
        log.warning("cannot read the preview picture %s", path)
        return None
    return image


class _ReturnMovesFocus(QObject):
    """Return in the market filter moves to the list instead of pressing Save."""

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self._target = target

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._target.setFocus(Qt.FocusReason.TabFocusReason)
            return True
        return False


class SettingsWindow(QDialog):
    """Huewall's settings. Emits ``saved(Settings)``; saves nothing itself but the API key.

    Widgets carry object names (``markets``, ``main_market``, ``ai_model``, ``save``, …)
    and every field ``X`` has an error label ``X_error`` beside it.
    """

    saved = Signal(object)  # the new Settings, validated

    def __init__(
        self, settings: Settings, services: SettingsServices, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._settings = settings
        self._services = services
        self._pool = services.pool()
        self._jobs: set[Job] = set()
        self._errors: dict[str, QLabel] = {}
        self._fields: dict[str, tuple[int, QWidget]] = {}
        # The API key field shows the key of ``_key_endpoint`` (None: not loaded yet).
        self._keyring_ok: bool | None = None
        self._key_endpoint: str | None = None
        self._key_dirty = False
        self._key_generation = 0
        # Start at login lives in the OS (an autostart entry), not in Settings.
        self._autostart_was: bool | None = None  # None: not read yet
        self._saving = False
        self._test_running = False
        self._closed = False
        self._last_error: str | None = None

        self.setWindowTitle("Huewall Settings")
        self.setObjectName("settings_window")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("pages")
        self.tabs.setDocumentMode(False)
        self.tabs.addTab(self._pictures_page(), PAGES[_PICTURES])
        self.tabs.addTab(self._wallpaper_page(), PAGES[_WALLPAPER])
        self.tabs.addTab(self._palette_page(), PAGES[_PALETTE])
        self.tabs.addTab(self._exports_page(), PAGES[_EXPORTS])
        self.tabs.addTab(self._general_page(), PAGES[_GENERAL])

        self._problem = _message_label("last_error")
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        save = self._buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setObjectName("save")
        save.setDefault(True)
        self._buttons.button(QDialogButtonBox.StandardButton.Cancel).setObjectName("cancel")
        self._buttons.accepted.connect(self._on_save_clicked)
        self._buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.setSpacing(10)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self._problem)
        layout.addWidget(self._buttons)

        self._load(settings)
        self._show_last_error(services.last_error())
        self._restore_geometry()
        self._start_background_work()

    # ----------------------------------------------------------------- pages

    def _add_field(
        self,
        form: QFormLayout,
        label: str,
        name: str,
        page: int,
        control: QWidget,
        *below: QWidget,
        focus: QWidget | None = None,
    ) -> None:
        """A form row for setting ``name``: ``label`` beside ``control``, then the widgets
        ``below`` and a (hidden) error label under it; ``focus`` gets the focus on error."""
        focus = focus or control
        if not focus.objectName():
            focus.setObjectName(name)
        form.addRow(_buddy(label, control), control)
        for widget in below:
            _add_below(form, widget)
        error = _message_label(f"{name}_error")
        _add_below(form, error)
        self._errors[name] = error
        self._fields[name] = (page, focus)

    def _page(self, form: QFormLayout, intro: str | None = None) -> tuple[QWidget, QVBoxLayout]:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setContentsMargins(16, 14, 16, 14)
        outer.setSpacing(14)
        if intro:
            outer.addWidget(_hint(intro))
        outer.addLayout(form)
        return page, outer

    def _pictures_page(self) -> QWidget:
        self._market_names = dict(self._services.markets())
        self._order: list[str] = []
        self.market_filter = QLineEdit()
        self.market_filter.setObjectName("market_filter")
        self.market_filter.setPlaceholderText("Search by name or code, e.g. Japan or de-")
        self.market_filter.setClearButtonEnabled(True)
        self.market_filter.textChanged.connect(self._on_market_filter_changed)
        self.market_list = QListWidget()
        self.market_list.setUniformItemSizes(True)
        self.market_list.setAlternatingRowColors(True)
        self.market_list.setMinimumHeight(140)
        self.market_list.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.market_filter.installEventFilter(_ReturnMovesFocus(self.market_list))
        self.market_list.itemChanged.connect(self._on_market_list_item_changed)
        self._chosen_count = _hint("")
        self._chosen_count.setObjectName("markets_count")
        self.main_market = QComboBox()
        self.resolution = QComboBox()
        for value in (AUTO_RESOLUTION, *RESOLUTIONS):
            self.resolution.addItem(_RESOLUTION_LABELS[value], value)

        form = _form()
        self._add_field(
            form,
            "&Markets:",
            "markets",
            _PICTURES,
            self.market_filter,
            self.market_list,
            self._chosen_count,
            focus=self.market_list,
        )
        self._add_field(form, "Ma&in market:", "main_market", _PICTURES, self.main_market)
        self._add_field(form, "Picture &size:", "resolution", _PICTURES, self.resolution)
        page, _ = self._page(
            form,
            "Tick the markets whose pictures you want in the tray; the main market's picture "
            "becomes your wallpaper.",
        )
        return page

    def _wallpaper_page(self) -> QWidget:
        self.auto_set = QCheckBox("Set each new picture as the wallpaper")
        self.auto_set.toggled.connect(self._update_enabled)
        self.at_publish = QRadioButton("When Bing publishes it for the main market")
        self.at_publish.setObjectName("schedule_publish")
        self.at_fixed = QRadioButton("Every day at")
        self.at_fixed.setObjectName("schedule_fixed")
        self._schedule = QButtonGroup(self)
        self._schedule.addButton(self.at_publish)
        self._schedule.addButton(self.at_fixed)
        self.at_fixed.toggled.connect(self._update_enabled)
        self.fixed_time = QTimeEdit()
        self.fixed_time.setObjectName("fixed_time")
        self.fixed_time.setDisplayFormat("HH:mm")
        self.fixed_time.setToolTip("Local time, 24-hour clock")
        self.lock_screen = QCheckBox("Also set the lock screen, where the desktop allows it")
        self.backend = QComboBox()
        self.backend.addItem("Automatic (recommended)", "auto")
        for name in self._services.backend_names():
            self.backend.addItem(name, name)
        self.report = QPlainTextEdit()
        self.report.setObjectName("backend_report")
        self.report.setReadOnly(True)
        self.report.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.report.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlainText("Checking…")
        self.report.setMinimumHeight(90)
        self.report.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        form = _form()
        self._add_field(form, "&Automatically:", "auto_set", _WALLPAPER, self.auto_set)
        fixed_row = _row(self.at_fixed, self.fixed_time, spacing=8)
        self._add_field(form, "W&hen:", "schedule", _WALLPAPER, self.at_publish, fixed_row)
        # A bad time is reported beside the schedule it belongs to.
        self._errors["fixed_time"] = self._errors["schedule"]
        self._fields["fixed_time"] = (_WALLPAPER, self.fixed_time)
        self._add_field(form, "&Lock screen:", "lock_screen", _WALLPAPER, self.lock_screen)
        self._add_field(form, "&Backend:", "wallpaper_backend", _WALLPAPER, self.backend)
        caption = QLabel("What Huewall finds on this desktop:")
        caption.setBuddy(self.report)
        _add_below(form, caption)
        _add_below(form, self.report)
        page, _ = self._page(form)
        return page

    def _palette_page(self) -> QWidget:
        self.provider = QComboBox()
        for value, text in _PROVIDERS:
            self.provider.addItem(text, value)
        self.provider.currentIndexChanged.connect(self._on_provider_changed)
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("http://localhost:11434/v1")
        self.base_url.textChanged.connect(self._update_enabled)
        self.base_url.editingFinished.connect(self._reload_key_if_endpoint_changed)
        self.model = QLineEdit()
        self.model.setPlaceholderText(f"A vision model, e.g. {DEFAULT_AI_MODEL} or llava")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("Reading the keyring…")
        self.api_key.textEdited.connect(self._on_api_key_edited)
        self.show_key = QToolButton()
        self.show_key.setObjectName("show_key")
        self.show_key.setText("Show")
        self.show_key.setCheckable(True)
        self.show_key.setToolTip("Show or hide the key")
        self.show_key.toggled.connect(self._on_show_key_toggled)
        self.keyring_note = _hint("")
        self.keyring_note.setObjectName("keyring_note")
        self.test_button = QPushButton("&Test")
        self.test_button.setObjectName("test_ai")
        self.test_button.setAutoDefault(False)
        self.test_button.setToolTip("Ask the model for one palette with these settings")
        self.test_button.clicked.connect(self._on_test_clicked)
        self.test_result = WrappedLabel()
        self.test_result.setObjectName("test_result")
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_result.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        form = _form()
        self._add_field(form, "&Source:", "ai_provider", _PALETTE, self.provider)
        self._add_field(form, "Server &URL:", "ai_base_url", _PALETTE, self.base_url)
        self._add_field(form, "M&odel:", "ai_model", _PALETTE, self.model)
        key_row = _row(self.api_key, self.show_key, spacing=4, stretch=False)
        self._add_field(
            form, "API &key:", "api_key", _PALETTE, key_row, self.keyring_note, focus=self.api_key
        )
        test_row = QWidget()
        test_layout = QHBoxLayout(test_row)
        test_layout.setContentsMargins(0, 0, 0, 0)
        test_layout.setSpacing(10)
        test_layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignTop)
        test_layout.addWidget(self.test_result, 1)
        _add_below(form, test_row)
        page, outer = self._page(
            form,
            "An AI vision model can design each picture's gradient; without one, Huewall "
            "computes it from the picture. The key is kept in your system keyring.",
        )
        outer.addStretch(1)
        return page

    def _exports_page(self) -> QWidget:
        default_dir, templates_dir = self._services.theme_folders()
        self.theme_dir = QLineEdit()
        self.theme_dir.setPlaceholderText(default_dir)
        self.theme_dir.setClearButtonEnabled(True)
        browse = QPushButton("Browse…")
        browse.setObjectName("browse_theme_dir")
        browse.clicked.connect(self._on_browse_theme_dir)
        form = _form()
        self._add_field(
            form,
            "&Theme folder:",
            "theme_dir",
            _EXPORTS,
            _row(self.theme_dir, browse, stretch=False),
            _hint("Empty: the default shown. Bars, terminals and window borders read it."),
            focus=self.theme_dir,
        )
        self.export_checks: dict[str, QCheckBox] = {}
        boxes = []
        for name in DEFAULT_FILES:
            box = QCheckBox(name)
            box.setObjectName(f"export_{name}")
            self.export_checks[name] = box
            boxes.append(box)
        files = QWidget()
        grid = QGridLayout(files)
        grid.setContentsMargins(0, 0, 0, 0)
        for index, box in enumerate(boxes):
            grid.addWidget(box, index // 2, index % 2)
        self._add_field(form, "&Files:", "export_files", _EXPORTS, files, focus=boxes[0])
        open_templates = QPushButton("Open folder")
        open_templates.setObjectName("open_templates")
        open_templates.clicked.connect(lambda: self._services.open_folder(templates_dir))
        templates = QLabel(templates_dir)
        templates.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Templates:", _row(templates, open_templates))
        self.hook = QLineEdit()
        self.hook.setPlaceholderText("e.g. sh -c 'pkill -USR2 waybar'")
        self.test_hook_button = QPushButton("Test")
        self.test_hook_button.setObjectName("test_hook")
        self.test_hook_button.clicked.connect(self._on_test_hook_clicked)
        self.hook_result = WrappedLabel()
        self.hook_result.setObjectName("hook_result")
        self._add_field(
            form,
            "&Hook command:",
            "hook",
            _EXPORTS,
            _row(self.hook, self.test_hook_button, stretch=False),
            _hint("Run after each change, without a shell, with HUEWALL_* variables."),
            self.hook_result,
            focus=self.hook,
        )
        self.export_gradient = GradientBar()
        self.export_gradient.setObjectName("export_gradient")
        self.swatches: list[QLabel] = []
        swatch_row = QWidget()
        swatch_grid = QGridLayout(swatch_row)
        swatch_grid.setContentsMargins(0, 0, 0, 0)
        swatch_grid.setSpacing(3)
        for index in range(16):
            swatch = QLabel()
            swatch.setObjectName(f"color{index}")
            swatch.setFixedSize(24, 18)
            swatch.setToolTip(f"color{index}")
            swatch_grid.addWidget(swatch, index // 8, index % 8)
            self.swatches.append(swatch)
        group = QGroupBox("Preview: the gradient and the 16 terminal colours")
        inner = QVBoxLayout(group)
        inner.addWidget(self.export_gradient)
        inner.addWidget(swatch_row, 0, Qt.AlignmentFlag.AlignLeft)
        page, outer = self._page(form)
        outer.addWidget(group)
        outer.addStretch(1)
        return page

    def _on_browse_theme_dir(self) -> None:
        start = self.theme_dir.text() or self.theme_dir.placeholderText()
        chosen = QFileDialog.getExistingDirectory(self, "Theme folder", start)
        if chosen:
            self.theme_dir.setText(chosen)

    def _hook_argv(self) -> list[str] | None:
        """The hook command split as a shell would split it; None if it cannot be."""
        try:
            return shlex.split(self.hook.text())
        except ValueError:
            return None

    def _on_test_hook_clicked(self) -> None:
        argv = self._hook_argv()
        if not argv:
            self.hook_result.setText(
                "Type a command first." if argv == [] else "Unbalanced quotes."
            )
            return
        services = self._services
        self.test_hook_button.setEnabled(False)
        self.hook_result.setText("Running…")

        def done(line: object) -> None:
            self.test_hook_button.setEnabled(True)
            self.hook_result.setStyleSheet("")
            self.hook_result.setText(str(line))

        def failed(message: str) -> None:
            self.test_hook_button.setEnabled(True)
            self.hook_result.setStyleSheet(f"color: {_tone(self, 'error')}")
            self.hook_result.setText(message)

        self._start("test hook", lambda _ctx: services.test_hook(argv), done, failed)

    def _on_theme_preview_succeeded(self, colours: object) -> None:
        if not isinstance(colours, tuple):
            return
        for swatch, colour in zip(self.swatches, colours, strict=False):
            swatch.setStyleSheet(f"background: {colour}; border: 1px solid palette(mid);")
            swatch.setToolTip(f"{swatch.objectName()} {colour}")

    def _general_page(self) -> QWidget:
        self.notify = QCheckBox("Notify me when a new picture arrives")
        form = _form()
        self._add_field(form, "&Notifications:", "notify", _GENERAL, self.notify)
        self.start_at_login = QCheckBox("Start Huewall when I log in")
        self.start_at_login.setObjectName("start_at_login")
        self.start_at_login.setEnabled(False)  # until the entry has been read
        self._add_field(form, "&Start at login:", "start_at_login", _GENERAL, self.start_at_login)
        self.autostart_note = _hint("Checking…")
        self.autostart_note.setObjectName("autostart_note")
        _add_below(form, self.autostart_note)
        self.thumbnail = QLabel("Loading…")
        self.thumbnail.setObjectName("thumbnail")
        self.thumbnail.setFixedSize(THUMBNAIL_SIZE)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setFrameShape(QFrame.Shape.StyledPanel)
        self.gradient = GradientBar()
        self.gradient.setObjectName("gradient")
        self.gradient_caption = _hint("")
        self.gradient_caption.setObjectName("gradient_caption")
        self.gradient_caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        beside = QVBoxLayout()
        beside.setSpacing(6)
        beside.addWidget(QLabel("Its gradient, for window borders and bars:"))
        beside.addWidget(self.gradient)
        beside.addWidget(self.gradient_caption)
        beside.addStretch(1)
        box = QGroupBox("Current picture")
        inner = QHBoxLayout(box)
        inner.setContentsMargins(12, 10, 12, 12)
        inner.setSpacing(14)
        inner.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        inner.addLayout(beside, 1)
        page, outer = self._page(form)
        outer.addWidget(box)
        outer.addStretch(1)
        return page

    # ------------------------------------------------------------ loading

    def _load(self, settings: Settings) -> None:
        known = self._market_names
        chosen = [m for m in settings.markets if m in known]
        main = settings.main_market
        if main is None:
            # Nothing chosen yet: start from what Huewall uses now (the system locale).
            main = default_market(None, os.environ) if not chosen else chosen[0]
        if main in known and main not in chosen:
            chosen.insert(0, main)
        self._main_choice = main if main in known else (chosen[0] if chosen else None)
        self._order = list(chosen)  # the tray's order: as saved, then as ticked
        self.main_market.clear()
        # The ticked markets first, in their order, then the rest by name.
        rest = sorted((c for c in known if c not in chosen), key=lambda c: (known[c], c))
        self.market_list.blockSignals(True)
        self.market_list.clear()
        for code in (*chosen, *rest):
            item = QListWidgetItem(f"{known[code]}  \u00b7  {code}")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            ticked = code in chosen
            item.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            self.market_list.addItem(item)
        self.market_list.blockSignals(False)
        self.market_list.scrollToTop()
        self._rebuild_main_market()
        self._select(self.resolution, settings.resolution)

        self.auto_set.setChecked(settings.auto_set)
        (self.at_fixed if settings.schedule == "fixed" else self.at_publish).setChecked(True)
        self.fixed_time.setTime(QTime.fromString(settings.fixed_time, "HH:mm"))
        self.lock_screen.setChecked(settings.lock_screen)
        if not self._select(self.backend, settings.wallpaper_backend):
            self.backend.addItem(f"{settings.wallpaper_backend} (not available here)")
            self.backend.setItemData(self.backend.count() - 1, settings.wallpaper_backend)
            self.backend.setCurrentIndex(self.backend.count() - 1)

        self.provider.blockSignals(True)
        self._select(self.provider, settings.ai_provider)
        self.provider.blockSignals(False)
        self.base_url.setText(settings.ai_base_url)
        self.model.setText(settings.ai_model)
        self.notify.setChecked(settings.notify)
        self.theme_dir.setText(settings.theme_dir)
        for name, box in self.export_checks.items():
            box.setChecked(name in settings.export_files)
        self.hook.setText(shlex.join(settings.hook))
        self._update_enabled()

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> bool:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)
        return index >= 0

    def _market_items(self) -> list[QListWidgetItem]:
        return [self.market_list.item(row) for row in range(self.market_list.count())]

    def chosen_markets(self) -> tuple[str, ...]:
        """The ticked markets: those saved before in their order, then as ticked."""
        return tuple(self._order)

    def _rebuild_main_market(self) -> None:
        current = self.main_market.currentData()
        if current is not None:
            self._main_choice = str(current)
        chosen = self.chosen_markets()
        self.main_market.blockSignals(True)
        self.main_market.clear()
        for code in chosen:
            self.main_market.addItem(f"{self._market_names[code]} ({code})", code)
        main = self._main_choice
        if main is not None and main not in chosen:
            # Kept so the user sees what changed; Save asks them to choose again.
            self.main_market.addItem(
                f"{self._market_names.get(main, main)} ({main}), not ticked", main
            )
        if main is not None:
            self._select(self.main_market, main)
        self.main_market.blockSignals(False)
        count = len(chosen)
        self._chosen_count.setText(
            "No market ticked" if count == 0 else f"{count} ticked" if count > 1 else "1 ticked"
        )

    def _on_market_filter_changed(self, text: str) -> None:
        needle = text.strip().casefold()
        for item in self._market_items():
            code = str(item.data(Qt.ItemDataRole.UserRole))
            haystack = f"{self._market_names[code]} {code}".casefold()
            item.setHidden(bool(needle) and needle not in haystack)

    def _on_market_list_item_changed(self, item: QListWidgetItem) -> None:
        code = str(item.data(Qt.ItemDataRole.UserRole))
        ticked = item.checkState() == Qt.CheckState.Checked
        if ticked and code not in self._order:
            self._order.append(code)
        elif not ticked and code in self._order:
            self._order.remove(code)
        self._rebuild_main_market()

    # ----------------------------------------------------- background work

    def _start(
        self,
        name: str,
        work: Callable[[JobContext], Any],
        on_succeeded: Callable[[Any], None],
        on_failed: Callable[[str], None],
    ) -> Job:
        job = Job(name, work)
        job.signals.succeeded.connect(on_succeeded)
        job.signals.failed.connect(on_failed)
        job.signals.finished.connect(self._on_job_finished)
        self._jobs.add(job)
        self._pool.start(job)
        return job

    def _on_job_finished(self) -> None:
        sender = self.sender()
        self._jobs = {job for job in self._jobs if job.signals is not sender}

    def _start_background_work(self) -> None:
        services = self._services
        self._start(
            "backend report",
            lambda _ctx: services.backend_report(),
            self._on_report_succeeded,
            self._on_report_failed,
        )
        size = THUMBNAIL_SIZE * self.devicePixelRatioF()

        def preview(_ctx: JobContext) -> tuple[QImage | None, Palette | None, bool]:
            path, palette = services.preview()
            return _thumbnail(path, size), palette, path is not None

        self._start("preview", preview, self._on_preview_succeeded, self._on_preview_failed)
        self._start(
            "theme preview",
            lambda _ctx: services.theme_preview(),
            self._on_theme_preview_succeeded,
            lambda message: log.info("no theme preview: %s", message),
        )
        self._start(
            "autostart status",
            lambda _ctx: services.autostart_status(),
            self._on_autostart_succeeded,
            self._on_autostart_failed,
        )
        self._load_key(self._endpoint())

    def _on_autostart_succeeded(self, result: object) -> None:
        assert isinstance(result, tuple)
        enabled, where = bool(result[0]), str(result[1])
        self._autostart_was = enabled
        self.start_at_login.setChecked(enabled)
        self.start_at_login.setEnabled(True)
        self.autostart_note.setText(where)

    def _on_autostart_failed(self, message: str) -> None:
        self._autostart_was = None
        self.start_at_login.setEnabled(False)
        self.autostart_note.setText(f"Cannot tell whether Huewall starts at login: {message}")

    def _load_key(self, endpoint: str | None) -> None:
        """Ask the keyring (off the GUI thread) whether it works and for ``endpoint``'s key.

        Only the newest request's key is shown: an older answer may be another endpoint's."""
        self._key_generation += 1
        generation, services = self._key_generation, self._services

        def work(_ctx: JobContext) -> tuple[int, str | None, bool, str, str | None]:
            usable, why = services.keyring_status()
            key = services.api_key(endpoint) if usable and endpoint else None
            return generation, endpoint, usable, why, key

        self._start("keyring", work, self._on_keyring_succeeded, self._on_keyring_failed)

    def _on_report_succeeded(self, report: object) -> None:
        self.report.setPlainText(str(report).rstrip() or "(nothing to report)")

    def _on_report_failed(self, message: str) -> None:
        self.report.setPlainText(f"Could not check this desktop: {message}")

    def _on_preview_succeeded(self, result: object) -> None:
        image, palette, has_path = cast("tuple[QImage | None, Palette | None, bool]", result)
        if image is not None:
            pixmap = QPixmap.fromImage(image)
            pixmap.setDevicePixelRatio(self.devicePixelRatioF())
            self.thumbnail.setPixmap(pixmap)
        else:
            self.thumbnail.setText("Cannot show the picture" if has_path else "No picture yet")
        self.gradient.set_palette(palette)
        self.export_gradient.set_palette(palette)
        if palette is None:
            self.gradient_caption.setText("No gradient yet")
        else:
            self.gradient_caption.setText(
                f"{palette.gradient_from} → {palette.gradient_to}, {palette.gradient_angle}°"
            )

    def _on_preview_failed(self, message: str) -> None:
        self.thumbnail.setText("No picture yet")
        self.gradient_caption.setText(f"Cannot show the current picture: {message}")

    def _show_last_error(self, message: str | None) -> None:
        self._last_error = message
        if message:
            self._problem.setText(f"Last error: {message}")
            self._problem.setStyleSheet(f"color: {_tone(self, 'error')}")
            self._problem.show()
        else:
            self._problem.hide()

    # ---------------------------------------------------------- the API key

    def _endpoint(self) -> str | None:
        """The AI endpoint the key field belongs to, or None when no key applies."""
        provider = self.provider.currentData()
        if provider == "openai":
            return DEFAULT_BASE_URL
        if provider == "custom":
            url = self.base_url.text().strip()
            _, errors = self._settings.with_changes(ai_base_url=url)
            return url if url and not errors else None
        return None

    def _on_keyring_succeeded(self, result: object) -> None:
        generation, endpoint, usable, why, key = cast(
            "tuple[int, str | None, bool, str, str | None]", result
        )
        if usable:
            self._set_keyring_note(f"Stored in {why}." if why else "Stored in the keyring.", True)
        else:
            self._set_keyring_note(why, False)
        if generation == self._key_generation and not self._key_dirty:
            self._key_endpoint = endpoint
            self.api_key.setText(key or "")
        self._update_enabled()

    def _on_keyring_failed(self, message: str) -> None:
        self._set_keyring_note(message, False)
        self._update_enabled()

    def _set_keyring_note(self, text: str, usable: bool) -> None:
        self._keyring_ok = usable
        if usable:
            self.keyring_note.setText(text)
            self.keyring_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        else:
            # Not an error of the user's: plain text, but not greyed out either.
            reason = text.rstrip(".")
            self.keyring_note.setText(f"The keyring is not available: {reason}. {_ENV_FALLBACK}")
            self.keyring_note.setForegroundRole(QPalette.ColorRole.WindowText)

    def _reload_key_if_endpoint_changed(self) -> None:
        """Show the stored key of the endpoint now chosen (never another endpoint's)."""
        endpoint = self._endpoint()
        if self._key_dirty or endpoint == self._key_endpoint or not self._keyring_ok:
            self._update_enabled()
            return
        self._key_endpoint = None
        self.api_key.clear()
        self._load_key(endpoint)
        self._update_enabled()

    def _on_api_key_edited(self, _text: str) -> None:
        self._key_dirty = True

    def _on_show_key_toggled(self, shown: bool) -> None:
        self.api_key.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.show_key.setText("Hide" if shown else "Show")

    def _typed_key(self) -> str | None:
        """The key in the field, when it belongs to the endpoint shown now."""
        if not self.api_key.isEnabled():
            return None
        if not self._key_dirty and self._key_endpoint != self._endpoint():
            return None
        return self.api_key.text().strip() or None

    # ------------------------------------------------------------- the test

    def _on_provider_changed(self, _index: int) -> None:
        self.test_result.clear()
        self._reload_key_if_endpoint_changed()

    def _on_test_clicked(self) -> None:
        provider = str(self.provider.currentData())
        checks: dict[str, Any] = {"ai_provider": provider, "ai_model": self.model.text()}
        if provider == "custom":
            checks["ai_base_url"] = self.base_url.text()
        errors = self._check(checks)
        if errors:
            self._show_errors(errors)
            return
        for name in checks:
            self._errors[name].hide()
        base_url = DEFAULT_BASE_URL if provider == "openai" else self.base_url.text().strip()
        model, key, services = self.model.text().strip(), self._typed_key(), self._services
        self.test_button.setEnabled(False)
        self._set_test_result("Testing…", "hint")
        self._start(
            "AI test",
            lambda _ctx: services.test_ai(provider, base_url, model, key),
            self._on_test_succeeded,
            self._on_test_failed,
        )
        self._test_running = True

    def _on_test_succeeded(self, line: object) -> None:
        self._test_running = False
        self._set_test_result(str(line), "ok")
        self._update_enabled()

    def _on_test_failed(self, message: str) -> None:
        self._test_running = False
        self._set_test_result(f"Failed: {message}", "error")
        self._update_enabled()

    def _set_test_result(self, text: str, kind: str) -> None:
        self.test_result.setText(text)
        self.test_result.setStyleSheet(f"color: {_tone(self, kind)}")

    # ------------------------------------------------------------ the state

    def _update_enabled(self) -> None:
        auto = self.auto_set.isChecked()
        self.at_publish.setEnabled(auto)
        self.at_fixed.setEnabled(auto)
        self.fixed_time.setEnabled(auto and self.at_fixed.isChecked())
        provider = self.provider.currentData()
        self.base_url.setEnabled(provider == "custom")
        self.model.setEnabled(provider != "none")
        endpoint = self._endpoint()
        key_usable = bool(self._keyring_ok) and provider != "none"
        self.api_key.setEnabled(key_usable and endpoint is not None)
        self.show_key.setEnabled(self.api_key.isEnabled())
        if self._keyring_ok is None:
            self.api_key.setPlaceholderText("Reading the keyring…")
        elif not self._keyring_ok:
            self.api_key.setPlaceholderText("Keyring not available")
        elif provider == "none":
            self.api_key.setPlaceholderText("Not needed for the local palette")
        elif endpoint is None:
            self.api_key.setPlaceholderText("Enter the server URL first")
        else:
            self.api_key.setPlaceholderText("None stored (a local server may need none)")
        self.keyring_note.setVisible(bool(self.keyring_note.text()) and provider != "none")
        self.test_button.setEnabled(provider != "none" and not self._test_running)
        for button in self._buttons.buttons():
            button.setEnabled(not self._saving)

    # ----------------------------------------------------------- validation

    def _values(self) -> dict[str, Any]:
        provider = str(self.provider.currentData())
        values: dict[str, Any] = {
            "markets": list(self.chosen_markets()),
            "main_market": self.main_market.currentData(),
            "resolution": self.resolution.currentData(),
            "auto_set": self.auto_set.isChecked(),
            "schedule": "fixed" if self.at_fixed.isChecked() else "publish",
            "fixed_time": self.fixed_time.time().toString("HH:mm"),
            "lock_screen": self.lock_screen.isChecked(),
            "wallpaper_backend": self.backend.currentData(),
            "ai_provider": provider,
            "notify": self.notify.isChecked(),
            "theme_dir": self.theme_dir.text().strip(),
            "export_files": [n for n, box in self.export_checks.items() if box.isChecked()],
        }
        argv = self._hook_argv()
        values["hook"] = argv if argv is not None else "unbalanced quotes"
        # Fields that do not apply keep their value, so switching back restores them.
        if provider != "none":
            values["ai_model"] = self.model.text()
        if provider == "custom":
            values["ai_base_url"] = self.base_url.text()
        return values

    def _check(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The core's validation plus the rules that span fields."""
        _, errors = self._settings.with_changes(**values)
        if "markets" in values and not values["markets"]:
            errors["markets"] = "Tick at least one market."
        elif "main_market" in values and "main_market" not in errors:
            if values["main_market"] is None:
                errors["main_market"] = "Choose the main market."
            elif "markets" in values and values["main_market"] not in values["markets"]:
                errors["main_market"] = "The main market must be one of the ticked markets."
        if (
            values.get("ai_provider") == "custom"
            and "ai_base_url" not in errors
            and not str(values.get("ai_base_url", "")).strip()
        ):
            errors["ai_base_url"] = "Enter the server's URL, e.g. http://localhost:11434/v1"
        return errors

    def _clear_errors(self) -> None:
        for label in self._errors.values():
            label.hide()
            label.clear()
        self._show_last_error(self._last_error)

    def _show_errors(self, errors: Mapping[str, str]) -> None:
        tone = _tone(self, "error")
        unplaced: list[str] = []
        for name, message in errors.items():
            label = self._errors.get(name)
            if label is None:
                unplaced.append(f"{name}: {message}")
                continue
            text = message[:1].upper() + message[1:]
            label.setText(text if text.endswith((".", "?", "!")) else f"{text}.")
            label.setStyleSheet(f"color: {tone}")
            label.show()
        if unplaced:
            self._problem.setText("; ".join(unplaced))
            self._problem.setStyleSheet(f"color: {tone}")
            self._problem.show()
        order = list(self._fields)
        first = min((n for n in errors if n in self._fields), key=order.index, default=None)
        if first is not None:
            page, widget = self._fields[first]
            self.tabs.setCurrentIndex(page)
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    # ------------------------------------------------------------------ save

    def _on_save_clicked(self) -> None:
        if self._saving:
            return
        self._clear_errors()
        values = self._values()
        errors = self._check(values)
        if errors:
            self._show_errors(errors)
            return
        new, _ = self._settings.with_changes(**values)
        endpoint = self._endpoint()
        if self._key_dirty and self._keyring_ok and self.api_key.isEnabled() and endpoint:
            key = self.api_key.text().strip() or None
            services = self._services
            self._saving = True
            self._update_enabled()
            self._start(
                "store API key",
                lambda _ctx: services.store_api_key(endpoint, key),
                lambda _result: self._save_autostart(new),
                self._on_store_key_failed,
            )
            return
        self._save_autostart(new)

    def _save_autostart(self, new: Settings) -> None:
        """Second step of Save: add or remove the login entry if the box changed."""
        wanted = self.start_at_login.isChecked()
        if self._autostart_was is None or wanted == self._autostart_was or self._closed:
            self._finish_save(new)
            return
        services = self._services
        self._saving = True
        self._update_enabled()

        def done(_result: object) -> None:
            self._autostart_was = wanted
            self._finish_save(new)

        self._start(
            "start at login",
            lambda _ctx: services.set_autostart(wanted),
            done,
            self._on_autostart_save_failed,
        )

    def _on_autostart_save_failed(self, message: str) -> None:
        self._saving = False
        self._update_enabled()
        self._show_errors({"start_at_login": f"Could not change it: {message}"})

    def _finish_save(self, new: Settings) -> None:
        self._saving = False
        self._update_enabled()
        if self._closed:
            return  # cancelled while the key was being stored
        self._settings = new
        self.saved.emit(new)
        self.accept()

    def _on_store_key_failed(self, message: str) -> None:
        self._saving = False
        self._update_enabled()
        self._show_errors({"api_key": f"Could not store the key: {message}"})

    # -------------------------------------------------------------- closing

    def done(self, result: int) -> None:
        QSettings("huewall", "huewall").setValue(GEOMETRY_KEY, self.saveGeometry())
        self._closed = True
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        if self._closed:
            # Shown again after Save or Cancel: start from the settings as they are now.
            self._closed = False
            self._reset()
        super().showEvent(event)

    def _reset(self) -> None:
        self._clear_errors()
        self._key_dirty = False
        self._key_endpoint = None
        self._keyring_ok = None
        self.api_key.clear()
        self.show_key.setChecked(False)
        self.test_result.clear()
        self._autostart_was = None
        self.start_at_login.setEnabled(False)
        self.autostart_note.setText("Checking…")
        self.market_filter.clear()
        self.tabs.setCurrentIndex(_PICTURES)
        self._load(self._settings)
        self._show_last_error(self._services.last_error())
        self.report.setPlainText("Checking…")
        self.thumbnail.clear()
        self.thumbnail.setText("Loading…")
        self._start_background_work()

    def _restore_geometry(self) -> None:
        geometry = QSettings("huewall", "huewall").value(GEOMETRY_KEY)
        if not (geometry and self.restoreGeometry(geometry)):
            self.resize(720, 520)


__all__ = ["PAGES", "SettingsServices", "SettingsWindow"]
