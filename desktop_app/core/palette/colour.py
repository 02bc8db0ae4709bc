"""Small, pure colour helpers: ``#rrggbb`` text, HLS, WCAG luminance and contrast.

Colours are ``(r, g, b)`` tuples of ints 0..255 (``RGB``); HLS values are floats 0..1 as
in :mod:`colorsys` (hue 0..1, not degrees). Nothing here touches Pillow or the network.
"""

from __future__ import annotations

import colorsys
import math
import re
from typing import TypeAlias

RGB: TypeAlias = tuple[int, int, int]
"""A colour as 8-bit sRGB channels."""

ColourLike: TypeAlias = str | RGB
"""A ``#rrggbb`` string (any case) or an ``RGB`` tuple."""

BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)

_HEX = re.compile(r"#([0-9a-fA-F]{6})")


def parse_hex(text: str) -> RGB:
    """``"#3A7bd5"`` -> ``(58, 123, 213)``; raises ``ValueError`` for anything else."""
    match = _HEX.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a #rrggbb colour: {text!r}")
    value = int(match.group(1), 16)
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def to_hex(rgb: RGB) -> str:
    """``(58, 123, 213)`` -> ``"#3a7bd5"`` (lower case, as ``Palette`` wants)."""
    if len(rgb) != 3 or any(
        isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255 for c in rgb
    ):
        raise ValueError(f"not an 8-bit RGB colour: {rgb!r}")
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def as_rgb(colour: ColourLike) -> RGB:
    """Accept either a ``#rrggbb`` string or an ``RGB`` tuple."""
    return parse_hex(colour) if isinstance(colour, str) else colour


def rgb_to_hls(rgb: RGB) -> tuple[float, float, float]:
    """``RGB`` -> ``(hue, lightness, saturation)``, each 0..1."""
    r, g, b = rgb
    return colorsys.rgb_to_hls(r / 255, g / 255, b / 255)


def hls_to_rgb(hue: float, lightness: float, saturation: float) -> RGB:
    """``(hue, lightness, saturation)`` (0..1, clamped) -> ``RGB``, rounded to the nearest int."""
    lightness = min(1.0, max(0.0, lightness))
    saturation = min(1.0, max(0.0, saturation))
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return _channel(r), _channel(g), _channel(b)


def _channel(value: float) -> int:
    return min(255, max(0, round(value * 255)))


def chroma(rgb: RGB) -> float:
    """How colourful a colour is, 0 (grey, black or white) .. 1 (pure hue): (max - min) / 255.

    Unlike HLS or HSV saturation it stays low for near-black and near-white colours, so
    it is a fair measure of "vivid rather than mud".
    """
    return (max(rgb) - min(rgb)) / 255


def relative_luminance(colour: ColourLike) -> float:
    """WCAG 2 relative luminance (0 = black .. 1 = white) from linearised sRGB."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = as_rgb(colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(a: ColourLike, b: ColourLike) -> float:
    """WCAG 2 contrast ratio, 1.0 .. 21.0, symmetric in its arguments."""
    la, lb = relative_luminance(a), relative_luminance(b)
    lighter, darker = max(la, lb), min(la, lb)
    return (lighter + 0.05) / (darker + 0.05)


def colour_distance(a: ColourLike, b: ColourLike) -> float:
    """A cheap perceptual distance ("redmean"), 0 .. about 765; below ~60 looks alike."""
    (r1, g1, b1), (r2, g2, b2) = as_rgb(a), as_rgb(b)
    mean_r = (r1 + r2) / 2
    dr, dg, db = r1 - r2, g1 - g2, b1 - b2
    return math.sqrt(
        (2 + mean_r / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean_r) / 256) * db * db
    )


def with_contrast(rgb: RGB, against: RGB = BLACK, minimum: float = 4.5) -> RGB:
    """The colour closest to ``rgb`` in lightness, same hue and saturation, whose contrast
    with ``against`` is at least ``minimum``.

    Lightens when ``against`` is dark (text colour black: background gets lighter) and
    darkens when it is light. Returns ``rgb`` unchanged when it already passes; raises
    ``ValueError`` when even white (or black) cannot reach ``minimum``.
    """
    if contrast_ratio(rgb, against) >= minimum:
        return rgb
    hue, lightness, saturation = rgb_to_hls(rgb)
    lighten = relative_luminance(against) < 0.18  # ~ the luminance with equal contrast to both
    extreme = WHITE if lighten else BLACK
    if contrast_ratio(extreme, against) < minimum:
        raise ValueError(f"no colour reaches {minimum}:1 against {to_hex(against)}")
    # Each channel moves monotonically with HLS lightness, so bisect on it: ``good`` always
    # passes, ``bad`` never does; 20 rounds are far below 8-bit resolution.
    good, bad = (1.0, lightness) if lighten else (0.0, lightness)
    best = extreme
    for _ in range(20):
        middle = (good + bad) / 2
        candidate = hls_to_rgb(hue, middle, saturation)
        if contrast_ratio(candidate, against) >= minimum:
            good, best = middle, candidate
        else:
            bad = middle
    return best
