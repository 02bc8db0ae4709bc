"""Where the tray app's log goes: a small rotating file, plus the console when useful.

The file lives in the user's log folder (``platformdirs.user_log_dir``:
``~/.local/state/huewall/log/huewall.log`` on Linux) and rotates at about 1 MB, keeping
three old files. The console gets the same lines when Huewall runs in a terminal or
with ``--debug``. Qt's own warnings and uncaught exceptions (in a slot, say) go to the
same log instead of vanishing on a stderr nobody reads.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from types import TracebackType

import platformdirs
from PySide6.QtCore import QMessageLogContext, QtMsgType, qInstallMessageHandler

from desktop_app.core.config import APP_NAME

LOG_FILE_NAME = "huewall.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"

log = logging.getLogger("huewall")
_qt_log = logging.getLogger("huewall.qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


# Harmless warnings from platforms without a tray or real windows (offscreen, some
# Wayland compositors): kept at debug level so the log shows what matters.
_QT_NOISE = (
    "systemTrayWindowChanged",
    "This plugin does not support",
)


def log_directory() -> Path:
    """The user's log folder for Huewall (honours ``XDG_STATE_HOME`` on Linux)."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def configure_logging(
    *,
    debug: bool = False,
    console: bool | None = None,
    directory: Path | None = None,
    to_file: bool = True,
) -> Path | None:
    """Send the ``huewall`` loggers to the rotating file and, if wanted, to stderr.

    ``console`` defaults to "stderr is a terminal, or ``debug``". Returns the log file,
    or None without one: ``to_file`` False (a second start, which leaves the file to the
    running instance), or a folder that cannot be written (then the console is used
    whatever ``console`` says, so nothing is lost). Calling it again replaces the
    handlers.
    """
    if console is None:
        console = debug or _is_terminal()
    formatter = logging.Formatter(LOG_FORMAT)
    handlers: list[logging.Handler] = []
    path: Path | None = None
    problem = None
    if to_file:
        target = (directory or log_directory()) / LOG_FILE_NAME
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            file_handler = logging.handlers.RotatingFileHandler(
                target, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
            )
        except OSError as exc:
            problem = f"cannot write the log file {target}: {exc.strerror or exc}"
            console = True
        else:
            file_handler.setFormatter(formatter)
            handlers.append(file_handler)
            path = target
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        handlers.append(stream)

    root = logging.getLogger("huewall")
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    root.propagate = False
    if problem:
        log.warning("%s; logging to the console only", problem)
    return path


def install_crash_logging() -> None:
    """Route Qt's messages and uncaught Python exceptions (also those raised in slots)
    into the log."""
    qInstallMessageHandler(_on_qt_message)
    sys.excepthook = _on_uncaught


def _on_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = _QT_LEVELS.get(kind, logging.WARNING)
    if any(noise in message for noise in _QT_NOISE):
        level = min(level, logging.DEBUG)
    _qt_log.log(level, "%s", message)


def _on_uncaught(
    kind: type[BaseException], value: BaseException, traceback: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, traceback)
        return
    log.critical("uncaught exception", exc_info=(kind, value, traceback))


def _is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
