"""Reading what an X server shows, to check that a wallpaper really arrived."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageChops, ImageOps, ImageStat


def root_window(display: str) -> Image.Image:
    """The X root window's pixels (python-xlib, as the reference recipe does)."""
    from Xlib import X
    from Xlib import display as xdisplay

    connection = xdisplay.Display(display)
    try:
        root = connection.screen().root
        geometry = root.get_geometry()
        raw = root.get_image(0, 0, geometry.width, geometry.height, X.ZPixmap, 0xFFFFFFFF)
        return Image.frombytes("RGB", (geometry.width, geometry.height), raw.data, "raw", "BGRX")
    finally:
        connection.close()


def difference(shown: Image.Image, picture: Path) -> float:
    """Mean absolute difference per channel (0..255) between the screen and the picture
    scaled to cover it (what every 'fill'/'zoom' setter does), after a light blur to
    forgive the setters' different scaling filters."""
    with Image.open(picture) as source:
        expected = ImageOps.fit(source.convert("RGB"), shown.size, Image.Resampling.BILINEAR)
    small = (max(1, shown.width // 8), max(1, shown.height // 8))
    a = shown.convert("RGB").resize(small, Image.Resampling.BOX)
    b = expected.resize(small, Image.Resampling.BOX)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3
