"""End to end on X11: a private Xvfb, real setters, the root window read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.x11 import X11Backend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.conftest import PHOTOS
from tests.support.bing_server import BingStandIn
from tests.support.screen import difference, root_window
from tests.support.xvfb import require, xvfb

RES = "1366x768"
# A setter that scaled and placed the picture differs from it by a few levels at most;
# another picture differs by tens.
SAME = 12.0


def huewall(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.timeout(120)
def test_fetch_set_puts_the_picture_on_the_root_window_and_the_next_day_replaces_it(
    bing: BingStandIn, isolated_home: Path
) -> None:
    require("feh")
    with xvfb(1366, 768) as display:
        env = {**os.environ, "DISPLAY": display, "XDG_SESSION_TYPE": "x11"}
        result = huewall("fetch", "--set", "-r", RES, "--json", env=env)
        assert result.returncode == 0, result.stderr
        picture = Path(json.loads(result.stdout)["image_path"])
        assert "set 'Martimoaapa Finland' as the wallpaper with X11 root window" in result.stderr
        shown = root_window(display)
        assert difference(shown, picture) < SAME

        result = huewall("set", "--days-ago", "1", "-r", RES, env=env)
        assert result.returncode == 0, result.stderr
        yesterday = Path(isolated_home / ".cache/huewall/images" / f"{PHOTOS[1]}_{RES}.jpg")
        replaced = root_window(display)
        assert difference(replaced, yesterday) < SAME
        assert difference(replaced, picture) > SAME  # really another picture
        copies = list((isolated_home / ".local/share/huewall/wallpapers").iterdir())
        assert len(copies) == 1 and difference(replaced, copies[0]) < SAME


@pytest.mark.timeout(60)
@pytest.mark.parametrize("tool", ["feh", "xwallpaper", "hsetroot"])
def test_each_x11_setter_really_sets_the_root_window(tool: str, tmp_path: Path) -> None:
    require(tool)
    picture = tmp_path / "pic ' \" ü.png"
    image = Image.new("RGB", (320, 240), "#1f6feb")
    image.paste(Image.new("RGB", (160, 240), "#f0883e"), (160, 0))
    image.save(picture)
    with xvfb(320, 240) as display:
        env = {**os.environ, "DISPLAY": display}
        # Only this tool on PATH (plus what it needs), so the backend must pick it.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / tool).symlink_to(require(tool))
        runner = CommandRunner({**env, "PATH": str(bin_dir)})
        backend = X11Backend(runner)
        session = Session.from_env(env, platform="linux")
        assert backend.detect(session) is not None and backend.missing(session) is None
        backend.set(picture, session)
        assert difference(root_window(display), picture) < SAME


def test_no_setter_installed_says_what_to_install(tmp_path: Path) -> None:
    runner = CommandRunner({"PATH": str(tmp_path), "DISPLAY": ":0"})
    backend = X11Backend(runner)
    session = Session.from_env({"DISPLAY": ":0"}, platform="linux")
    assert "apt install feh" in (backend.missing(session) or "")
    with pytest.raises(WallpaperError, match=r"^X11 root window: install one of feh"):
        backend.set(tmp_path / "x.jpg", session)


@pytest.mark.timeout(60)
def test_a_failing_setter_is_one_clear_line(tmp_path: Path) -> None:
    require("feh")
    runner = CommandRunner({"PATH": os.environ["PATH"], "DISPLAY": ":31999"})  # no server there
    session = Session.from_env({"DISPLAY": ":31999"}, platform="linux")
    picture = tmp_path / "p.png"
    Image.new("RGB", (8, 8), "red").save(picture)
    with pytest.raises(WallpaperError) as caught:
        X11Backend(runner).set(picture, session)
    message = str(caught.value)
    assert message.startswith("X11 root window (feh): 'feh' failed (exit ")
    assert "\n" not in message
