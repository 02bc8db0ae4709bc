"""Start Huewall at login: an XDG autostart entry, a macOS LaunchAgent or a Windows Run value.

``autostart_for(os.environ)`` picks the mechanism for the platform. Nothing here imports Qt,
and ``winreg`` is loaded only when a Windows entry is first touched (tests hand in a fake).
Every failure becomes a one-line ``StoreError`` naming the file or registry key.
"""

from __future__ import annotations

import importlib
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, cast

from desktop_app.core.errors import StoreError, UsageError
from desktop_app.core.files import atomic_write_bytes, atomic_write_text

APP_ID = "io.github.huewall.Huewall"
DESKTOP_FILE_NAME = f"{APP_ID}.desktop"
PLIST_NAME = f"{APP_ID}.plist"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Huewall"
FLATPAK_INFO = Path("/.flatpak-info")

# Characters that force an Exec argument into double quotes (Desktop Entry spec, "The Exec key").
_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
# Inside double quotes these four must be preceded by a backslash.
_ESCAPED_IN_QUOTES = frozenset('"`$\\')


class Autostart(Protocol):
    def enabled(self) -> bool:
        """Whether Huewall starts at login."""
        ...

    def enable(self) -> None: ...

    def disable(self) -> None:
        """Remove the entry; no error when there is none."""
        ...

    def describe(self) -> str:
        """One line: where the entry lives and what it runs."""
        ...


# --- the command to run -------------------------------------------------------------------


def default_command(platform: str = sys.platform) -> list[str]:
    """How to start the tray app from outside: the frozen binary, the ``huewall`` script
    installed beside this interpreter, or ``python -m desktop_app``."""
    if getattr(sys, "frozen", False):
        return [os.path.abspath(sys.executable)]
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    if platform == "win32":
        # The ``huewall.exe`` console script would keep a console window open all session.
        pythonw = os.path.join(bindir, "pythonw.exe")
        if os.path.exists(pythonw):
            return [pythonw, "-m", "desktop_app"]
    else:
        script = shutil.which("huewall", path=bindir)
        if script is not None:
            return [os.path.abspath(script)]
    return [os.path.abspath(sys.executable), "-m", "desktop_app"]


# --- Desktop Entry Exec quoting -------------------------------------------------------------


def _quote_exec_arg(arg: str) -> str:
    if arg and not _RESERVED.intersection(arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in _ESCAPED_IN_QUOTES else c for c in arg) + '"'
    return quoted.replace("%", "%%")


def _escape_string_value(value: str) -> str:
    """The general escapes of a ``string`` value, applied after the Exec quoting."""
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    escaped = escaped.replace("\r", "\\r")
    return "\\s" + escaped[1:] if escaped.startswith(" ") else escaped


def exec_line(command: Sequence[str]) -> str:
    """The ``Exec=`` value (as written in the file) that runs exactly ``command``."""
    if not command:
        raise UsageError("the autostart command is empty")
    return _escape_string_value(" ".join(_quote_exec_arg(arg) for arg in command))


