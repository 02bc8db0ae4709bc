"""The local analyser: a palette computed from the picture's own pixels with Pillow.

No network, no randomness: the same picture always gives the same palette. The picture
is decoded at reduced size (``draft``/``thumbnail``), quantized to a few dozen colours,
and each colour is scored by how vivid and how frequent it is in the top and the bottom
part of the picture. The angle follows where those two colours sit in the picture.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from desktop_app.core.errors import PaletteError
from desktop_app.core.palette.base import Palette
from desktop_app.core.palette.colour import (
    BLACK,
    RGB,
    chroma,
    colour_distance,
    hls_to_rgb,
    rgb_to_hls,
    to_hex,
    with_contrast,
)

ANALYSIS_SIDE = 128
"""Long side, in pixels, of the copy the local analyser works on."""

_COLOURS = 32  # quantizer palette size
_BAND = 0.4  # the "top part" and "bottom part" are this fraction of the height each
_MIN_SHARE = 0.01  # a colour covering less of a part than this is noise
_GREY = 0.08  # chroma below which a colour counts as grey
_ALIKE = 60.0  # colour_distance below which two colours look nearly the same
_MIN_SATURATION = 0.45  # HLS saturation floor for chromatic picks ("vivid, not mud")
_LIGHTNESS_RANGE = (0.25, 0.75)  # HLS lightness range for chromatic picks
_MIN_CONTRAST = 4.5  # gradient_from against black text (WCAG AA, normal text)
_DEFAULT_ANGLE = 180
_MIN_SHIFT = 0.08  # centroids closer than this (fraction of the picture): angle undecidable


def load_picture(image_path: Path, max_side: int) -> Image.Image:
    """Open a picture of any mode Pillow reads, upright, as RGB, long side at most ``max_side``.

    JPEGs are decoded at reduced scale (``draft``) before resizing, which is what keeps a
    1920x1080 picture fast. Transparent areas are laid over white. Raises
    ``PaletteError("cannot read the picture: ...")`` for missing, empty or broken files.
    """
    try:
        with Image.open(image_path) as opened:
            # thumbnail() drafts JPEGs to about 2x the size, then reduces; it never enlarges.
            opened.thumbnail((max_side, max_side), Image.Resampling.BOX)
            image = ImageOps.exif_transpose(opened)
            return _as_rgb(image)
    except Exception as exc:  # Pillow's decoders raise many types for broken input.
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise PaletteError(f"cannot read the picture: {image_path}: {reason}") from exc


def _as_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB."""
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        # High bit depth greys: scale into 0..255 instead of letting convert() clip.
        wide = image.convert("F")
        if image.mode.startswith("I;16"):
            scale = 1 / 257
        else:  # 32-bit ints or floats: no fixed range, go by the brightest pixel
            high = wide.getextrema()[1]
            high = float(high) if isinstance(high, (int, float)) else 0.0
            scale = 255 / high if high > 255 else 255.0 if 0 < high <= 1 else 1.0
        return wide.point(lambda value: value * scale).convert("L").convert("RGB")
    if image.mode == "La":
        image = image.convert("LA")
    has_alpha = "A" in image.getbands() or "a" in image.getbands()
    if has_alpha or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


@dataclass
class _Swatch:
    """One quantized colour and where it occurs."""

    rgb: RGB
    top: int = 0  # pixels in the top part
    bottom: int = 0  # pixels in the bottom part
    total: int = 0
    sum_x: float = 0.0  # sums of normalised pixel centres, for the centroid
    sum_y: float = 0.0

    @property
    def vividness(self) -> float:
        return chroma(self.rgb)


def _swatches(image: Image.Image) -> list[_Swatch]:
    """Quantize ``image`` and count each colour in the top part, the bottom part and overall."""
    width, height = image.size
    quantized = image.quantize(colors=_COLOURS, method=Image.Quantize.MEDIANCUT)
    flat = quantized.getpalette() or []
    indices = quantized.tobytes()
    used = max(indices) + 1 if indices else 0
    swatches = [_Swatch((flat[3 * i], flat[3 * i + 1], flat[3 * i + 2])) for i in range(used)]

    band = max(1, round(height * _BAND))
    for y in range(height):
        in_top, in_bottom = y < band, y >= height - band
        cy = (y + 0.5) / height
        row = indices[y * width : (y + 1) * width]
        for x, index in enumerate(row):
            swatch = swatches[index]
            swatch.total += 1
            swatch.sum_x += (x + 0.5) / width
            swatch.sum_y += cy
            if in_top:
                swatch.top += 1
            if in_bottom:
                swatch.bottom += 1
    return [s for s in swatches if s.total]


