"""``huewall set``, ``fetch --set`` and ``doctor`` as processes, with a recording setter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.bing_server import BingStandIn
from tests.support.standins import StandIns

RES = "1366x768"


@pytest.fixture
def feh(tmp_path: Path) -> StandIns:
    tools = StandIns(tmp_path / "standins")
    tools.add("feh")
    return tools


def huewall(*args: str, tools: StandIns, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **tools.env, "PATH": tools.path_first(), "DISPLAY": ":0", **env}
    full_env.pop("XDG_CURRENT_DESKTOP", None)
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        check=False,
    )


def wallpapers(home: Path) -> list[Path]:
    folder = home / ".local/share/huewall/wallpapers"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_set_a_file_with_an_awkward_name(
    feh: StandIns, tmp_path: Path, isolated_home: Path
) -> None:
    picture = tmp_path / "my 'holiday' \"pic\" ü.png"
    Image.new("RGB", (40, 30), "orange").save(picture)
    result = huewall("set", str(picture), tools=feh)
    assert result.returncode == 0, result.stderr
    [copy] = wallpapers(isolated_home)
    assert copy.read_bytes() == picture.read_bytes()
    assert feh.calls() == [["feh", "--no-fehbg", "--bg-fill", str(copy)]]
    assert f"with X11 root window ({copy})" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("set", "/nonexistent/pic.jpg"), 2, "no such picture: /nonexistent/pic.jpg"),
        (("set", "PIC", "--locale", "en-US"), 2, "not both"),
        (("set", "PIC", "--backend", "enlightenment"), 2, "unknown wallpaper backend"),
        (("set", "NOTPIC"), 2, "is not a picture Huewall can set"),
    ],
)
def test_bad_set_requests_change_nothing(
    feh: StandIns,
    tmp_path: Path,
    isolated_home: Path,
    args: tuple[str, ...],
    code: int,
    needle: str,
) -> None:
    picture = tmp_path / "pic.png"
    Image.new("RGB", (40, 30), "orange").save(picture)
    not_picture = tmp_path / "notes.jpg"
    not_picture.write_text("<html>captive portal</html>")
    args = tuple(
        str(picture) if a == "PIC" else str(not_picture) if a == "NOTPIC" else a for a in args
    )
    result = huewall(*args, tools=feh)
    assert result.returncode == code
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert feh.calls() == [] and wallpapers(isolated_home) == []


def test_a_failing_setter_keeps_the_previous_wallpaper(
    feh: StandIns, tmp_path: Path, isolated_home: Path
) -> None:
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    Image.new("RGB", (40, 30), "orange").save(first)
    Image.new("RGB", (40, 30), "navy").save(second)
    assert huewall("set", str(first), tools=feh).returncode == 0
    [on_screen] = wallpapers(isolated_home)
    feh.answer("feh", stderr="feh: No X connection\n", exit=1)
    result = huewall("set", str(second), tools=feh)
    assert result.returncode == 1
    assert result.stderr == (
        "huewall: error: X11 root window (feh): 'feh' failed (exit 1): feh: No X connection\n"
    )
    assert wallpapers(isolated_home) == [on_screen]


def test_fetch_set_and_a_day_not_offered_as_wallpaper(
    bing: BingStandIn, feh: StandIns, isolated_home: Path
) -> None:
    bing.days("en-US")[1].wp = False
    result = huewall("fetch", "--set", "-r", RES, "--json", tools=feh)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [copy] = wallpapers(isolated_home)
    assert copy.name.startswith(data["startdate"] + "-")
    assert copy.read_bytes() == Path(data["image_path"]).read_bytes()
    result = huewall("set", "--days-ago", "1", "-r", RES, tools=feh)
    assert result.returncode == 3
    assert "does not offer" in result.stderr and "current wallpaper stays" in result.stderr
    assert len(feh.calls()) == 1 and wallpapers(isolated_home) == [copy]


def test_settings_choose_the_backend_and_the_lock_screen(
    feh: StandIns, tmp_path: Path, config_dir: Path
) -> None:
    picture = tmp_path / "pic.png"
    Image.new("RGB", (40, 30), "orange").save(picture)
    config_dir.mkdir(parents=True)
    (config_dir / "settings.json").write_text(
        json.dumps({"wallpaper_backend": "x11", "lock_screen": True})
    )
    result = huewall("set", str(picture), tools=feh, XDG_CURRENT_DESKTOP="GNOME")
    assert result.returncode == 0, result.stderr
    assert "X11 root window cannot set the lock screen" in result.stderr
    assert len(feh.calls()) == 1


def test_doctor_tells_what_it_found(feh: StandIns, isolated_home: Path) -> None:
    result = huewall("doctor", tools=feh)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Session:     platform linux, X11" in out
    assert "Backend:     x11 = X11 root window (an X11 display" in out and "; ready" in out
    assert "feh found" in out
    assert f"Cache:       {isolated_home / '.cache/huewall'}" in out
    assert f"Wallpapers:  {isolated_home / '.local/share/huewall/wallpapers'}" in out
    assert "Palette:     local" in out

    result = huewall("doctor", tools=feh, DISPLAY="", WAYLAND_DISPLAY="wayland-9")
    assert result.returncode == 1
    assert "Backend:     none: cannot tell how to set the wallpaper" in result.stdout

    result = huewall(
        "doctor",
        tools=feh,
        OPENAI_API_KEY="sk-secret-doctor",
        OPENAI_BASE_URL="https://ai.example/v1",
    )
    assert (
        "Palette:     AI at https://ai.example/v1, model gpt-4o-mini, an API key is set"
        in result.stdout
    )
    assert "sk-secret-doctor" not in result.stdout + result.stderr