def _unescape_string_value(value: str) -> str:
    out: list[str] = []
    chars = iter(value)
    for c in chars:
        if c != "\\":
            out.append(c)
            continue
        nxt = next(chars, "")
        out.append({"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}.get(nxt, "\\" + nxt))
    return "".join(out)


def parse_exec(value: str) -> list[str]:
    """The argument list an ``Exec=`` value (as written in the file) runs; the inverse of
    ``exec_line`` for commands without field codes."""
    text = _unescape_string_value(value)
    args: list[str] = []
    current: list[str] = []
    in_arg = in_quotes = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%" and text[i + 1 : i + 2] == "%":
            current.append("%")
            in_arg = True
            i += 2
            continue
        if in_quotes:
            if c == "\\" and text[i + 1 : i + 2] in _ESCAPED_IN_QUOTES:
                current.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_quotes = False
            else:
                current.append(c)
        elif c == '"':
            in_quotes = in_arg = True
        elif c == " ":
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(c)
            in_arg = True
        i += 1
    if in_quotes:
        raise ValueError(f"unterminated quote in Exec value {value!r}")
    if in_arg:
        args.append("".join(current))
    return args


def read_desktop_entry(text: str) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group (raw values, comments and other groups
    skipped)."""
    entries: dict[str, str] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        if group == "Desktop Entry" and "=" in line:
            key, _, val = line.partition("=")
            entries.setdefault(key.strip(), val.strip())
    return entries


# --- Linux and the BSDs: XDG autostart -------------------------------------------------------


def _flatpak_id(env: Mapping[str, str], flatpak_info: Path) -> str | None:
    if env.get("FLATPAK_ID"):
        return env["FLATPAK_ID"]
    try:
        text = flatpak_info.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError:
        return APP_ID
    for line in text.splitlines():
        key, sep, val = line.partition("=")
        if sep and key.strip() == "name" and val.strip():
            return val.strip()
    return APP_ID


class XdgAutostart:
    """``<config>/autostart/io.github.huewall.Huewall.desktop`` (freedesktop Autostart spec)."""

    def __init__(self, directory: Path, command: Sequence[str], *, flatpak: str | None) -> None:
        self.path = directory / DESKTOP_FILE_NAME
        self.command = list(command)
        self.flatpak = flatpak

    def content(self) -> str:
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Name=Huewall",
            "Comment=Bing's picture of the day as your wallpaper, with a matching gradient",
            f"Exec={exec_line(self.command)}",
            f"Icon={APP_ID}",
            "Terminal=false",
            "NoDisplay=false",
            "X-GNOME-Autostart-enabled=true",
        ]
        if self.flatpak is not None:
            lines.append(f"X-Flatpak={self.flatpak}")
        return "\n".join(lines) + "\n"

    def enabled(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(
                f"cannot read the autostart entry {self.path}: {_reason(exc)}"
            ) from None
        keys = read_desktop_entry(text)
        if keys.get("Hidden", "").lower() == "true":
            return False
        return keys.get("X-GNOME-Autostart-enabled", "true").lower() != "false"

    def enable(self) -> None:
        try:
            atomic_write_text(self.path, self.content())
        except OSError as exc:
            raise StoreError(
                f"cannot write the autostart entry {self.path}: {_reason(exc)}"
            ) from None

    def disable(self) -> None:
        _remove(self.path, "autostart entry")

    def describe(self) -> str:
        text = f"autostart entry {self.path} runs {shlex.join(self.command)}"
        if self.flatpak is not None:
            text += (
                " (Flatpak: the host reads this folder only when the app may write "
                "xdg-config/autostart or the Background portal allows it)"
            )
        return text


# --- macOS: a LaunchAgent ----------------------------------------------------------------------


class LaunchAgentAutostart:
    """``~/Library/LaunchAgents/io.github.huewall.Huewall.plist``, loaded by launchd at login."""

    def __init__(self, home: Path, command: Sequence[str]) -> None:
        self.path = home / "Library" / "LaunchAgents" / PLIST_NAME
        self.command = list(command)

    def content(self) -> bytes:
        agent: dict[str, Any] = {
            "Label": APP_ID,
            "ProgramArguments": self.command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
        }
        return plistlib.dumps(agent, fmt=plistlib.FMT_XML)

    def enabled(self) -> bool:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot read the launch agent {self.path}: {_reason(exc)}") from None
        try:
            agent = plistlib.loads(data)
        except Exception:
            return True  # launchd decides; the file is ours to replace or remove
        return not (isinstance(agent, dict) and agent.get("Disabled") is True)

    def enable(self) -> None:
        try:
            atomic_write_bytes(self.path, self.content())
        except OSError as exc:
            raise StoreError(f"cannot write the launch agent {self.path}: {_reason(exc)}") from None

    def disable(self) -> None:
        _remove(self.path, "launch agent")

    def describe(self) -> str:
        return f"launch agent {self.path} runs {shlex.join(self.command)} at login"


# --- Windows: the per-user Run key ------------------------------------------------------------


class Registry(Protocol):
    """The part of ``winreg`` used here."""

    HKEY_CURRENT_USER: Any
    KEY_QUERY_VALUE: int
    KEY_SET_VALUE: int
    REG_SZ: int

    def CreateKey(self, key: Any, sub_key: str) -> AbstractContextManager[Any]: ...

    def OpenKey(
        self, key: Any, sub_key: str, reserved: int, access: int
    ) -> AbstractContextManager[Any]: ...

    def SetValueEx(
        self, key: Any, value_name: str, reserved: int, type: int, value: str
    ) -> None: ...

    def QueryValueEx(self, key: Any, value_name: str) -> tuple[Any, int]: ...

    def DeleteValue(self, key: Any, value: str) -> None: ...


def load_winreg() -> Registry:
    try:
        return cast(Registry, importlib.import_module("winreg"))
    except ImportError:
        raise StoreError("the Windows registry is not available on this system") from None


class RunKeyAutostart:
    r"""The value ``Huewall`` under ``HKCU\Software\Microsoft\Windows\CurrentVersion\Run``."""

    def __init__(self, command: Sequence[str], registry: Registry | None = None) -> None:
        self.command = list(command)
        self.command_line = subprocess.list2cmdline(self.command)
        self._registry = registry

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_winreg()
        return self._registry

    def _where(self) -> str:
        return f"HKCU\\{RUN_KEY}\\{RUN_VALUE}"

    def enabled(self) -> bool:
        reg = self.registry
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_QUERY_VALUE) as key:
                value, _kind = reg.QueryValueEx(key, RUN_VALUE)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(
                f"cannot read the registry value {self._where()}: {_reason(exc)}"
            ) from None
        return bool(value)

    def enable(self) -> None:
        reg = self.registry
        try:
            with reg.CreateKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
                reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, self.command_line)
        except OSError as exc:
            raise StoreError(
                f"cannot write the registry value {self._where()}: {_reason(exc)}"
            ) from None

    def disable(self) -> None:
        reg = self.registry
        try:
            with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY, 0, reg.KEY_SET_VALUE) as key:
                reg.DeleteValue(key, RUN_VALUE)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(
                f"cannot remove the registry value {self._where()}: {_reason(exc)}"
            ) from None

    def describe(self) -> str:
        return f"registry value {self._where()} runs {self.command_line}"


# --- choosing ------------------------------------------------------------------------------------


def autostart_for(
    env: Mapping[str, str],
    platform: str = sys.platform,
    *,
    command: Sequence[str] | None = None,
    home: Path | None = None,
    registry: Registry | None = None,
    flatpak_info: Path = FLATPAK_INFO,
) -> Autostart:
    """The start-at-login mechanism for ``platform``; ``home`` defaults to ``$HOME``."""
    if platform == "win32":
        return RunKeyAutostart(command or default_command(platform), registry)
    home = home or Path(env.get("HOME") or Path.home())
    if platform == "darwin":
        return LaunchAgentAutostart(home, command or default_command(platform))
    if not platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        raise UsageError(f"starting at login is not supported on {platform}")
    flatpak = _flatpak_id(env, flatpak_info)
    if flatpak is not None:
        # Inside the sandbox XDG_CONFIG_HOME is the app's own; the session reads the host's.
        return XdgAutostart(
            home / ".config" / "autostart",
            command or ["flatpak", "run", flatpak],
            flatpak=flatpak,
        )
    config = env.get("XDG_CONFIG_HOME", "")
    config_home = Path(config) if os.path.isabs(config) else home / ".config"
    return XdgAutostart(
        config_home / "autostart", command or default_command(platform), flatpak=None
    )


def _remove(path: Path, what: str) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot remove the {what} {path}: {_reason(exc)}") from None


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)
