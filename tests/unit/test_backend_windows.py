"""Windows backend on Linux: recording fakes for winreg and SystemParametersInfoW."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.windows import (
    Win32Api,
    WindowsBackend,
    load_win32,
)
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

WINDOWS = Session.from_env({}, "win32")
AWKWARD = Path("C:/Users/Zoë/Pictures/Bing 'a' \"b\" ü 2024-06-01.jpg")
HKCU = object()
KEY = object()


class FakeWinreg:
    """Just enough winreg: constants, a context-managed key, recorded writes."""

    HKEY_CURRENT_USER = HKCU
    KEY_SET_VALUE = 0x0002
    REG_SZ = 1

    def __init__(self, log: list[tuple[Any, ...]], fail: OSError | None = None) -> None:
        self.log = log
        self.fail = fail

    @contextmanager
    def _key(self) -> Iterator[object]:
        self.log.append(("open",))
        try:
            yield KEY
        finally:
            self.log.append(("close",))

    def OpenKey(self, key: Any, sub_key: str, reserved: int, access: int) -> Any:
        self.log.append(("OpenKey", key, sub_key, reserved, access))
        if self.fail is not None:
            raise self.fail
        return self._key()

    def SetValueEx(self, key: Any, value_name: str, reserved: int, type: int, value: str) -> None:
        self.log.append(("SetValueEx", key, value_name, reserved, type, value))


def fake_api(
    log: list[tuple[Any, ...]],
    *,
    spi_result: int = 1,
    error: int = 0,
    registry_fails: OSError | None = None,
) -> Win32Api:
    def system_parameters_info(action: int, param: int, value: str, flags: int) -> int:
        log.append(("SystemParametersInfoW", action, param, value, flags))
        return spi_result

    return Win32Api(
        registry=FakeWinreg(log, registry_fails),
        system_parameters_info=system_parameters_info,
        last_error=lambda: error,
        format_error=lambda code: {5: "Access is denied.\r\n"}.get(code, f"code {code}"),
    )


def backend_with(api: Win32Api) -> WindowsBackend:
    return WindowsBackend(CommandRunner(env={"PATH": ""}), win32=lambda: api)


def test_detect() -> None:
    backend = WindowsBackend(CommandRunner(env={"PATH": ""}))
    assert backend.detect(WINDOWS) == "Windows"
    assert backend.detect(Session.from_env({}, "linux")) is None
    assert backend.detect(Session.from_env({}, "darwin")) is None


def test_fill_then_set(tmp_path: Path) -> None:
    log: list[tuple[Any, ...]] = []
    backend = backend_with(fake_api(log))
    assert backend.missing(WINDOWS) is None
    backend.set(AWKWARD, WINDOWS)
    assert log == [
        ("OpenKey", HKCU, r"Control Panel\Desktop", 0, FakeWinreg.KEY_SET_VALUE),
        ("open",),
        ("SetValueEx", KEY, "WallpaperStyle", 0, FakeWinreg.REG_SZ, "10"),
        ("SetValueEx", KEY, "TileWallpaper", 0, FakeWinreg.REG_SZ, "0"),
        ("close",),
        # SPI_SETDESKWALLPAPER, 0, the path as one str, SPIF_UPDATEINIFILE | SPIF_SENDCHANGE
        ("SystemParametersInfoW", 20, 0, str(AWKWARD), 3),
    ]


def test_a_false_bool_reports_the_last_error() -> None:
    log: list[tuple[Any, ...]] = []
    backend = backend_with(fake_api(log, spi_result=0, error=5))
    with pytest.raises(WallpaperError) as caught:
        backend.set(AWKWARD, WINDOWS)
    assert str(caught.value) == (
        "Windows: SystemParametersInfoW failed (error 5): Access is denied."
    )


def test_registry_failure_stops_before_the_call() -> None:
    log: list[tuple[Any, ...]] = []
    denied = PermissionError(13, "Access is denied")
    backend = backend_with(fake_api(log, registry_fails=denied))
    with pytest.raises(WallpaperError, match=r"^Windows: cannot write HKCU\\Control Panel"):
        backend.set(AWKWARD, WINDOWS)
    assert [entry[0] for entry in log] == ["OpenKey"]


def test_the_api_is_loaded_once_and_lazily() -> None:
    loads: list[int] = []
    log: list[tuple[Any, ...]] = []

    def loader() -> Win32Api:
        loads.append(1)
        return fake_api(log)

    backend = WindowsBackend(CommandRunner(env={"PATH": ""}), win32=loader)
    assert loads == []
    backend.set(AWKWARD, WINDOWS)
    backend.set(AWKWARD, WINDOWS)
    assert loads == [1]


@pytest.mark.skipif(sys.platform == "win32", reason="checks the behaviour away from Windows")
def test_away_from_windows() -> None:
    with pytest.raises(WallpaperError, match=r"^Windows: the Windows API is not available"):
        load_win32()
    backend = WindowsBackend(CommandRunner(env={"PATH": ""}))
    advice = backend.missing(WINDOWS)
    assert advice is not None and advice.startswith("the Windows API is not available")
    assert backend.tools() == {"user32.SystemParametersInfoW": None}


def test_importing_loads_neither_winreg_nor_ctypes_windll() -> None:
    probe = (
        "import sys, desktop_app.platform.wallpaper.backends.windows as w\n"
        "w.WindowsBackend\n"
        "print(sorted(m for m in ('winreg', 'ctypes', 'ctypes.wintypes') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
