"""``--resolution auto`` reads the primary screen from a real (virtual) X server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from desktop_app.core.models import resolution_for_screen
from desktop_app.platform.screen import parse_xrandr, primary_screen_size
from tests.support.bing_server import BingStandIn
from tests.support.xvfb import require, xvfb

XRANDR_TWO_MONITORS = """\
Screen 0: minimum 8 x 8, current 4480 x 1440, maximum 32767 x 32767
HDMI-1 connected 1920x1080+2560+0 (normal left inverted right x axis y axis) 527mm x 296mm
DP-1 connected primary 2560x1440+0+0 (normal left inverted right x axis y axis) 597mm x 336mm
DP-2 disconnected (normal left inverted right x axis y axis)
"""


def test_parse_xrandr_prefers_the_primary_output() -> None:
    assert parse_xrandr(XRANDR_TWO_MONITORS) == (2560, 1440)
    assert parse_xrandr(XRANDR_TWO_MONITORS.replace(" primary", "")) == (1920, 1080)
    assert parse_xrandr("Screen 0: minimum 1 x 1, current 1024 x 768, maximum 1024 x 768") == (
        1024,
        768,
    )
    assert parse_xrandr("garbage") is None


def test_no_display_means_unknown() -> None:
    assert primary_screen_size({}) is None


@pytest.mark.timeout(60)
def test_auto_resolution_follows_the_x_screen(bing: BingStandIn) -> None:
    require("xrandr")
    with xvfb(1600, 900) as display:
        size = primary_screen_size({**os.environ, "DISPLAY": display})
        assert size == (1600, 900)
        assert resolution_for_screen(size) == "1920x1080"
        result = subprocess.run(
            [sys.executable, "-m", "desktop_app", "fetch", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, "DISPLAY": display},
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["image_path"].endswith("_1920x1080.jpg")
    assert bing.image_count(size="1920x1080") == 1
