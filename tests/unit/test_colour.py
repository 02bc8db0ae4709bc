"""The pure colour helpers: hex text, HLS, WCAG luminance and contrast."""

from __future__ import annotations

import pytest

from desktop_app.core.palette.colour import (
    BLACK,
    WHITE,
    chroma,
    colour_distance,
    contrast_ratio,
    hls_to_rgb,
    parse_hex,
    relative_luminance,
    rgb_to_hls,
    to_hex,
    with_contrast,
)


def test_hex_round_trip_and_case() -> None:
    assert parse_hex("#3A7bd5") == (58, 123, 213)
    assert to_hex((58, 123, 213)) == "#3a7bd5"
    assert to_hex(parse_hex("#00ff7F")) == "#00ff7f"


@pytest.mark.parametrize("text", ["3a7bd5", "#3a7bd", "#3a7bd5a", "#gggggg", "", " #3a7bd5"])
def test_parse_hex_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hex(text)


@pytest.mark.parametrize("rgb", [(256, 0, 0), (-1, 0, 0), (1.5, 0, 0), (True, 0, 0)])
def test_to_hex_rejects(rgb: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError):
        to_hex(rgb)


def test_hls_round_trip() -> None:
    for rgb in [(58, 123, 213), (255, 0, 0), (12, 200, 90), (128, 128, 128)]:
        assert hls_to_rgb(*rgb_to_hls(rgb)) == rgb


def test_luminance_and_contrast_match_wcag() -> None:
    assert relative_luminance(BLACK) == 0.0
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    assert contrast_ratio(WHITE, BLACK) == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#3a7bd5", BLACK) == contrast_ratio(BLACK, "#3a7bd5")


def test_chroma_and_distance() -> None:
    assert chroma((128, 128, 128)) == 0
    assert chroma((255, 0, 0)) == 1
    assert colour_distance("#3a7bd5", "#3a7bd5") == 0
    assert colour_distance("#3a7bd5", "#3b7bd4") < 10 < colour_distance("#3a7bd5", "#d4793a")


@pytest.mark.parametrize(
    "rgb", [(0, 0, 0), (10, 20, 120), (90, 10, 10), (20, 60, 20), (70, 70, 70)]
)
def test_with_contrast_lightens_keeping_hue(rgb: tuple[int, int, int]) -> None:
    assert contrast_ratio(rgb, BLACK) < 4.5
    result = with_contrast(rgb, against=BLACK, minimum=4.5)
    assert contrast_ratio(result, BLACK) >= 4.5
    # Just enough: one step darker would fail (within 8-bit rounding).
    assert contrast_ratio(result, BLACK) < 5.0
    if chroma(rgb) > 0.1:
        assert abs(rgb_to_hls(result)[0] - rgb_to_hls(rgb)[0]) < 0.02


def test_with_contrast_keeps_passing_colours_and_darkens_for_white_text() -> None:
    assert with_contrast((200, 220, 90)) == (200, 220, 90)
    darker = with_contrast((120, 180, 250), against=WHITE, minimum=4.5)
    assert contrast_ratio(darker, WHITE) >= 4.5
    with pytest.raises(ValueError):
        with_contrast((120, 120, 120), against=(118, 118, 118), minimum=21)
