"""The interface every wallpaper backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session


class Backend(ABC):
    """One way of setting the wallpaper: a desktop's own tool, or a generic setter.

    A backend is stateless apart from its runner. ``set`` receives an absolute path to a
    complete, verified picture with a name never used before; it must apply it to every
    monitor and workspace it can, and raise ``WallpaperError`` (one line, naming the
    backend and what the tool said) when it could not.
    """

    name: ClassVar[str]  # stable id for settings and --backend: "gnome", "kde", "feh", ...
    label: ClassVar[str]  # for people: "GNOME (gsettings)"
    supports_lock_screen: ClassVar[bool] = False

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

    @abstractmethod
    def detect(self, session: Session) -> str | None:
        """Why this backend fits ``session`` ("XDG_CURRENT_DESKTOP is GNOME"), or None."""

    @abstractmethod
    def missing(self, session: Session) -> str | None:
        """What must be installed or running before this backend can work, or None if ready.

        Phrase it as advice: "install feh (Debian/Ubuntu: apt install feh)".
        """

    @abstractmethod
    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        """Show ``path`` (absolute) as the wallpaper, and on the lock screen if asked."""

    def tools(self) -> dict[str, str | None]:
        """The commands this backend may use and where they were found (for ``doctor``)."""
        return {}

    def require_ready(self, session: Session) -> None:
        """Raise the one-line advice from ``missing`` if the backend cannot work now."""
        problem = self.missing(session)
        if problem is not None:
            raise WallpaperError(f"{self.label}: {problem}")
