"""All wallpaper backends, in the order they are tried, and how one is chosen.

Backend modules are imported by name, so a desktop's module (and whatever it imports,
such as ``jeepney`` for the Flatpak portal) loads only where it is used; a frozen bundle
must list them as hidden imports.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from desktop_app.core.errors import UsageError, WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

AUTO = "auto"

# Most specific first: a Flatpak sandbox or an OS before desktops, desktops that also
# claim "GNOME" (Budgie:GNOME, X-Cinnamon) before GNOME, the bare X11 setters last.
BACKENDS: tuple[tuple[str, str], ...] = (
    ("portal", "PortalBackend"),
    ("windows", "WindowsBackend"),
    ("macos", "MacBackend"),
    ("kde", "KdeBackend"),
    ("gnome", "CinnamonBackend"),
    ("gnome", "MateBackend"),
    ("gnome", "GnomeBackend"),
    ("xfce", "XfceBackend"),
    ("lxde", "LxqtBackend"),
    ("lxde", "LxdeBackend"),
    ("sway", "SwayBackend"),
    ("hyprland", "HyprlandBackend"),
    ("x11", "X11Backend"),
)


def backend_classes() -> list[type[Backend]]:
    classes = []
    for module, name in BACKENDS:
        loaded = importlib.import_module(f"desktop_app.platform.wallpaper.backends.{module}")
        classes.append(getattr(loaded, name))
    return classes


def all_backends(runner: CommandRunner) -> list[Backend]:
    return [cls(runner) for cls in backend_classes()]


def backend_names() -> list[str]:
    return [cls.name for cls in backend_classes()]


@dataclass(frozen=True)
class Choice:
    backend: Backend
    reason: str  # why it was chosen, for doctor and error messages


def choose(session: Session, runner: CommandRunner, override: str | None = None) -> Choice:
    """The backend for this session: the one the user named, else the first that fits.

    Raises ``UsageError`` for an unknown name and ``WallpaperError`` (saying what to
    install or which backend to name) when nothing usable fits.
    """
    backends = all_backends(runner)
    if override and override != AUTO:
        for backend in backends:
            if backend.name == override:
                return Choice(backend, "chosen in the settings or with --backend")
        names = ", ".join([AUTO, *(b.name for b in backends)])
        raise UsageError(f"unknown wallpaper backend {override!r}; choose one of {names}")
    for backend in backends:
        reason = backend.detect(session)
        if reason is not None:
            return Choice(backend, reason)
    raise WallpaperError(
        f"cannot tell how to set the wallpaper on this desktop ({session.describe()}); "
        "name a backend with --backend (see 'huewall doctor')"
    )


def choose_ready(session: Session, runner: CommandRunner, override: str | None = None) -> Choice:
    """Like ``choose``, and the backend can work right now."""
    choice = choose(session, runner, override)
    problem = choice.backend.missing(session)
    if problem is not None:
        raise WallpaperError(
            f"{choice.backend.label} ({choice.reason}) cannot set the wallpaper: {problem}"
        )
    return choice
