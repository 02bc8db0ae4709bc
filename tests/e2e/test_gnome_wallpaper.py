"""End to end on GNOME settings: ``huewall fetch --set`` inside a private session bus with
the real dconf, then a second process reads both keys back after the bus is gone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from desktop_app.platform.wallpaper.backends.gnome import parse_gvariant_string
from tests.conftest import PHOTOS
from tests.support.bing_server import BingStandIn
from tests.support.xvfb import require

RES = "1366x768"
SCHEMA = "org.gnome.desktop.background"


def gnome_env(tmp_path: Path) -> dict[str, str]:
    """HOME (from conftest) and XDG_RUNTIME_DIR set before dbus-run-session starts."""
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "XDG_CURRENT_DESKTOP": "ubuntu:GNOME"}
    for name in ("DBUS_SESSION_BUS_ADDRESS", "GSETTINGS_BACKEND", "DISPLAY"):
        env.pop(name, None)
    return env


def saved_file(key: str, env: dict[str, str]) -> Path:
    result = subprocess.run(
        ["gsettings", "get", SCHEMA, key], capture_output=True, text=True, env=env, check=True
    )
    uri = parse_gvariant_string(result.stdout)
    assert urlsplit(uri).scheme == "file"
    return Path(unquote(urlsplit(uri).path))


@pytest.mark.timeout(120)
def test_fetch_set_on_gnome_outlives_the_session_and_the_next_day_replaces_it(
    bing: BingStandIn, tmp_path: Path, isolated_home: Path
) -> None:
    require("dbus-run-session")
    require("gsettings")
    env = gnome_env(tmp_path)
    huewall = [sys.executable, "-m", "desktop_app"]
    result = subprocess.run(
        ["dbus-run-session", "--", *huewall, "fetch", "--set", "-r", RES, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "with GNOME (gsettings)" in result.stderr
    picture = Path(json.loads(result.stdout)["image_path"])
    light, dark = saved_file("picture-uri", env), saved_file("picture-uri-dark", env)
    assert light == dark
    assert light.parent == isolated_home / ".local/share/huewall/wallpapers"
    assert light.read_bytes() == picture.read_bytes()

    result = subprocess.run(
        ["dbus-run-session", "--", *huewall, "set", "--days-ago", "1", "-r", RES],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    yesterday = isolated_home / ".cache/huewall/images" / f"{PHOTOS[1]}_{RES}.jpg"
    now_light, now_dark = saved_file("picture-uri", env), saved_file("picture-uri-dark", env)
    assert now_light == now_dark != light
    assert now_light.read_bytes() == yesterday.read_bytes()
    assert not light.exists(), "the copy no longer on screen is pruned"