def _score(share: float, vividness: float) -> float:
    """Vivid beats frequent, but only up to a point: chroma counts squared, share as a root.

    The small constant lets greys win in a picture that has no colour at all.
    """
    return math.sqrt(share) * (vividness + 0.05) ** 2


def _pick(swatches: list[_Swatch], counts: list[int], avoid: RGB | None = None) -> _Swatch | None:
    """The best-scoring swatch by the given per-swatch counts, optionally unlike ``avoid``."""
    total = sum(counts)
    if total == 0:
        return None
    candidates = [
        (swatch, count / total)
        for swatch, count in zip(swatches, counts, strict=True)
        if count and (avoid is None or colour_distance(swatch.rgb, avoid) >= _ALIKE)
    ]
    if not candidates:
        return None
    # Ignore specks, unless specks are all there is.
    frequent = [c for c in candidates if c[1] >= _MIN_SHARE] or candidates
    # Ties (same score) fall back to the lower palette index: deterministic.
    best = max(frequent, key=lambda c: _score(c[1], c[0].vividness))
    return best[0]


def _vivid(rgb: RGB) -> RGB:
    """Push a chromatic colour towards a clear, mid-light version of its hue; greys stay."""
    if chroma(rgb) < _GREY:
        return rgb
    hue, lightness, saturation = rgb_to_hls(rgb)
    low, high = _LIGHTNESS_RANGE
    return hls_to_rgb(hue, min(high, max(low, lightness)), max(saturation, _MIN_SATURATION))


def _background(rgb: RGB) -> RGB:
    """``gradient_from``: the vivid colour, lightened until black text reads on it."""
    return with_contrast(_vivid(rgb), against=BLACK, minimum=_MIN_CONTRAST)


def _shade(rgb: RGB) -> RGB:
    """A visibly different colour of the same hue, for pictures with only one colour."""
    hue, lightness, saturation = rgb_to_hls(rgb)
    return hls_to_rgb(hue, lightness - 0.3 if lightness >= 0.45 else lightness + 0.3, saturation)


def _centroid(swatches: list[_Swatch]) -> tuple[float, float] | None:
    total = sum(s.total for s in swatches)
    if not total:
        return None
    return sum(s.sum_x for s in swatches) / total, sum(s.sum_y for s in swatches) / total


def _angle(swatches: list[_Swatch], start: RGB, end: RGB) -> int:
    """CSS angle of the vector from where ``start``-like colours sit to where ``end``-like sit.

    Each swatch goes to whichever of the two colours it is nearer, if it looks like one
    of them at all. 0 = towards the top, 90 = right, 180 = bottom; multiples of 15;
    ``_DEFAULT_ANGLE`` when the two regions are not apart.
    """
    near_start: list[_Swatch] = []
    near_end: list[_Swatch] = []
    for swatch in swatches:
        to_start, to_end = colour_distance(swatch.rgb, start), colour_distance(swatch.rgb, end)
        if min(to_start, to_end) >= _ALIKE * 1.5:
            continue
        (near_start if to_start < to_end else near_end).append(swatch)
    a, b = _centroid(near_start), _centroid(near_end)
    if a is None or b is None:
        return _DEFAULT_ANGLE
    dx, dy = b[0] - a[0], b[1] - a[1]  # y grows downwards
    if math.hypot(dx, dy) < _MIN_SHIFT:
        return _DEFAULT_ANGLE
    degrees = math.degrees(math.atan2(dx, -dy))
    return round(degrees / 15) * 15 % 360


class LocalAnalyser:
    """Palette from the picture's pixels: vivid top colour, vivid bottom colour, their layout."""

    @property
    def identity(self) -> str:
        return "local|v1"

    @property
    def source(self) -> str:
        return "local"

    def analyse(self, image_path: Path) -> Palette:
        image = load_picture(image_path, ANALYSIS_SIDE)
        swatches = _swatches(image)
        top = _pick(swatches, [s.top for s in swatches])
        bottom = _pick(swatches, [s.bottom for s in swatches])
        if top is None or bottom is None:  # cannot happen for a decoded picture
            raise PaletteError(f"cannot read the picture: {image_path}: no pixels")

        start, end = top.rgb, bottom.rgb
        if colour_distance(start, end) < _ALIKE:
            # Same colour at both ends: prefer another colour of the bottom part, then of
            # the whole picture, and for a one-colour picture a shade of the same hue.
            other = _pick(swatches, [s.bottom for s in swatches], avoid=start) or _pick(
                swatches, [s.total for s in swatches], avoid=start
            )
            if other is None:
                background = _background(start)
                return Palette(to_hex(background), to_hex(_shade(background)), _DEFAULT_ANGLE)
            end = other.rgb
        return Palette(
            to_hex(_background(start)), to_hex(_vivid(end)), _angle(swatches, start, end)
        )
