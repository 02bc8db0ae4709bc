"""End to end with a real tray: Xvfb, trayer as the tray host, the app started as a user
would, its icon right-clicked with xdotool, and the wallpaper read back from the screen."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PHOTOS
from tests.support.bing_server import BingStandIn
from tests.support.screen import difference, root_window
from tests.support.xvfb import require, xvfb

ROOT = Path(__file__).resolve().parents[2]
SAME = 12.0  # see test_x11_wallpaper: a scaled copy differs by a few levels, another by tens
TRAYER = (
    "trayer", "--edge", "top", "--align", "right", "--widthtype", "pixel", "--width", "200",
    "--height", "32", "--transparent", "false", "--SetDockType", "true",
)  # fmt: skip
_GEOMETRY = re.compile(r"(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)\s*$")


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    @property
    def centre(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def poll(condition: Callable[[], object], timeout: float, what: str) -> object:
    """Ask ``condition`` until it gives something truthy (other processes give no events)."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


def window_tree(env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        ["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True, timeout=10
    )
    return result.stdout.splitlines()


def panel_children(lines: list[str]) -> list[str] | None:
    """The lines of the subtree under trayer's "panel" window, or None without a panel."""
    for index, line in enumerate(lines):
        if '"panel": ("panel" "trayer")' in line:
            indent = len(line) - len(line.lstrip())
            subtree = []
            for below in lines[index + 1 :]:
                if below.strip() and len(below) - len(below.lstrip()) <= indent:
                    break
                subtree.append(below)
            return subtree
    return None


def docked_icon(env: dict[str, str]) -> Box | None:
    """Huewall's icon window, once it is a child of the tray's panel."""
    for line in panel_children(window_tree(env)) or []:
        if '"huewall")' in line:
            match = _GEOMETRY.search(line)
            if match:
                width, height, x, y = map(int, match.groups())
                return Box(x, y, width, height)
    return None


def visible_windows(env: dict[str, str]) -> set[str]:
    result = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--classname", "huewall"],
        env=env,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return set(result.stdout.split())


def xdotool(env: dict[str, str], *args: str) -> None:
    subprocess.run(["xdotool", *args], env=env, check=True, timeout=10)


@pytest.fixture
def run_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="hw-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_tray_menu_sets_todays_wallpaper_on_a_real_x_screen(
    bing: BingStandIn, isolated_home: Path, config_dir: Path, run_dir: Path
) -> None:
    for tool in ("Xvfb", "trayer", "xdotool", "xwininfo", "feh"):
        require(tool)
    config_dir.mkdir(parents=True, exist_ok=True)
    # Nothing set by itself, no balloon over the icon: the click must do it.
    (config_dir / "settings.json").write_text(json.dumps({"auto_set": False, "notify": False}))
    log_file = isolated_home / ".local/state/huewall/log/huewall.log"

    with xvfb(1280, 800) as display:
        x_env = {**os.environ, "DISPLAY": display}
        trayer = subprocess.Popen(
            TRAYER, env=x_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        app: subprocess.Popen[str] | None = None
        try:
            poll(lambda: panel_children(window_tree(x_env)) is not None, 20, "trayer's panel")
            env = {
                **{k: v for k, v in x_env.items() if not k.startswith("OPENAI_")},
                "QT_QPA_PLATFORM": "xcb",
                "XDG_SESSION_TYPE": "x11",
                "XDG_RUNTIME_DIR": str(run_dir),
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
                "PYTHONPATH": str(ROOT),
            }
            app = subprocess.Popen(
                [sys.executable, "-m", "desktop_app"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            icon = poll(lambda: app.poll() is None and docked_icon(x_env), 30, "the icon to dock")
            assert isinstance(icon, Box)
            assert (icon.width, icon.height) != (1, 1)
            poll(lambda: "with a tray icon" in _read(log_file), 30, "the app to be ready")
            images = isolated_home / ".cache/huewall/images"
            pictures = poll(lambda: list(images.glob(f"{PHOTOS[0]}_*.jpg")), 30, "the first fetch")
            assert isinstance(pictures, list) and len(pictures) == 1
            picture = pictures[0]
            before = root_window(display)
            assert difference(before, picture) > SAME  # not on screen yet

            shown = visible_windows(x_env)
            x, y = icon.centre
            xdotool(x_env, "mousemove", str(x), str(y), "click", "3")
            poll(lambda: visible_windows(x_env) - shown, 10, "the menu to open")
            # The header lines are disabled, so the first entry is "Set today's wallpaper".
            xdotool(x_env, "key", "Down", "Return")

            poll(
                lambda: difference(root_window(display), picture) < SAME,
                30,
                "the picture on the root window",
            )
            assert "set 'Martimoaapa Finland' as the wallpaper with X11 root window" in _read(
                log_file
            )
            copies = list((isolated_home / ".local/share/huewall/wallpapers").iterdir())
            assert len(copies) == 1

            app.send_signal(signal.SIGTERM)
            assert app.wait(10) == 0, _read(log_file)[-2000:]
            assert "shut down" in _read(log_file)
            assert docked_icon(x_env) is None  # the icon left the tray
        finally:
            if app is not None and app.poll() is None:
                app.kill()
            if app is not None:
                app.communicate(timeout=10)
            trayer.terminate()
            try:
                trayer.wait(10)
            except subprocess.TimeoutExpired:
                trayer.kill()
                trayer.wait()


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
