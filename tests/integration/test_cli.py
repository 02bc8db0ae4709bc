"""``huewall`` run as a real process against the loopback Bing stand-in."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PHOTOS
from tests.support.bing_server import BingStandIn

RES = "1366x768"
EXPECTED_JSON_FIELDS = {
    "startdate", "fullstartdate", "enddate", "images", "colors", "title", "copyright",
    "copyright_link", "cached_at", "locale", "image_path", "palette_source",
}  # fmt: skip


def huewall(*args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "desktop_app", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
    )


def test_fetch_json_has_dailyhues_fields(bing: BingStandIn, cache_dir: Path) -> None:
    result = huewall("fetch", "--locale", "en-US", "--resolution", RES, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    day = bing.days("en-US")[0]
    assert set(data) == EXPECTED_JSON_FIELDS
    assert (data["startdate"], data["fullstartdate"], data["enddate"]) == (
        day.startdate, day.fullstartdate, day.enddate,
    )  # fmt: skip
    assert data["title"] == "Martimoaapa Finland"
    assert data["copyright_link"] == day.copyrightlink
    assert data["locale"] == "en-US" and data["palette_source"] == "local"
    assert data["images"]["1920x1080"] == f"{bing.base_url}/th?id={day.image_id}_1920x1080.jpg"
    assert set(data["images"]) == {
        "UHD",
        "1920x1200",
        "1920x1080",
        "1366x768",
        "1280x720",
        "1024x768",
        "800x600",
    }
    assert re.fullmatch(r"#[0-9a-f]{6}", data["colors"]["gradient_from"])
    assert re.fullmatch(r"#[0-9a-f]{6}", data["colors"]["gradient_to"])
    assert 0 <= data["colors"]["gradient_angle"] <= 359
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", data["cached_at"])
    path = Path(data["image_path"])
    assert path.is_absolute() and path.is_relative_to(cache_dir)
    with Image.open(path) as image:
        assert image.size == (1366, 768)
    # Again: instant, from the cache, the same answer.
    again = huewall("fetch", "--locale", "en-US", "--resolution", RES, "--json")
    assert json.loads(again.stdout) == data
    assert bing.metadata_count() == 1 and bing.image_count() == 1


def test_fetch_summary_and_days_ago(bing: BingStandIn) -> None:
    result = huewall("fetch", "-l", "en-us", "--days-ago", "2", "-r", RES)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Atacama Stars (en-US, ")
    assert "gradient: #" in result.stdout and "(local)" in result.stdout


def test_fetch_by_date(bing: BingStandIn) -> None:
    day = bing.days("en-US")[4]
    iso = f"{day.startdate[:4]}-{day.startdate[4:6]}-{day.startdate[6:]}"
    data = json.loads(huewall("fetch", "--date", iso, "-r", RES, "--json").stdout)
    assert data["startdate"] == day.startdate and data["title"] == "Tulip Fields"


def test_locale_defaults_to_settings_then_system(bing: BingStandIn, config_dir: Path) -> None:
    bing.add_week("de-DE", ["Schwarzwald"] * 8)
    bing.add_week("ja-JP", ["Fuji"] * 8)
    assert (
        json.loads(huewall("fetch", "-r", RES, "--json", LANG="ja_JP.UTF-8").stdout)["locale"]
        == "ja-JP"
    )
    config_dir.mkdir(parents=True)
    (config_dir / "settings.json").write_text('{"main_market": "de-DE"}')
    assert (
        json.loads(huewall("fetch", "-r", RES, "--json", LANG="ja_JP.UTF-8").stdout)["locale"]
        == "de-DE"
    )
    (config_dir / "settings.json").write_text('{"main_market": 42}')
    result = huewall("fetch", "-r", RES, "--json", LANG="C.UTF-8")
    assert json.loads(result.stdout)["locale"] == "en-US"
    assert "ignoring setting 'main_market'" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("fetch", "--locale", "xx-YY"), "unknown locale 'xx-YY'; run 'huewall locales'"),
        (("fetch", "--days-ago", "8"), "expected 0..7"),
        (("fetch", "--date", "2025-13-01"), "expected a date as YYYY-MM-DD"),
        (("fetch", "--date", "2025-01-01", "--days-ago", "1"), "not allowed with"),
        (("fetch", "--resolution", "640x480"), "invalid choice"),
        (("frobnicate",), "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(args: tuple[str, ...], needle: str) -> None:
    result = huewall(*args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr


def test_runtime_errors_are_one_line(bing: BingStandIn, cache_dir: Path) -> None:
    bing.set_fault("metadata", "html")
    result = huewall("fetch", "-r", RES)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("huewall: error: ")
    assert "captive portal" in result.stderr
    bing.set_fault("metadata", None)
    bing.days("en-US")[0].wp = False
    result = huewall("fetch", "-r", RES)
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1 and "current wallpaper stays" in result.stderr
    result = huewall("fetch", "-r", RES, "--debug")
    assert result.returncode == 3 and "Traceback" in result.stderr  # details on request


def test_bing_url_must_be_https_unless_loopback() -> None:
    result = huewall("fetch", HUEWALL_BING_URL="http://bing.example.net")
    assert result.returncode == 2
    assert "only https is accepted" in result.stderr and result.stderr.count("\n") == 1


def test_unreachable_bing_is_one_line(cache_dir: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    result = huewall("fetch", HUEWALL_BING_URL=f"http://127.0.0.1:{port}")
    assert result.returncode == 1
    assert result.stderr == (
        "huewall: error: cannot reach 127.0.0.1 for Bing's picture list for en-US: "
        "connection refused\n"
    )


def test_locales_lists_the_markets() -> None:
    result = huewall("locales")
    assert result.returncode == 0
    codes = [line.split()[0] for line in result.stdout.splitlines()]
    assert {"en-US", "ja-JP", "zh-CN", "pt-BR"} <= set(codes) and len(codes) >= 50


@pytest.mark.timeout(90)
def test_sigkill_mid_download_blocks_nobody_and_leaves_no_partial_picture(
    bing: BingStandIn, cache_dir: Path
) -> None:
    bing.set_fault("image", "stall", times=1)
    victim = subprocess.Popen(
        [sys.executable, "-m", "desktop_app", "fetch", "-r", RES],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert bing.wait_for_stall(30), "the download never started"
        partials = list((cache_dir / "images").glob("*.partial"))
        assert partials, "the half picture should be on disk in a temporary file"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
        bing.release()
    started = time.monotonic()
    result = huewall("fetch", "-r", RES, "--json", timeout=30)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20, "the dead process's lock should not be waited out"
    path = Path(json.loads(result.stdout)["image_path"])
    with Image.open(path) as image:
        image.load()
        assert image.size == (1366, 768)
    assert sorted(p.name for p in (cache_dir / "images").iterdir()) == [f"{PHOTOS[0]}_{RES}.jpg"]
    assert bing.image_count() == 2


def test_an_unusable_cache_folder_is_one_line(bing: BingStandIn, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = huewall("fetch", "-r", RES, XDG_CACHE_HOME=str(blocker))
    assert result.returncode == 1
    assert result.stderr.startswith("huewall: error: cannot create the cache folder ")
    assert result.stderr.count("\n") == 1
