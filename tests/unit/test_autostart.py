"""Start at login: XDG autostart for real in a temp HOME, macOS plist, Windows via fake winreg."""

from __future__ import annotations

import configparser
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from desktop_app.core.errors import StoreError, UsageError
from desktop_app.platform.autostart import (
    RUN_KEY,
    autostart_for,
    default_command,
    exec_line,
    parse_exec,
)
from tests.support.xvfb import require

AWKWARD = ['/opt/My Apps/hue "wall" $HOME `x` 100%\\bin', "--flag", "it's"]
NO_FLATPAK = Path("/nonexistent/.flatpak-info")


def desktop_keys(path: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(path.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def validate(path: Path) -> None:
    tool = require("desktop-file-validate")
    result = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


# --- Linux ---------------------------------------------------------------------------------


def test_linux_on_status_off(isolated_home: Path) -> None:
    entry = autostart_for(os.environ, "linux", command=AWKWARD, flatpak_info=NO_FLATPAK)
    path = isolated_home / ".config" / "autostart" / "io.github.huewall.Huewall.desktop"
    assert not entry.enabled()

    entry.enable()
    assert entry.enabled()
    keys = desktop_keys(path)
    assert keys["Type"] == "Application"
    assert keys["Name"] == "Huewall"
    assert keys["Comment"]
    assert keys["Icon"] == "io.github.huewall.Huewall"
    assert keys["Terminal"] == "false"
    assert keys["NoDisplay"] == "false"
    assert keys["X-GNOME-Autostart-enabled"] == "true"
    assert "X-Flatpak" not in keys
    assert parse_exec(keys["Exec"]) == AWKWARD
    assert str(path) in entry.describe()
    assert not list(path.parent.glob("*.partial"))
    validate(path)

    entry.enable()  # again: same file, no error
    entry.disable()
    assert not path.exists()
    assert not entry.enabled()
    entry.disable()  # already off: no error


def test_exec_quoting_follows_the_spec() -> None:
    # Quoted: ", `, $ and \ get a backslash; then the string escape doubles every backslash.
    assert exec_line(['/a b/c"d', "plain", "50%", ""]) == r'"/a b/c\\"d" plain 50%% ""'
    assert exec_line(["/usr/bin/huewall"]) == "/usr/bin/huewall"
    assert exec_line(["/x\\y"]) == r'"/x\\\\y"'
    assert parse_exec(exec_line(["/a b/c", "", "x"])) == ["/a b/c", "", "x"]
    with pytest.raises(UsageError):
        exec_line([])


def test_xdg_config_home_is_used(tmp_path: Path) -> None:
    config = tmp_path / "elsewhere"
    entry = autostart_for(
        {"XDG_CONFIG_HOME": str(config), "HOME": str(tmp_path / "h")},
        "freebsd14",
        command=["/bin/huewall"],
        flatpak_info=NO_FLATPAK,
    )
    entry.enable()
    assert (config / "autostart" / "io.github.huewall.Huewall.desktop").is_file()
    # A relative XDG_CONFIG_HOME is invalid per the spec: fall back to ~/.config.
    rel = autostart_for(
        {"XDG_CONFIG_HOME": "rel", "HOME": str(tmp_path / "h")},
        "linux",
        command=["/bin/huewall"],
        flatpak_info=NO_FLATPAK,
    )
    rel.enable()
    assert (tmp_path / "h/.config/autostart/io.github.huewall.Huewall.desktop").is_file()


@pytest.mark.parametrize(
    "extra", ["Hidden=true", "X-GNOME-Autostart-enabled=false", "Hidden = True"]
)
def test_hidden_or_disabled_entry_counts_as_off(isolated_home: Path, extra: str) -> None:
    entry = autostart_for(os.environ, "linux", command=["/bin/huewall"], flatpak_info=NO_FLATPAK)
    entry.enable()
    path = isolated_home / ".config/autostart/io.github.huewall.Huewall.desktop"
    text = path.read_text().replace("X-GNOME-Autostart-enabled=true\n", "")
    path.write_text(text + extra + "\n")
    assert not entry.enabled()
    entry.enable()  # turning it on replaces the user's override
    assert entry.enabled()


def test_flatpak_uses_flatpak_run_and_the_host_autostart_folder(
    isolated_home: Path, tmp_path: Path
) -> None:
    env = {
        "HOME": str(isolated_home),
        "FLATPAK_ID": "io.github.huewall.Huewall",
        "XDG_CONFIG_HOME": str(isolated_home / ".var/app/io.github.huewall.Huewall/config"),
    }
    entry = autostart_for(env, "linux", flatpak_info=NO_FLATPAK)
    entry.enable()
    path = isolated_home / ".config/autostart/io.github.huewall.Huewall.desktop"
    keys = desktop_keys(path)
    assert parse_exec(keys["Exec"]) == ["flatpak", "run", "io.github.huewall.Huewall"]
    assert keys["X-Flatpak"] == "io.github.huewall.Huewall"
    assert "Flatpak" in entry.describe()
    assert entry.enabled()
    validate(path)

    # Without FLATPAK_ID, /.flatpak-info names the app.
    info = tmp_path / "flatpak-info"
    info.write_text("[Application]\nname=org.example.Other\nruntime=x\n")
    other = autostart_for({"HOME": str(isolated_home)}, "linux", flatpak_info=info)
    other.enable()
    keys = desktop_keys(path)
    assert parse_exec(keys["Exec"]) == ["flatpak", "run", "org.example.Other"]


def test_unwritable_folder_is_a_one_line_store_error(isolated_home: Path) -> None:
    blocker = isolated_home / ".config" / "autostart"
    blocker.write_text("not a folder")
    entry = autostart_for(os.environ, "linux", command=["/bin/huewall"], flatpak_info=NO_FLATPAK)
    with pytest.raises(StoreError) as info:
        entry.enable()
    assert "autostart" in str(info.value) and "\n" not in str(info.value)


def test_unknown_platform_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        autostart_for({}, "emscripten")


def test_default_command_runs_this_installation() -> None:
    command = default_command("linux")
    assert os.path.isabs(command[0])
    script = shutil.which("huewall", path=os.path.dirname(os.path.abspath(sys.executable)))
    if script is not None:
        assert command == [os.path.abspath(script)]
    else:
        assert command[1:] == ["-m", "desktop_app"]


# --- macOS ---------------------------------------------------------------------------------


def test_macos_launch_agent(tmp_path: Path) -> None:
    entry = autostart_for({}, "darwin", command=AWKWARD, home=tmp_path)
    path = tmp_path / "Library/LaunchAgents/io.github.huewall.Huewall.plist"
    assert not entry.enabled()
    entry.enable()
    with path.open("rb") as handle:
        agent = plistlib.load(handle)
    assert agent == {
        "Label": "io.github.huewall.Huewall",
        "ProgramArguments": AWKWARD,
        "RunAtLoad": True,
        "ProcessType": "Interactive",
    }
    assert entry.enabled()
    assert str(path) in entry.describe()
    entry.disable()
    assert not path.exists() and not entry.enabled()
    entry.disable()


# --- Windows -------------------------------------------------------------------------------

HKCU = object()


class FakeWinreg:
    """Just enough winreg: constants, context-managed keys, one Run key's values, a call log."""

    HKEY_CURRENT_USER = HKCU
    KEY_QUERY_VALUE = 0x0001
    KEY_SET_VALUE = 0x0002
    REG_SZ = 1

    def __init__(self, fail: OSError | None = None) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.values: dict[str, tuple[str, int]] = {}
        self.fail = fail

    @contextmanager
    def _key(self, name: str) -> Iterator[str]:
        try:
            yield name
        finally:
            self.log.append(("close", name))

    def CreateKey(self, key: Any, sub_key: str) -> Any:
        self.log.append(("CreateKey", key, sub_key))
        if self.fail is not None:
            raise self.fail
        return self._key("run")

    def OpenKey(self, key: Any, sub_key: str, reserved: int, access: int) -> Any:
        self.log.append(("OpenKey", key, sub_key, reserved, access))
        if self.fail is not None:
            raise self.fail
        return self._key("run")

    def SetValueEx(self, key: Any, value_name: str, reserved: int, type: int, value: str) -> None:
        self.log.append(("SetValueEx", key, value_name, reserved, type, value))
        self.values[value_name] = (value, type)

    def QueryValueEx(self, key: Any, value_name: str) -> tuple[str, int]:
        self.log.append(("QueryValueEx", key, value_name))
        if value_name not in self.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return self.values[value_name]

    def DeleteValue(self, key: Any, value: str) -> None:
        self.log.append(("DeleteValue", key, value))
        if self.values.pop(value, None) is None:
            raise FileNotFoundError(2, "The system cannot find the file specified")


WIN_COMMAND = ["C:\\Program Files\\Huewall\\huewall.exe", "--flag", 'say "hi"']
WIN_LINE = '"C:\\Program Files\\Huewall\\huewall.exe" --flag "say \\"hi\\""'


def test_windows_run_value_exact_calls() -> None:
    reg = FakeWinreg()
    entry = autostart_for({}, "win32", command=WIN_COMMAND, registry=reg)
    assert subprocess.list2cmdline(WIN_COMMAND) == WIN_LINE

    assert not entry.enabled()
    assert reg.log == [
        ("OpenKey", HKCU, RUN_KEY, 0, reg.KEY_QUERY_VALUE),
        ("QueryValueEx", "run", "Huewall"),
        ("close", "run"),
    ]
    reg.log.clear()

    entry.enable()
    assert reg.log == [
        ("CreateKey", HKCU, RUN_KEY),
        ("SetValueEx", "run", "Huewall", 0, reg.REG_SZ, WIN_LINE),
        ("close", "run"),
    ]
    assert entry.enabled()
    assert WIN_LINE in entry.describe() and RUN_KEY in entry.describe()
    reg.log.clear()

    entry.disable()
    assert reg.log == [
        ("OpenKey", HKCU, RUN_KEY, 0, reg.KEY_SET_VALUE),
        ("DeleteValue", "run", "Huewall"),
        ("close", "run"),
    ]
    assert not entry.enabled()
    entry.disable()  # no value: no error


def test_windows_registry_failure_is_a_store_error() -> None:
    reg = FakeWinreg(fail=PermissionError(5, "Access is denied"))
    entry = autostart_for({}, "win32", command=WIN_COMMAND, registry=reg)
    for action in (entry.enable, entry.enabled, entry.disable):
        with pytest.raises(StoreError, match="Access is denied"):
            action()


def test_winreg_is_not_imported_on_linux() -> None:
    code = (
        "import sys, os; from desktop_app.platform.autostart import autostart_for;"
        "autostart_for({}, 'win32', command=['x']).describe();"
        "assert 'winreg' not in sys.modules and 'PySide6' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the command line ----------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FLATPAK_ID"}
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


LINUX_HOST = pytest.mark.skipif(
    not sys.platform.startswith("linux") or Path("/.flatpak-info").exists(), reason="Linux host"
)


@LINUX_HOST
def test_cli_autostart(isolated_home: Path) -> None:
    path = isolated_home / ".config/autostart/io.github.huewall.Huewall.desktop"
    status = run_cli("autostart")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("off: ") and str(path) in status.stdout

    on = run_cli("autostart", "on")
    assert on.returncode == 0, on.stderr
    assert on.stdout.startswith("on: ")
    assert path.is_file()
    command = parse_exec(desktop_keys(path)["Exec"])
    assert os.path.isabs(command[0])
    assert run_cli("autostart", "status").stdout.startswith("on: ")

    off = run_cli("autostart", "off")
    assert off.returncode == 0 and off.stdout.startswith("off: ")
    assert not path.exists()

    bad = run_cli("autostart", "maybe")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


@LINUX_HOST
def test_cli_autostart_error_is_one_line(isolated_home: Path) -> None:
    (isolated_home / ".config" / "autostart").write_text("not a folder")
    result = run_cli("autostart", "on")
    assert result.returncode == 1
    assert result.stderr.startswith("huewall: error: cannot write the autostart entry")
    assert result.stderr.count("\n") == 1
