"""The sway backend against a real headless sway, checked pixel by pixel with grim.

sway refuses to run as root, so as root it runs as ``nobody`` (setpriv) in directories
that user owns; swaymsg runs as us (root may use nobody's socket). The pictures live in
folders whose names hold everything sway's parser and wordexp(3) would trip over.
"""

from __future__ import annotations

import io
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.sway import SwayBackend, sway_path_argument
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.standins import StandIns
from tests.support.xvfb import require

SWAY_SESSION = Session.from_env({"SWAYSOCK": "/run/user/1000/sway-ipc.sock"}, "linux")
WIDTH, HEIGHT = 320, 240

# Every character below has a meaning to sway (';' ',' quotes '$' blanks) or to wordexp
# (quotes, backslash, '$(…)', backticks, globs, braces, '|&<>()#~').
FIRST_FOLDER = "a b 'single' \"double\" back\\slash ü $HOME x,y;z #1"
SECOND_FOLDER = "two  spaces\ttab `id` $(id) *?[a] {x,y} |&<>()~!%^=+@:"


def user_prefix() -> list[str]:
    """How to run a command as the user sway runs as (nobody when we are root)."""
    if os.geteuid() != 0:
        return []
    return [require("setpriv"), "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def descendants(pid: int) -> list[int]:
    """The PIDs whose parent chain leads to ``pid`` (swaybg, started by sway)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class HeadlessSway:
    socket: str
    runtime_dir: Path
    wayland_display: str
    log: Path

    def runner(self) -> CommandRunner:
        return CommandRunner(env={**os.environ, "SWAYSOCK": self.socket}, timeout=20)

    def screen_colour(self) -> tuple[float, ...]:
        result = subprocess.run(
            [*user_prefix(), require("grim"), "-t", "ppm", "-"],
            capture_output=True,
            env={
                "PATH": os.environ.get("PATH", os.defpath),
                "XDG_RUNTIME_DIR": str(self.runtime_dir),
                "WAYLAND_DISPLAY": self.wayland_display,
            },
            timeout=20,
            check=True,
        )
        with Image.open(io.BytesIO(result.stdout)) as shot:
            assert shot.size == (WIDTH, HEIGHT)
            return tuple(ImageStat.Stat(shot.convert("RGB")).mean)

    def wait_for_colour(self, colour: tuple[int, int, int], timeout: float = 15) -> None:
        """Poll the screen until it shows ``colour`` (sway starts swaybg asynchronously)."""
        deadline = time.monotonic() + timeout
        seen: tuple[float, ...] = ()
        while time.monotonic() < deadline:
            seen = self.screen_colour()
            if all(abs(a - b) <= 3 for a, b in zip(seen, colour, strict=True)):
                return
            time.sleep(0.02)
        raise AssertionError(f"the screen shows {seen}, not {colour}; sway log:\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])


@contextmanager
def headless_sway() -> Iterator[tuple[HeadlessSway, Path]]:
    """Start sway headless at 320x240; yield it and a folder its user can read."""
    sway = require("sway")
    require("swaybg")
    prefix = user_prefix()
    base = Path(tempfile.mkdtemp(prefix="huewall-sway-"))
    process: subprocess.Popen[bytes] | None = None
    children: list[int] = []
    try:
        base.chmod(0o755)
        home, runtime, pictures = base / "home", base / "run", base / "pictures"
        for folder in (home, runtime):
            folder.mkdir(mode=0o700)
            if prefix:
                nobody = pwd.getpwnam("nobody")
                os.chown(folder, nobody.pw_uid, nobody.pw_gid)
        pictures.mkdir(mode=0o755)
        config = base / "config"
        config.write_text(f"output HEADLESS-1 mode {WIDTH}x{HEIGHT}\n", encoding="utf-8")
        config.chmod(0o644)
        log = base / "sway.log"
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [*prefix, sway, "-c", str(config)],
                env={
                    "PATH": os.environ.get("PATH", os.defpath),
                    "HOME": str(home),
                    "XDG_RUNTIME_DIR": str(runtime),
                    "WLR_BACKENDS": "headless",
                    "WLR_RENDERER": "pixman",
                    "WLR_LIBINPUT_NO_DEVICES": "1",
                },
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )
        socket, display = "", ""
        deadline = time.monotonic() + 20
        while not (socket and display):
            if process.poll() is not None:
                raise AssertionError(f"sway exited ({process.returncode}):\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"sway did not come up:\n{log.read_text()}")
            # Root may look into nobody's 0700 folder; a non-root user owns it.
            names = sorted(entry.name for entry in runtime.iterdir())
            socket = next((str(runtime / n) for n in names if n.startswith("sway-ipc.")), "")
            display = next(
                (n for n in names if n.startswith("wayland-") and not n.endswith(".lock")), ""
            )
            time.sleep(0.01)
        yield HeadlessSway(socket, runtime, display, log), pictures
    finally:
        if process is not None:
            children = descendants(process.pid)
            stop_process(process)
        for pid in children:  # swaybg normally leaves with sway; make sure
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "swaybg":
                    os.kill(pid, signal.SIGTERM)
            except (OSError, ProcessLookupError):
                pass
        shutil.rmtree(base, ignore_errors=True)


def solid_picture(folder: Path, name: str, colour: tuple[int, int, int]) -> Path:
    folder.mkdir(mode=0o755)
    path = folder / name
    Image.new("RGB", (WIDTH, HEIGHT), colour).save(path)
    path.chmod(0o644)
    return path


@pytest.mark.timeout(60)
def test_sway_shows_the_picture() -> None:
    require("swaymsg")
    require("grim")
    with headless_sway() as (sway, pictures):
        session = Session.from_env({"SWAYSOCK": sway.socket}, "linux")
        backend = SwayBackend(sway.runner())
        assert backend.detect(session) == "SWAYSOCK is set"
        assert backend.missing(session) is None

        first = solid_picture(pictures / FIRST_FOLDER, "Bing 1.png", (220, 30, 90))
        backend.set(first, session)
        sway.wait_for_colour((220, 30, 90))

        second = solid_picture(pictures / SECOND_FOLDER, "Bing 'ü' 2.png", (20, 160, 60))
        backend.set(second, session)
        sway.wait_for_colour((20, 160, 60))


@pytest.mark.timeout(60)
def test_swaymsg_without_sway_fails_in_one_line(tmp_path: Path) -> None:
    require("swaymsg")
    runner = CommandRunner(env={**os.environ, "SWAYSOCK": str(tmp_path / "no-sway.sock")})
    with pytest.raises(WallpaperError) as caught:
        SwayBackend(runner).set(tmp_path / "x.png", SWAY_SESSION)
    message = str(caught.value)
    assert re.match(r"sway \(swaymsg\): 'swaymsg' failed \(exit [1-9]\d*\): ", message)
    assert "\n" not in message


# -- the same contract with a recording stand-in (no compositor needed) -------------------


def swaymsg_standin(tmp_path: Path, stdout: str = "", exit: int = 0) -> StandIns:
    tools = StandIns(tmp_path / "standins")
    tools.add("swaymsg")
    tools.answer("swaymsg", stdout=stdout, exit=exit)
    return tools


def test_the_exact_command(tmp_path: Path) -> None:
    path = Path('/home/zoë/a b/it\'s "q" x\\y $HOME,;#.jpg')
    tools = swaymsg_standin(tmp_path)
    SwayBackend(tools.runner()).set(path, SWAY_SESSION)
    [call] = tools.calls()
    escaped = '/home/zoë/a\\ b/it\\\'s\\ \\"q\\"\\ x\\\\y\\ \\$HOME\\,\\;\\#.jpg'
    assert call == ["swaymsg", "-p", "output", "*", "bg", escaped, "fill"]
    assert sway_path_argument(str(path)) == escaped


@pytest.mark.parametrize(
    "reply",
    [
        '[ { "success": false, "parse_error": true, "error": "Invalid syntax (x)" } ]\n',
        "Error: Invalid syntax (x)\n",
    ],
)
def test_a_failure_reply_with_exit_0_is_a_failure(tmp_path: Path, reply: str) -> None:
    runner = swaymsg_standin(tmp_path, stdout=reply).runner()
    with pytest.raises(WallpaperError, match=r"^sway: swaymsg: (Error: )?Invalid syntax \(x\)$"):
        SwayBackend(runner).set(Path("/p.png"), SWAY_SESSION)


def test_a_success_reply_passes(tmp_path: Path) -> None:
    runner = swaymsg_standin(tmp_path, stdout='[ { "success": true } ]\n').runner()
    SwayBackend(runner).set(Path("/p.png"), SWAY_SESSION)


def test_a_line_break_cannot_be_sent(tmp_path: Path) -> None:
    tools = swaymsg_standin(tmp_path)
    with pytest.raises(WallpaperError, match="line break"):
        SwayBackend(tools.runner()).set(Path("/a\nb.png"), SWAY_SESSION)
    assert tools.calls() == []


def test_detect_and_missing(tmp_path: Path) -> None:
    backend = SwayBackend(CommandRunner(env={"PATH": str(tmp_path)}))
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "sway"}, "linux"))
    assert backend.detect(Session.from_env({"XDG_CURRENT_DESKTOP": "GNOME"}, "linux")) is None
    assert backend.missing(SWAY_SESSION) == "install swaymsg (Debian/Ubuntu: apt install sway)"
    with pytest.raises(WallpaperError, match=r"^sway: install swaymsg"):
        backend.set(Path("/p.png"), SWAY_SESSION)
