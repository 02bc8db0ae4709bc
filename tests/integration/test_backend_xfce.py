"""XFCE backend against the real xfconf-query and xfconfd (D-Bus activated) on a private
session bus from ``dbus-run-session``, and against a real xfdesktop under Xvfb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.xfce import XfceBackend, screen_number
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.xvfb import require, xvfb

REPO = Path(__file__).resolve().parents[2]

# Inside the session: create the preset properties, run the backend, list the channel.
SET_DRIVER = """
import json, os, subprocess, sys
from pathlib import Path
from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.xfce import XfceBackend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

spec = json.loads(sys.argv[1])
for args in spec["preset"]:
    subprocess.run(["xfconf-query", "-c", "xfce4-desktop", *args], check=True, timeout=30)
backend = XfceBackend(CommandRunner())
try:
    backend.set(Path(spec["path"]), Session.from_env(os.environ))
    error = None
except WallpaperError as exc:
    error = str(exc)
print(json.dumps({"error": error, "properties": backend.properties()}))
"""

# Inside the session under Xvfb: set a picture on a fresh install, start xfdesktop, see it
# shown (so xfdesktop reads the properties we created); set another while xfdesktop runs,
# see that one. Stops xfdesktop by its PID.
SCREEN_DRIVER = """
import io, json, os, subprocess, sys, time
from pathlib import Path
from PIL import Image
from desktop_app.platform.wallpaper.backends.xfce import XfceBackend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.screen import difference

spec = json.loads(sys.argv[1])
session = Session.from_env(os.environ)
backend = XfceBackend(CommandRunner())

def shown_diff(picture):
    shot = subprocess.run(
        ["import", "-silent", "-window", "root", "png:-"], capture_output=True, timeout=30
    )
    if shot.returncode != 0:
        return 255.0
    with Image.open(io.BytesIO(shot.stdout)) as image:
        return difference(image.convert("RGB"), Path(picture))

def wait_shown(picture, deadline=30.0):
    end = time.monotonic() + deadline
    best = 255.0
    while time.monotonic() < end:
        best = min(best, shown_diff(picture))
        if best < spec["tolerance"]:
            break
    return best

result = {}
backend.set(Path(spec["first"]), session)  # no xfdesktop yet: creates the properties
result["created"] = sorted(backend.properties())
desktop = subprocess.Popen(
    ["xfdesktop", "--disable-wm-check"],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
    env={**os.environ, "NO_AT_BRIDGE": "1", "GTK_A11Y": "none"},
)
try:
    # Under Xvfb with no window manager xfdesktop keeps its desktop window unmapped until
    # the backdrop changes or it is told to reload; it adds color-style once it runs.
    ready = "/backdrop/screen0/monitorscreen/workspace0/color-style"
    end = time.monotonic() + 30
    while ready not in backend.properties() and time.monotonic() < end and desktop.poll() is None:
        pass
    subprocess.run(["xfdesktop", "--reload"], capture_output=True, timeout=30)
    result["first"] = wait_shown(spec["first"])
    result["second_before"] = shown_diff(spec["second"])
    backend.set(Path(spec["second"]), session)
    result["second"] = wait_shown(spec["second"])
    result["alive"] = desktop.poll() is None
finally:
    desktop.terminate()
    try:
        desktop.wait(10)
    except subprocess.TimeoutExpired:
        desktop.kill()
        desktop.wait()
print(json.dumps(result))
"""


@pytest.fixture(autouse=True)
def session_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh XDG_RUNTIME_DIR (0700) next to conftest's private HOME, and no outside bus."""
    require("xfconf-query")
    require("dbus-run-session")
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    return dict(os.environ)


