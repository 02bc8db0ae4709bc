"""The local analyser on pictures drawn with Pillow."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from desktop_app.core.errors import PaletteError
from desktop_app.core.palette.base import PaletteAnalyser
from desktop_app.core.palette.colour import (
    BLACK,
    chroma,
    colour_distance,
    contrast_ratio,
    parse_hex,
    rgb_to_hls,
)
from desktop_app.core.palette.local import LocalAnalyser, load_picture

W, H = 1920, 1080
SKY = (90, 160, 230)
SAND = (225, 140, 60)

Save = Callable[..., Path]


@pytest.fixture
def save(tmp_path: Path) -> Save:
    """Save an image as ``name`` in tmp_path and return the path."""

    def _save(image: Image.Image, name: str, **options: object) -> Path:
        path = tmp_path / name
        image.save(path, **options)
        return path

    return _save


def hue_degrees(colour: str) -> float:
    return rgb_to_hls(parse_hex(colour))[0] * 360


def split(first: tuple[int, int, int], second: tuple[int, int, int], shape: list[tuple[int, int]]):
    """``first`` everywhere, ``second`` inside the polygon ``shape``."""
    image = Image.new("RGB", (W, H), first)
    ImageDraw.Draw(image).polygon(shape, fill=second)
    return image


def sky_over_sand() -> Image.Image:
    return split(SKY, SAND, [(0, H // 2), (W, H // 2), (W, H), (0, H)])


def beach() -> Image.Image:
    """Something photo-like: graded sky, a dark sea band, sand, some noise."""
    image = Image.new("RGB", (W, H))
    draw = ImageDraw.Draw(image)
    for y in range(H):
        if y < H * 0.55:
            colour = (70 + y // 10, 130 + y // 12, 220)
        elif y < H * 0.75:
            colour = (20, 90, 130)
        else:
            colour = (210, 180, 120)
        draw.line([(0, y), (W, y)], fill=colour)
    return Image.blend(image, Image.effect_noise((W, H), 40).convert("RGB"), 0.15)


def test_identity_and_source() -> None:
    analyser: PaletteAnalyser = LocalAnalyser()
    assert analyser.identity == "local|v1"
    assert analyser.source == "local"


def test_sky_over_sand(save: Save) -> None:
    palette = LocalAnalyser().analyse(save(sky_over_sand(), "sky.jpg", quality=90))
    assert 190 <= hue_degrees(palette.gradient_from) <= 230  # blue, from the top
    assert 15 <= hue_degrees(palette.gradient_to) <= 40  # orange, from the bottom
    assert palette.gradient_angle == 180


def test_same_picture_same_palette(save: Save, tmp_path: Path) -> None:
    path = save(beach(), "beach.jpg", quality=88)
    copy = tmp_path / "copy.jpg"
    shutil.copyfile(path, copy)
    first = LocalAnalyser().analyse(path)
    assert LocalAnalyser().analyse(path) == first
    assert LocalAnalyser().analyse(copy) == first


@pytest.mark.parametrize(
    ("shape", "angles"),
    [
        ([(0, 0), (W, 0), (0, H)], {135}),  # sky in the top-left triangle
        ([(0, 0), (W, 0), (W, H)], {225}),  # sky in the top-right triangle
        ([(0, 0), (W // 2, 0), (W // 2, H), (0, H)], {90, 270}),  # left/right halves
        ([(0, 0), (W, 0), (W, H // 2), (0, H // 2)], {180}),  # top/bottom halves
    ],
)
def test_angle_follows_the_composition(
    save: Save, shape: list[tuple[int, int]], angles: set[int]
) -> None:
    palette = LocalAnalyser().analyse(save(split(SAND, SKY, shape), "split.png"))
    assert palette.gradient_angle in angles
    assert colour_distance(palette.gradient_from, palette.gradient_to) > 100


def test_left_right_angle_points_from_the_from_colour(save: Save) -> None:
    palette = LocalAnalyser().analyse(
        save(split(SAND, SKY, [(0, 0), (W // 2, 0), (W // 2, H), (0, H)]), "lr.png")
    )
    from_is_sky = hue_degrees(palette.gradient_from) > 150
    assert palette.gradient_angle == (90 if from_is_sky else 270)


PICTURES: dict[str, Callable[[], Image.Image]] = {
    "sky over sand": sky_over_sand,
    "beach": beach,
    "black": lambda: Image.new("RGB", (W, H), (0, 0, 0)),
    "white": lambda: Image.new("RGB", (W, H), (255, 255, 255)),
    "navy night": lambda: split((8, 10, 40), (40, 5, 5), [(0, H // 2), (W, H // 2), (W, H)]),
    "dark forest": lambda: Image.new("RGB", (W, H), (20, 45, 20)),
    "deep red": lambda: Image.new("RGB", (W, H), (90, 0, 0)),
    "pure blue": lambda: Image.new("RGB", (W, H), (0, 0, 255)),
    "grey": lambda: Image.new("RGB", (W, H), (128, 128, 128)),
    "dark grey gradient": lambda: Image.linear_gradient("L").resize((W, H)).point(lambda v: v // 4),
    "grey noise": lambda: Image.effect_noise((W, H), 60),
}


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_gradient_from_reads_with_black_text(save: Save, name: str) -> None:
    palette = LocalAnalyser().analyse(save(PICTURES[name](), "p.jpg", quality=90))
    assert contrast_ratio(palette.gradient_from, BLACK) >= 4.5
    assert palette.gradient_from != palette.gradient_to


def test_random_pictures_read_with_black_text(save: Save) -> None:
    rng = random.Random(7)
    for n in range(12):
        image = Image.new("RGB", (64, 36), tuple(rng.randrange(0, 120) for _ in range(3)))
        draw = ImageDraw.Draw(image)
        for _ in range(6):
            box = sorted(rng.sample(range(64), 2)) + sorted(rng.sample(range(36), 2))
            fill = tuple(rng.randrange(0, 256) for _ in range(3))
            draw.rectangle([box[0], box[2], box[1], box[3]], fill=fill)
        palette = LocalAnalyser().analyse(save(image, f"r{n}.png"))
        assert contrast_ratio(palette.gradient_from, BLACK) >= 4.5, palette


@pytest.mark.parametrize("name", ["sky over sand", "beach", "dark forest", "deep red"])
def test_colourful_pictures_give_vivid_colours(save: Save, name: str) -> None:
    palette = LocalAnalyser().analyse(save(PICTURES[name](), "p.jpg", quality=90))
    for colour in (palette.gradient_from, palette.gradient_to):
        rgb = parse_hex(colour)
        assert rgb_to_hls(rgb)[2] >= 0.4, colour  # HLS saturation
        assert chroma(rgb) >= 0.2, colour


def test_a_vivid_accent_beats_brown_mud(save: Save) -> None:
    image = Image.new("RGB", (W, H), (120, 95, 70))
    ImageDraw.Draw(image).ellipse([200, 60, 500, 360], fill=(240, 40, 120))  # pink, top-left
    palette = LocalAnalyser().analyse(save(image, "mud.jpg", quality=90))
    assert 315 <= hue_degrees(palette.gradient_from) <= 345


def test_grey_picture(save: Save) -> None:
    palette = LocalAnalyser().analyse(save(Image.new("L", (300, 200), 90), "grey.png"))
    for colour in (palette.gradient_from, palette.gradient_to):
        assert chroma(parse_hex(colour)) == 0
    assert contrast_ratio(palette.gradient_from, BLACK) >= 4.5
    assert colour_distance(palette.gradient_from, palette.gradient_to) > 60
    assert palette.gradient_angle == 180


def test_one_pixel_picture(save: Save) -> None:
    palette = LocalAnalyser().analyse(save(Image.new("RGB", (1, 1), (10, 20, 200)), "1.png"))
    assert 225 <= hue_degrees(palette.gradient_from) <= 245
    assert contrast_ratio(palette.gradient_from, BLACK) >= 4.5
    assert colour_distance(palette.gradient_from, palette.gradient_to) > 60
    assert palette.gradient_angle == 180


def _rgba() -> Image.Image:
    image = sky_over_sand().convert("RGBA").resize((320, 180))
    image.putalpha(Image.linear_gradient("L").resize((320, 180)).point(lambda v: max(v, 200)))
    return image


@pytest.mark.parametrize(
    ("make", "name", "options"),
    [
        (_rgba, "rgba.png", {}),
        (lambda: sky_over_sand().resize((320, 180)).convert("P"), "p.gif", {}),
        (lambda: sky_over_sand().resize((320, 180)).convert("L"), "l.png", {}),
        (lambda: sky_over_sand().resize((320, 180)).convert("CMYK"), "cmyk.jpg", {}),
        (lambda: sky_over_sand().resize((320, 180)).convert("LA"), "la.png", {}),
        (lambda: sky_over_sand().resize((320, 180)), "rgb.webp", {}),
        (lambda: Image.linear_gradient("L").convert("I;16").point(lambda v: v * 200), "16.png", {}),
    ],
)
def test_picture_modes(
    save: Save, make: Callable[[], Image.Image], name: str, options: dict[str, object]
) -> None:
    path = save(make(), name, **options)
    image = load_picture(path, 128)
    assert image.mode == "RGB" and max(image.size) <= 128
    palette = LocalAnalyser().analyse(path)
    assert contrast_ratio(palette.gradient_from, BLACK) >= 4.5


def test_cmyk_keeps_its_colours(save: Save) -> None:
    path = save(sky_over_sand().convert("CMYK"), "cmyk.jpg", quality=90)
    palette = LocalAnalyser().analyse(path)
    assert 190 <= hue_degrees(palette.gradient_from) <= 230


def test_sixteen_bit_grey_is_scaled_not_clipped(save: Save) -> None:
    path = save(Image.new("I;16", (10, 10), 30000), "g16.png")  # 46% grey in 16 bits
    assert load_picture(path, 128).getpixel((0, 0)) in [(116, 116, 116), (117, 117, 117)]


def test_exif_orientation_is_applied(save: Save) -> None:
    # Stored sideways (sky on the left) with "rotate 90 CW to view": upright, sky is on top.
    stored = sky_over_sand().resize((320, 180)).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    palette = LocalAnalyser().analyse(save(stored, "rot.jpg", exif=exif, quality=90))
    assert 190 <= hue_degrees(palette.gradient_from) <= 230
    assert palette.gradient_angle == 180


@pytest.mark.parametrize(
    "content", [b"", b"not a picture at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64]
)
def test_unreadable_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(PaletteError, match=r"^cannot read the picture: .*broken\.jpg") as info:
        LocalAnalyser().analyse(path)
    assert "\n" not in str(info.value)


def test_truncated_jpeg(save: Save) -> None:
    path = save(beach(), "cut.jpg", quality=90)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(PaletteError, match=r"^cannot read the picture"):
        LocalAnalyser().analyse(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PaletteError, match=r"^cannot read the picture"):
        LocalAnalyser().analyse(tmp_path / "nowhere.jpg")


def test_fast_on_a_full_hd_jpeg(save: Save) -> None:
    path = save(beach(), "full-hd.jpg", quality=90)
    analyser = LocalAnalyser()
    analyser.analyse(path)  # warm up imports and caches
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        analyser.analyse(path)
        best = min(best, time.perf_counter() - start)
    assert best < 0.3
