"""Bare X11 window managers (i3, bspwm, openbox, ...): the first root-window setter found."""

from __future__ import annotations

from pathlib import Path

from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.session import Session

# Tried in this order; each fills the screen, cropping rather than letterboxing.
SETTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("feh", ("feh", "--no-fehbg", "--bg-fill")),
    ("xwallpaper", ("xwallpaper", "--zoom")),
    ("hsetroot", ("hsetroot", "-fill")),
    ("nitrogen", ("nitrogen", "--set-zoom-fill", "--save")),
)


class X11Backend(Backend):
    name = "x11"
    label = "X11 root window"

    def detect(self, session: Session) -> str | None:
        if (
            session.x11
            and not session.on_wayland
            and session.platform.startswith(("linux", "freebsd", "openbsd"))
        ):
            return "an X11 display with no desktop that draws its own background"
        return None

    def setter(self) -> tuple[str, tuple[str, ...]] | None:
        for tool, argv in SETTERS:
            if self.runner.which(tool):
                return tool, argv
        return None

    def missing(self, session: Session) -> str | None:
        if not session.x11:
            return "an X11 display (DISPLAY is not set)"
        if self.setter() is None:
            return (
                "install one of feh, xwallpaper, hsetroot or nitrogen "
                "(Debian/Ubuntu: apt install feh)"
            )
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        chosen = self.setter()
        assert chosen is not None  # require_ready checked it
        tool, argv = chosen
        self.runner.run(f"{self.label} ({tool})", [*argv, str(path)])

    def tools(self) -> dict[str, str | None]:
        return {tool: self.runner.which(tool) for tool, _ in SETTERS}
