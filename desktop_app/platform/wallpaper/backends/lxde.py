"""LXDE (pcmanfm) and LXQt (pcmanfm-qt): the desktop is drawn by the file manager itself.

``pcmanfm --set-wallpaper`` hands the request to the running ``pcmanfm --desktop`` over a
Unix socket and exits. With no pcmanfm running it becomes the first instance itself, shows
"Desktop manager is not active" in a dialog and waits for a click, so the backend checks
that the desktop runs before calling it, and reads the desktop's config file back after.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from pathlib import Path

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.session import Session

PCMANFM_TIMEOUT = 10.0
CONFIG_DEADLINE = 5.0  # pcmanfm saves the desktop's config right after applying it
START_DESKTOP = "start the desktop first: pcmanfm --desktop (LXDE starts it from its autostart)"


def display_key(display: str) -> tuple[str, int]:
    """(host, display number) of a DISPLAY value, as pcmanfm names its socket after."""
    host, _, rest = display.rpartition(":")
    digits = re.match(r"\d*", rest)
    return host, int(digits.group(0)) if digits and digits.group(0) else 0


def pcmanfm_sockets(env: Mapping[str, str]) -> list[Path]:
    """Where a pcmanfm instance for ``env``'s DISPLAY listens (pcmanfm 1.2.5+, then older)."""
    host, number = display_key(env.get("DISPLAY", ""))
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    runtime = env.get("XDG_RUNTIME_DIR") or env.get("XDG_CACHE_HOME") or str(home / ".cache")
    try:
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        user = env.get("USER", "")
    return [
        Path(runtime) / f"pcmanfm-socket-{host}-{number}",
        Path("/tmp") / f".pcmanfm-socket-{host}-{number}-{user}",
    ]


def listening_unix_sockets(table: Path = Path("/proc/net/unix")) -> set[str] | None:
    """Paths of the Unix sockets that accept connections now, or None without /proc.

    Read from the kernel's table, not by connecting: pcmanfm takes any connection for a
    command and opens a file manager window for an empty one.
    """
    try:
        lines = table.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError:
        return None
    listening: set[str] = set()
    for line in lines[1:]:
        # Num RefCount Protocol Flags Type St Inode [Path]; Flags 0x10000 is __SO_ACCEPTCON
        fields = line.split(maxsplit=7)
        if len(fields) == 8 and int(fields[3], 16) & 0x10000:
            listening.add(os.path.normpath(fields[7]))
    return listening


def own_pcmanfm_commands(display: str, proc: Path = Path("/proc")) -> list[list[str]] | None:
    """Command lines of this user's pcmanfm processes on ``display``, or None without /proc."""
    if not (proc / "self" / "cmdline").exists():
        return None
    commands: list[list[str]] = []
    uid = os.getuid()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            argv = [os.fsdecode(arg) for arg in (entry / "cmdline").read_bytes().split(b"\0")]
        except OSError:
            continue  # exited meanwhile
        if not argv or os.path.basename(argv[0]) != "pcmanfm":
            continue
        shown_on = process_display(entry, argv)
        if shown_on is None or display_key(shown_on) == display_key(display):
            commands.append([arg for arg in argv if arg])
    return commands


def process_display(entry: Path, argv: list[str]) -> str | None:
    """The X display a pcmanfm process uses: its --display option, else its DISPLAY."""
    for i, arg in enumerate(argv):
        if arg.startswith("--display="):
            return arg.partition("=")[2]
        if arg == "--display" and i + 1 < len(argv):
            return argv[i + 1]
    try:
        environ = (entry / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in environ:
        if item.startswith(b"DISPLAY="):
            return os.fsdecode(item[len(b"DISPLAY=") :])
    return None


def keyfile_value(raw: str) -> str:
    """Undo GKeyFile's escaping of a string value (\\s, \\n, \\t, \\r, \\\\)."""
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), "\\" + m.group(1)), raw)


class LxdeBackend(Backend):
    name = "lxde"
    label = "LXDE (pcmanfm)"

    def detect(self, session: Session) -> str | None:
        return session.matched_desktop(("lxde", "lxde-pi"))

    def desktop_problem(self) -> str | None:
        """Why ``pcmanfm --desktop`` is not there to take the wallpaper, or None."""
        sockets = pcmanfm_sockets(self.runner.env)
        listening = listening_unix_sockets()
        if listening is None:  # no /proc: a socket file may be stale, but it is all we have
            running = any(path.is_socket() for path in sockets)
        else:
            running = any(str(path) in listening for path in sockets)
        if not running:
            return f"pcmanfm's desktop is not running on this display; {START_DESKTOP}"
        commands = own_pcmanfm_commands(self.runner.env.get("DISPLAY", ""))
        if commands and not any("--desktop" in argv[1:] for argv in commands):
            return f"pcmanfm runs as a file manager only, not as the desktop; {START_DESKTOP}"
        return None

    def missing(self, session: Session) -> str | None:
        if self.runner.which("pcmanfm") is None:
            return "install pcmanfm (Debian/Ubuntu: apt install pcmanfm)"
        if not session.x11:
            return "an X11 display (DISPLAY is not set)"
        return self.desktop_problem()

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        self.runner.run(
            self.label,
            ["pcmanfm", f"--set-wallpaper={path}", "--wallpaper-mode=crop"],
            timeout=PCMANFM_TIMEOUT,
        )
        deadline = time.monotonic() + CONFIG_DEADLINE
        while not self.saved(path):
            if time.monotonic() > deadline:
                raise WallpaperError(
                    f"{self.label}: pcmanfm accepted the wallpaper but its desktop did not "
                    f"save it within {CONFIG_DEADLINE:g} s (is pcmanfm --desktop running?)"
                )
            time.sleep(0.05)

    def saved(self, path: Path) -> bool:
        """Whether a pcmanfm profile's desktop config names ``path`` as the wallpaper."""
        env = self.runner.env
        home = Path(env.get("HOME") or os.path.expanduser("~"))
        config = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "pcmanfm"
        wanted = str(path)
        for name in ("desktop-items-*.conf", "pcmanfm.conf"):
            for file in config.glob(f"*/{name}"):
                try:
                    text = file.read_text(encoding="utf-8", errors="surrogateescape")
                except OSError:
                    continue
                for line in text.splitlines():
                    key, sep, raw = line.partition("=")
                    if sep and key.strip() == "wallpaper" and keyfile_value(raw) == wanted:
                        return True
        return False

    def tools(self) -> dict[str, str | None]:
        return {"pcmanfm": self.runner.which("pcmanfm")}


class LxqtBackend(Backend):
    """pcmanfm-qt forwards the request to the running desktop over D-Bus.

    Modes are color, stretch, fit, center, tile and zoom (fill, cropping); pcmanfm-qt
    before 1.4.0 ignored "zoom" and kept the current mode (lxqt/pcmanfm-qt#1821).
    """

    name = "lxqt"
    label = "LXQt (pcmanfm-qt)"

    def detect(self, session: Session) -> str | None:
        return session.matched_desktop(("lxqt",))

    def missing(self, session: Session) -> str | None:
        if self.runner.which("pcmanfm-qt") is None:
            return "install pcmanfm-qt (Debian/Ubuntu: apt install pcmanfm-qt)"
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        self.runner.run(
            self.label,
            ["pcmanfm-qt", "--set-wallpaper", str(path), "--wallpaper-mode", "zoom"],
            timeout=PCMANFM_TIMEOUT,
        )

    def tools(self) -> dict[str, str | None]:
        return {"pcmanfm-qt": self.runner.which("pcmanfm-qt")}
