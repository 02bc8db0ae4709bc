"""XFCE: one xfconf property per screen, monitor and workspace, set with xfconf-query.

xfdesktop (4.12+) reads ``/backdrop/screenS/monitorNAME/workspaceW/last-image`` where NAME
is the RandR output ("monitoreDP-1", "monitorscreen" under Xvfb); XFCE 4.10 and older read
``/backdrop/screenS/monitorN/image-path``. Every such property found is set; on a fresh
install, where xfdesktop has not written any yet, they are created for the current screen's
monitors (from ``xrandr --listactivemonitors``) and workspaces.
"""

from __future__ import annotations

import re
from pathlib import Path

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import utf8_output_env
from desktop_app.platform.wallpaper.session import Session

CHANNEL = "xfce4-desktop"
IMAGE_PROPERTY = re.compile(
    r"/backdrop/screen\d+/monitor[^/]+/(?:workspace\d+/last-image|image-path)"
)
ZOOMED = "5"  # image-style: 0 none, 1 centred, 2 tiled, 3 stretched, 4 scaled, 5 zoomed
STYLE_NONE = "0"


class XfceBackend(Backend):
    name = "xfce"
    label = "XFCE (xfconf-query)"

    def detect(self, session: Session) -> str | None:
        return session.matched_desktop(("xfce", "xubuntu"))

    def missing(self, session: Session) -> str | None:
        if self.runner.which("xfconf-query") is None:
            return "install xfconf-query (Debian/Ubuntu: apt install xfconf)"
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        value = str(path)
        properties = self.properties()
        images = sorted(name for name in properties if IMAGE_PROPERTY.fullmatch(name))
        if not images:
            images = self.fresh_properties(session)
        for image in images:
            self.query("-p", image, "-n", "-t", "string", "-s", value)
            folder = image.rsplit("/", 1)[0]
            style = properties.get(f"{folder}/image-style")
            if style is None or style == STYLE_NONE:
                self.query("-p", f"{folder}/image-style", "-n", "-t", "int", "-s", ZOOMED)
            if properties.get(f"{folder}/image-show") == "false":  # XFCE 4.10 and older
                self.query("-p", f"{folder}/image-show", "-s", "true")
        after = self.properties()
        stale = [image for image in images if after.get(image) != value]
        if stale:
            raise WallpaperError(
                f"{self.label}: xfconf-query reported success but {stale[0]} reads "
                f"{after.get(stale[0])!r} (is xfconfd reachable on the D-Bus session bus?)"
            )

    def tools(self) -> dict[str, str | None]:
        return {tool: self.runner.which(tool) for tool in ("xfconf-query", "xrandr", "xprop")}

    # -- helpers --------------------------------------------------------------------------

    def query(self, *args: str, channel: str = CHANNEL) -> str:
        return self.runner.run(
            self.label, ["xfconf-query", "-c", channel, *args], env=utf8_output_env()
        )

    def properties(self) -> dict[str, str]:
        """Every property of the channel and its value as xfconf-query prints it."""
        found: dict[str, str] = {}
        for line in self.query("-l", "-v").splitlines():
            if not line.startswith("/"):
                continue  # older xfconf-query: 'Channel "…" contains no properties'
            name, _, value = line.partition(" ")
            found[name] = value.lstrip(" ")  # the name is padded with spaces
        return found

    def fresh_properties(self, session: Session) -> list[str]:
        """The last-image properties xfdesktop will read, for a channel that has none yet."""
        monitors = self.monitors(session)
        if not monitors:
            raise WallpaperError(
                f"{self.label}: xfdesktop has not created its backdrop settings yet and the "
                "monitor names are unknown: start xfdesktop once, or install xrandr "
                "(Debian/Ubuntu: apt install x11-xserver-utils)"
            )
        screen = screen_number(session.env.get("DISPLAY", ""))
        return [
            f"/backdrop/screen{screen}/monitor{monitor}/workspace{workspace}/last-image"
            for monitor in monitors
            for workspace in range(self.workspaces(session))
        ]

    def monitors(self, session: Session) -> list[str]:
        """RandR monitor names of the X display, as xfdesktop names its properties."""
        if not session.x11 or self.runner.which("xrandr") is None:
            return []
        try:
            out = self.runner.run(self.label, ["xrandr", "--listactivemonitors"])
        except WallpaperError:
            return []
        # "Monitors: 2" then " 0: +*eDP-1 1920/344x1080/194+0+0  eDP-1"
        return [line.split()[-1] for line in out.splitlines()[1:] if ":" in line]

    def workspaces(self, session: Session) -> int:
        """How many workspaces the window manager has (at least 1)."""
        if session.x11 and self.runner.which("xprop") is not None:
            try:
                out = self.runner.run(self.label, ["xprop", "-root", "_NET_NUMBER_OF_DESKTOPS"])
            except WallpaperError:
                out = ""
            match = re.search(r"=\s*(\d+)", out)
            if match:
                return max(1, int(match.group(1)))
        try:
            count = self.query("-p", "/general/workspace_count", channel="xfwm4").strip()
        except WallpaperError:
            return 1
        return max(1, int(count)) if count.isdigit() else 1


def screen_number(display: str) -> int:
    """The X screen of a DISPLAY value: ":0.1" -> 1, ":0" -> 0."""
    match = re.search(r":\d+\.(\d+)$", display)
    return int(match.group(1)) if match else 0
