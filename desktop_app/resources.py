"""Where Huewall's resources (icons, desktop entry, AppStream metainfo) are on this machine.

One helper for every way Huewall runs:

1. a PyInstaller bundle: ``sys._MEIPASS/resources`` (the spec collects ``resources/`` there);
2. an installed wheel: ``desktop_app/_resources`` inside the package (in the source tree
   that is a symlink to the top-level ``resources/``, which setuptools follows when it
   builds the wheel);
3. a source checkout or an editable install: the top-level ``resources/`` folder.
"""

from __future__ import annotations

import sys
from importlib import resources as importlib_resources
from pathlib import Path

APP_ID = "io.github.huewall.Huewall"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resource_roots() -> list[Path]:
    """The folders that may hold the resources, the most specific first."""
    roots = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        roots.append(Path(bundle) / "resources")
    packaged = importlib_resources.files("desktop_app") / "_resources"
    if isinstance(packaged, Path):
        roots.append(packaged)
    roots.append(Path(__file__).resolve().parents[1] / "resources")
    return roots


def resource_path(*parts: str) -> Path:
    """The path of ``resources/<parts…>``; ``FileNotFoundError`` if no root has it."""
    for root in resource_roots():
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    searched = ", ".join(str(root) for root in resource_roots())
    raise FileNotFoundError(f"resource {'/'.join(parts)!r} not found in {searched}")


def app_icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG for ``None``, else the smallest PNG at least ``size`` wide."""
    if size is None:
        return resource_path("icons", f"{APP_ID}.svg")
    if size <= 0:
        raise ValueError(f"icon size must be positive, not {size}")
    chosen = next((n for n in ICON_SIZES if n >= size), ICON_SIZES[-1])
    return resource_path("icons", "hicolor", f"{chosen}x{chosen}", "apps", f"{APP_ID}.png")


def tray_icon_path() -> Path:
    """The monochrome (symbolic) icon for the tray."""
    return resource_path("icons", f"{APP_ID}-symbolic.svg")


def desktop_entry_path() -> Path:
    """The freedesktop desktop entry, ``io.github.huewall.Huewall.desktop``."""
    return resource_path(f"{APP_ID}.desktop")


def metainfo_path() -> Path:
    """The AppStream metainfo, ``io.github.huewall.Huewall.metainfo.xml``."""
    return resource_path(f"{APP_ID}.metainfo.xml")
