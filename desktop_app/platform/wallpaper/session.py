"""What kind of desktop session this process runs in, read from the environment."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

FLATPAK_INFO = Path("/.flatpak-info")


@dataclass(frozen=True)
class Session:
    """The facts backends are chosen by. Build it with ``Session.from_env``."""

    platform: str  # sys.platform: "linux", "darwin", "win32", ...
    desktops: tuple[str, ...] = ()  # XDG_CURRENT_DESKTOP, lower-cased, split on ":"
    desktop_session: str = ""  # DESKTOP_SESSION, lower-cased
    kde_full_session: bool = False
    sway: bool = False  # SWAYSOCK
    hyprland: bool = False  # HYPRLAND_INSTANCE_SIGNATURE
    session_type: str = ""  # XDG_SESSION_TYPE: "wayland", "x11", "tty", ...
    wayland: bool = False  # WAYLAND_DISPLAY
    x11: bool = False  # DISPLAY
    flatpak: bool = False
    env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str],
        platform: str | None = None,
        flatpak_info: Path = FLATPAK_INFO,
    ) -> Session:
        desktops = tuple(
            part.strip().lower()
            for part in env.get("XDG_CURRENT_DESKTOP", "").split(":")
            if part.strip()
        )
        return cls(
            platform=platform or sys.platform,
            desktops=desktops,
            desktop_session=env.get("DESKTOP_SESSION", "").strip().lower(),
            kde_full_session=env.get("KDE_FULL_SESSION", "").lower() == "true",
            sway=bool(env.get("SWAYSOCK")),
            hyprland=bool(env.get("HYPRLAND_INSTANCE_SIGNATURE")),
            session_type=env.get("XDG_SESSION_TYPE", "").strip().lower(),
            wayland=bool(env.get("WAYLAND_DISPLAY")),
            x11=bool(env.get("DISPLAY")),
            flatpak=flatpak_info.exists() or bool(env.get("FLATPAK_ID")),
            env=dict(env),
        )

    def is_desktop(self, *names: str) -> bool:
        """Whether any of ``names`` (lower case) is in XDG_CURRENT_DESKTOP or DESKTOP_SESSION."""
        wanted = set(names)
        if wanted & set(self.desktops):
            return True
        return (
            any(name in self.desktop_session for name in wanted) if self.desktop_session else False
        )

    def matched_desktop(self, names: tuple[str, ...]) -> str | None:
        """Why this session is one of the desktops ``names`` (lower case), or None."""
        if not self.is_desktop(*names):
            return None
        if set(names) & set(self.desktops):
            return f"XDG_CURRENT_DESKTOP is {':'.join(self.desktops)}"
        return f"DESKTOP_SESSION is {self.desktop_session}"

    @property
    def on_wayland(self) -> bool:
        return self.session_type == "wayland" or (self.wayland and self.session_type != "x11")

    def describe(self) -> str:
        """One line for ``huewall doctor``."""
        parts = [f"platform {self.platform}"]
        if self.desktops:
            parts.append(f"XDG_CURRENT_DESKTOP={':'.join(self.desktops)}")
        if self.desktop_session:
            parts.append(f"DESKTOP_SESSION={self.desktop_session}")
        if self.kde_full_session:
            parts.append("KDE_FULL_SESSION")
        if self.sway:
            parts.append("sway (SWAYSOCK)")
        if self.hyprland:
            parts.append("Hyprland")
        kind = "Wayland" if self.on_wayland else "X11" if self.x11 else "no display"
        parts.append(kind)
        if self.flatpak:
            parts.append("inside Flatpak")
        return ", ".join(parts)