def in_session(*argv: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["dbus-run-session", "--", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def set_in_session(
    path: Path, preset: list[list[str]] | None = None, env: dict[str, str] | None = None
) -> tuple[str | None, dict[str, str]]:
    spec = json.dumps({"path": str(path), "preset": preset or []})
    out = json.loads(in_session(sys.executable, "-c", SET_DRIVER, spec, env=env))
    return out["error"], out["properties"]


def channel_after_the_bus_is_gone() -> dict[str, str]:
    """A second session reads what xfconfd saved to disk when the first one ended."""
    out = subprocess.run(
        ["dbus-run-session", "--", "xfconf-query", "-c", "xfce4-desktop", "-l", "-v"],
        capture_output=True,
        text=True,
        env={**os.environ, "CHARSET": "UTF-8"},
        timeout=60,
        check=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        found[name] = value.lstrip(" ")
    return found


def picture(path: Path, left: tuple[int, int, int], right: tuple[int, int, int]) -> Path:
    """A two-colour picture at the screen's aspect ratio, so a wrong crop would show."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (320, 180), left)
    image.paste(right, (160, 0, 320, 180))
    image.save(path, "PNG")
    return path


def prop(monitor: str, workspace: int, leaf: str = "last-image") -> str:
    return f"/backdrop/screen0/monitor{monitor}/workspace{workspace}/{leaf}"


@pytest.mark.timeout(60)
def test_fresh_install_creates_the_properties_for_the_screens_monitors(tmp_path: Path) -> None:
    require("xrandr")
    path = picture(tmp_path / 'it\'s a "new" picture.png', (200, 30, 30), (30, 30, 200))
    with xvfb(640, 360) as display:
        env = {**os.environ, "DISPLAY": display}
        error, properties = set_in_session(path, env=env)
    assert error is None
    # Xvfb's one RandR output is called "screen"; no window manager: one workspace.
    assert properties == {prop("screen", 0): str(path), prop("screen", 0, "image-style"): "5"}
    assert channel_after_the_bus_is_gone() == properties


@pytest.mark.timeout(60)
def test_fresh_install_without_monitor_names_asks_for_xfdesktop(tmp_path: Path) -> None:
    path = picture(tmp_path / "p.png", (1, 2, 3), (4, 5, 6))
    error, properties = set_in_session(path)  # no DISPLAY: xrandr cannot name monitors
    assert error is not None
    assert error.startswith("XFCE (xfconf-query): ")
    assert "start xfdesktop once" in error
    assert "\n" not in error
    assert properties == {}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "name",
    ["plain.png", 'it\'s a "quoted" name with spaces.png', "Ünïcödé 日本, 100% #1.png"],
    ids=["plain", "quotes-spaces", "non-ascii"],
)
def test_every_monitor_and_workspace_is_set(tmp_path: Path, name: str) -> None:
    path = picture(tmp_path / "Bing 'pictures'" / name, (10, 200, 10), (200, 200, 10))
    monitors = ("eDP-1", "HDMI-A-1")
    preset = [
        ["-p", prop(monitor, workspace), "-n", "-t", "string", "-s", "/old/picture.jpg"]
        for monitor in monitors
        for workspace in range(4)
    ]
    preset += [
        ["-p", prop("eDP-1", 0, "image-style"), "-n", "-t", "int", "-s", "0"],  # none
        ["-p", prop("eDP-1", 1, "image-style"), "-n", "-t", "int", "-s", "3"],  # stretched
        ["-p", prop("eDP-1", 0, "color-style"), "-n", "-t", "int", "-s", "1"],
        # XFCE 4.10 and older: one image-path per monitor index.
        ["-p", "/backdrop/screen0/monitor0/image-path", "-n", "-t", "string", "-s", "/old.jpg"],
        ["-p", "/backdrop/screen0/monitor0/image-show", "-n", "-t", "bool", "-s", "false"],
        ["-p", "/backdrop/single-workspace-mode", "-n", "-t", "bool", "-s", "false"],
    ]
    error, properties = set_in_session(path, preset)
    assert error is None
    images = [prop(monitor, workspace) for monitor in monitors for workspace in range(4)]
    for image in [*images, "/backdrop/screen0/monitor0/image-path"]:
        assert properties[image] == str(path)
    assert properties[prop("eDP-1", 0, "image-style")] == "5"  # was none
    assert properties[prop("eDP-1", 1, "image-style")] == "3"  # the user's choice stays
    assert properties[prop("HDMI-A-1", 3, "image-style")] == "5"  # was missing
    assert properties["/backdrop/screen0/monitor0/image-show"] == "true"
    assert properties[prop("eDP-1", 0, "color-style")] == "1"  # untouched
    assert properties["/backdrop/single-workspace-mode"] == "false"
    assert channel_after_the_bus_is_gone() == properties


@pytest.mark.timeout(60)
def test_without_xfconfd_the_error_is_one_line(tmp_path: Path, session_env: dict[str, str]) -> None:
    """No session bus at all: xfconf-query fails, and says so in one line naming XFCE."""
    path = picture(tmp_path / "p.png", (1, 2, 3), (4, 5, 6))
    backend = XfceBackend(CommandRunner(session_env))
    with pytest.raises(WallpaperError) as caught:
        backend.set(path, Session.from_env(session_env))
    message = str(caught.value)
    assert message.startswith("XFCE (xfconf-query): 'xfconf-query' failed (exit 1): ")
    assert "\n" not in message


def test_missing_and_detect(tmp_path: Path) -> None:
    nothing = CommandRunner({"PATH": str(tmp_path)})
    assert XfceBackend(nothing).missing(Session.from_env({})) == (
        "install xfconf-query (Debian/Ubuntu: apt install xfconf)"
    )
    backend = XfceBackend(CommandRunner())
    assert backend.missing(Session.from_env({})) is None
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "XFCE"})) == (
        "XDG_CURRENT_DESKTOP is xfce"
    )
    assert backend.detect(Session.from_env({"DESKTOP_SESSION": "xubuntu"})) == (
        "DESKTOP_SESSION is xubuntu"
    )
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "GNOME"})) is None
    assert (screen_number(":0"), screen_number(":1.2"), screen_number("host:10.1")) == (0, 2, 1)


@pytest.mark.timeout(120)
def test_xfdesktop_shows_the_picture(tmp_path: Path) -> None:
    require("xfdesktop")
    require("import")
    require("xrandr")
    first = picture(tmp_path / 'first "one".png', (220, 40, 40), (40, 40, 220))
    second = picture(tmp_path / "it's the second.png", (40, 200, 40), (230, 220, 40))
    tolerance = 12.0
    spec = json.dumps({"first": str(first), "second": str(second), "tolerance": tolerance})
    with xvfb(640, 360) as display:
        env = {**os.environ, "DISPLAY": display}
        result = json.loads(in_session(sys.executable, "-c", SCREEN_DRIVER, spec, env=env))
    assert result["created"] == [prop("screen", 0, "image-style"), prop("screen", 0)]
    assert result["first"] < tolerance  # xfdesktop reads the properties we created
    assert result["second_before"] > 50
    assert result["second"] < tolerance  # and follows a change while it runs
    assert result["alive"]
