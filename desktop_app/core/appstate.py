"""What the tray and the windows show, as one immutable snapshot.

The Qt layer never reads the service directly to draw itself: the controller publishes
an ``AppState`` after every change and the widgets rebuild from it, so the menu, the
tooltip and the windows always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from desktop_app.core.models import Wallpaper


class Status(Enum):
    STARTING = "starting"
    UP_TO_DATE = "up to date"
    FETCHING = "fetching"
    OFFLINE = "offline"
    ERROR = "error"


@dataclass(frozen=True)
class HistoryEntry:
    """One day of the main market's week, for the History menu."""

    days_ago: int
    startdate: str  # YYYYMMDD, the market's local day
    title: str
    thumbnail: Path | None  # a small picture when one is in the archive
    allowed: bool  # Bing offers it as a wallpaper (``wp``)


@dataclass(frozen=True)
class AppState:
    status: Status = Status.STARTING
    market: str = "en-US"  # the market shown now
    markets: tuple[str, ...] = ("en-US",)  # the user's markets, for the Locale menu
    current: Wallpaper | None = None  # the picture of the day for ``market``
    history: tuple[HistoryEntry, ...] = ()
    progress: int | None = None  # 0..100 while fetching, when known
    last_error: str | None = None  # one line, shown in the tooltip and the settings
    paused: bool = False
    next_update: str | None = None  # human text, e.g. "tomorrow at 09:00"

    def tooltip(self) -> str:
        """The tray tooltip: the picture, the locale and the state."""
        lines = ["Huewall"]
        if self.current is not None:
            lines.append(f"{self.current.image.title} ({self.market})")
        else:
            lines.append(f"No picture yet ({self.market})")
        if self.status is Status.FETCHING:
            done = f" {self.progress}%" if self.progress is not None else ""
            lines.append(f"Fetching…{done}")
        elif self.status is Status.ERROR and self.last_error:
            lines.append(f"Error: {self.last_error}")
        elif self.status is Status.OFFLINE:
            lines.append("Offline: will retry when the network is back")
        elif self.status is Status.UP_TO_DATE:
            lines.append("Up to date" + (f"; next: {self.next_update}" if self.next_update else ""))
        if self.paused:
            lines.append("Daily updates paused")
        return "\n".join(lines)
