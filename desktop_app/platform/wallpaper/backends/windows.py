"""Windows: "Fill" in the registry, then ``SystemParametersInfoW(SPI_SETDESKWALLPAPER)``.

winreg and ctypes' user32 are loaded when first needed (never at import time), through a
factory the tests replace with recording fakes.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

SPI_SETDESKWALLPAPER = 20
SPIF_UPDATEINIFILE = 1
SPIF_SENDCHANGE = 2
DESKTOP_KEY = r"Control Panel\Desktop"
# WallpaperStyle 10 with TileWallpaper 0 is "Fill": cover the screen, keep proportions.
FILL = (("WallpaperStyle", "10"), ("TileWallpaper", "0"))


class Registry(Protocol):
    """The part of ``winreg`` this backend uses."""

    HKEY_CURRENT_USER: Any
    KEY_SET_VALUE: int
    REG_SZ: int

    def OpenKey(  # winreg names it so
        self, key: Any, sub_key: str, reserved: int, access: int
    ) -> AbstractContextManager[Any]: ...

    def SetValueEx(  # winreg names it so
        self, key: Any, value_name: str, reserved: int, type: int, value: str
    ) -> None: ...


class SystemParametersInfoW(Protocol):
    def __call__(self, action: int, param: int, value: str, flags: int) -> int: ...


@dataclass(frozen=True)
class Win32Api:
    registry: Registry
    system_parameters_info: SystemParametersInfoW
    last_error: Callable[[], int]
    format_error: Callable[[int], str]


def load_win32() -> Win32Api:
    """The real winreg and ``user32.SystemParametersInfoW``, with argtypes and restype set."""
    try:
        winreg = importlib.import_module("winreg")
        ctypes = importlib.import_module("ctypes")
        wintypes = importlib.import_module("ctypes.wintypes")
        # use_last_error: ctypes saves GetLastError() right after the call for get_last_error.
        user32 = ctypes.WinDLL("user32", use_last_error=True)
    except (ImportError, AttributeError, OSError) as exc:
        raise WallpaperError(f"Windows: the Windows API is not available here ({exc})") from None
    function = user32.SystemParametersInfoW
    function.argtypes = (wintypes.UINT, wintypes.UINT, ctypes.c_wchar_p, wintypes.UINT)
    function.restype = wintypes.BOOL
    return Win32Api(
        registry=cast(Registry, winreg),
        system_parameters_info=function,
        last_error=ctypes.get_last_error,
        format_error=ctypes.FormatError,
    )


class WindowsBackend(Backend):
    name = "windows"
    label = "Windows"

    def __init__(self, runner: CommandRunner, win32: Callable[[], Win32Api] = load_win32) -> None:
        super().__init__(runner)
        self._load_win32 = win32
        self._win32: Win32Api | None = None

    def win32(self) -> Win32Api:
        if self._win32 is None:
            self._win32 = self._load_win32()
        return self._win32

    def detect(self, session: Session) -> str | None:
        return "Windows" if session.platform == "win32" else None

    def missing(self, session: Session) -> str | None:
        try:
            self.win32()
        except WallpaperError as exc:
            return str(exc).removeprefix(f"{self.label}: ")
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        api = self.win32()
        registry = api.registry
        try:
            with registry.OpenKey(
                registry.HKEY_CURRENT_USER, DESKTOP_KEY, 0, registry.KEY_SET_VALUE
            ) as key:
                for value_name, value in FILL:
                    registry.SetValueEx(key, value_name, 0, registry.REG_SZ, value)
        except OSError as exc:
            raise WallpaperError(
                f"{self.label}: cannot write HKCU\\{DESKTOP_KEY}: {exc.strerror or exc}"
            ) from None
        ok = api.system_parameters_info(
            SPI_SETDESKWALLPAPER, 0, str(path), SPIF_UPDATEINIFILE | SPIF_SENDCHANGE
        )
        if not ok:
            code = api.last_error()
            said = " ".join(api.format_error(code).split()) or "no message"
            raise WallpaperError(
                f"{self.label}: SystemParametersInfoW failed (error {code}): {said}"
            )

    def tools(self) -> dict[str, str | None]:
        try:
            self.win32()
        except WallpaperError:
            return {"user32.SystemParametersInfoW": None}
        return {"user32.SystemParametersInfoW": "user32.dll"}
