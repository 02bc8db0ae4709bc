"""The Bing stand-in itself: shape, pictures, counters and faults, checked with plain requests."""

from __future__ import annotations

import colorsys
import io
import itertools
import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
import urllib3
from PIL import Image, UnidentifiedImageError

from tests.support.bing_server import (
    HUGE_DECLARED_LENGTH,
    IMAGE_FAULTS,
    METADATA_FAULTS,
    SIZES,
    BingStandIn,
    Day,
    photo_jpeg,
)

pytestmark = pytest.mark.timeout(20)

PHOTOS = [
    "MartimoaapaFinland",
    "LaDigueSeychelles",
    "PuffinsIceland",
    "AutumnVermont",
    "DolomitesItaly",
    "NamibDunes",
    "KyotoTemple",
    "AuroraNorway",
]
NEWEST = datetime(2025, 10, 19, 7, 0, tzinfo=timezone.utc)
SHORT = (2.0, 0.3)  # (connect, read) timeouts for requests that are meant to time out
LONG = (2.0, 10.0)


@pytest.fixture
def bing() -> Iterator[BingStandIn]:
    """A bare stand-in (this overrides the conftest's, which adds a week and sets the env)."""
    with BingStandIn() as server:
        yield server


@pytest.fixture
def week(bing: BingStandIn) -> list[Day]:
    """en-US's week of ``PHOTOS``, the newest going live at ``NEWEST``."""
    return bing.add_week("en-US", PHOTOS, newest=NEWEST)


def metadata_url(bing: BingStandIn, market: str = "en-US", idx: int = 0, n: int = 8) -> str:
    return f"{bing.base_url}/HPImageArchive.aspx?format=js&idx={idx}&n={n}&mkt={market}"


def image_url(bing: BingStandIn, day: Day, size: str = "1920x1080") -> str:
    return bing.base_url + day.image_path(size)


def get_images(bing: BingStandIn, market: str = "en-US", idx: int = 0, n: int = 8) -> Any:
    response = requests.get(metadata_url(bing, market, idx, n), timeout=LONG)
    assert response.status_code == 200
    return response.json()


# -- metadata ---------------------------------------------------------------------------


def test_metadata_has_bings_shape(bing: BingStandIn, week: list[Day]) -> None:
    response = requests.get(metadata_url(bing), timeout=LONG)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    data = response.json()
    assert set(data) == {"images", "market", "tooltips"}
    assert data["market"] == {"mkt": "en-US"}
    assert set(data["tooltips"]) == {"loading", "previous", "next", "walle", "walls"}
    assert [image["urlbase"] for image in data["images"]] == [day.urlbase for day in week]
    first = data["images"][0]
    assert first["fullstartdate"] == "202510190700"
    assert first["startdate"] == "20251019"
    assert first["enddate"] == "20251020"
    assert first["urlbase"].startswith("/th?id=OHR.MartimoaapaFinland_EN-US")
    assert first["url"] == first["urlbase"] + "_1920x1080.jpg&rf=LaDigue_1920x1080.jpg&pid=hp"
    assert first["title"] == "Martimoaapa Finland"
    assert first["copyright"].endswith("(© Someone/Shutterstock)")
    assert first["wp"] is True
    assert len(first["hsh"]) == 32
    assert {"quiz", "drk", "top", "bot", "hs", "copyrightlink"} <= set(first)


def test_days_are_24_hours_apart_newest_first(week: list[Day]) -> None:
    starts = [day.starts_at for day in week]
    assert starts[0] == NEWEST
    assert all(a - b == timedelta(hours=24) for a, b in itertools.pairwise(starts))
    assert [day.startdate for day in week[:3]] == ["20251019", "20251018", "20251017"]
    assert len({day.image_id for day in week}) == len(PHOTOS)
    assert week[0].image_id == f"OHR.MartimoaapaFinland_EN-US{week[0].image_id[-10:]}"
    assert week[0].image_id[-10:].isdigit()


@pytest.mark.parametrize(
    ("idx", "n", "expected"),
    [(0, 8, PHOTOS), (0, 1, PHOTOS[:1]), (2, 3, PHOTOS[2:5]), (0, 50, PHOTOS), (7, 8, PHOTOS[7:])],
)
def test_metadata_is_sliced_by_idx_and_n(
    bing: BingStandIn, week: list[Day], idx: int, n: int, expected: list[str]
) -> None:
    images = get_images(bing, idx=idx, n=n)["images"]
    assert [image["title"].replace(" ", "") for image in images] == expected


def test_sixteen_days_reach_back_with_idx_7(bing: BingStandIn) -> None:
    photos = [f"Photo{i}" for i in range(16)]
    bing.add_week("en-US", photos, newest=NEWEST)

    images = get_images(bing, idx=7, n=8)["images"]

    assert [image["title"] for image in images] == [f"Photo{i}" for i in range(7, 15)]


@pytest.mark.parametrize(
    ("market", "fullstart", "startdate"),
    [
        ("en-US", datetime(2025, 1, 19, 8, 0), "20250119"),
        ("en-US", datetime(2025, 7, 19, 7, 0), "20250719"),
        ("en-GB", datetime(2025, 1, 19, 0, 0), "20250119"),
        ("en-GB", datetime(2025, 7, 18, 23, 0), "20250719"),
        ("de-DE", datetime(2025, 1, 18, 23, 0), "20250119"),
        ("de-DE", datetime(2025, 7, 18, 22, 0), "20250719"),
        ("fr-FR", datetime(2025, 1, 18, 23, 0), "20250119"),
        ("ja-JP", datetime(2025, 1, 18, 15, 0), "20250119"),
        ("zh-CN", datetime(2025, 1, 18, 16, 0), "20250119"),
        ("en-WW", datetime(2025, 1, 19, 0, 0), "20250119"),
    ],
)
def test_startdate_is_the_markets_local_day(
    bing: BingStandIn, market: str, fullstart: datetime, startdate: str
) -> None:
    days = bing.add_week(market, PHOTOS[:2], newest=fullstart.replace(tzinfo=timezone.utc))

    assert days[0].fullstartdate == fullstart.strftime("%Y%m%d%H%M")
    assert days[0].startdate == startdate
    next_day = datetime.strptime(startdate, "%Y%m%d") + timedelta(days=1)
    assert days[0].enddate == next_day.strftime("%Y%m%d")
    assert days[1].enddate == startdate


def test_default_week_is_fresh(bing: BingStandIn) -> None:
    before = datetime.now(timezone.utc)
    newest = bing.add_week("en-US", PHOTOS)[0].starts_at

    assert newest.minute == 0
    assert before - timedelta(hours=2) < newest <= before - timedelta(hours=1)


def test_naive_newest_is_refused(bing: BingStandIn) -> None:
    with pytest.raises(ValueError, match="aware"):
        bing.add_week("en-US", PHOTOS, newest=datetime(2025, 10, 19, 7, 0))


def test_tweaked_days_are_served(bing: BingStandIn, week: list[Day]) -> None:
    week[0].wp = False
    week[0].title = ""
    week[0].copyright = "<b>Bold</b> &amp; (© Someone)"
    week[1].urlbase = "https://evil.example/th?id=OHR.Evil_EN-US1"
    week[2].image_id = "OHR.../../../../etc/passwd_EN-US1"
    week[3].extra = {"hs": [{"x": 1}], "new_key": "yes"}
    week[3].omit = {"quiz", "url"}

    images = get_images(bing)["images"]

    assert images[0]["wp"] is False
    assert images[0]["title"] == ""
    assert images[0]["copyright"] == "<b>Bold</b> &amp; (© Someone)"
    assert images[1]["urlbase"] == "https://evil.example/th?id=OHR.Evil_EN-US1"
    assert images[1]["url"].startswith("https://evil.example/th?id=OHR.Evil_EN-US1_1920x1080.jpg")
    assert images[2]["urlbase"] == "/th?id=OHR.../../../../etc/passwd_EN-US1"
    assert images[3]["hs"] == [{"x": 1}]
    assert images[3]["new_key"] == "yes"
    assert "quiz" not in images[3]
    assert "url" not in images[3]
    # The crafted id still names the day's picture on the stand-in.
    response = requests.get(image_url(bing, week[2]), timeout=LONG)
    assert response.content == photo_jpeg(week[2].photo, "1920x1080")


def test_uhd_parameter_points_url_at_the_uhd_rendition(bing: BingStandIn, week: list[Day]) -> None:
    url = metadata_url(bing) + "&uhd=1&uhdwidth=3840&uhdheight=2160"

    image = requests.get(url, timeout=LONG).json()["images"][0]

    assert image["url"].startswith(week[0].urlbase + "_UHD.jpg")


def test_served_market_imitates_bings_fallback(bing: BingStandIn) -> None:
    days = bing.add_week("es-AR", PHOTOS, newest=NEWEST, served_market="ROW")

    data = get_images(bing, market="es-AR")

    assert data["market"] == {"mkt": "ROW"}
    assert "_ROW" in days[0].image_id


def test_unknown_market_gets_the_worldwide_week(bing: BingStandIn, week: list[Day]) -> None:
    worldwide = bing.add_week("en-WW", PHOTOS[::-1], newest=NEWEST)

    data = get_images(bing, market="xx-XX")

    assert data["market"] == {"mkt": "en-WW"}
    assert [image["urlbase"] for image in data["images"]] == [day.urlbase for day in worldwide]
    assert "_ROW" in worldwide[0].image_id


def test_unknown_market_without_a_worldwide_week_gets_no_images(
    bing: BingStandIn, week: list[Day]
) -> None:
    data = get_images(bing, market="xx-XX")

    assert data["images"] == []
    assert data["market"] == {"mkt": "en-WW"}


def test_markets_are_case_insensitive(bing: BingStandIn, week: list[Day]) -> None:
    assert len(get_images(bing, market="EN-us")["images"]) == 8
    assert bing.metadata_count("en-US") == 1


# -- pictures ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_pictures_decode_to_their_declared_size(
    bing: BingStandIn, week: list[Day], size: str
) -> None:
    response = requests.get(image_url(bing, week[0], size), timeout=LONG)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert int(response.headers["Content-Length"]) == len(response.content)
    with Image.open(io.BytesIO(response.content)) as picture:
        assert picture.format == "JPEG"
        assert picture.size == SIZES[size]
    if size == "UHD":
        assert SIZES[size] == (2560, 1440)


def test_the_same_photo_is_byte_identical_across_markets(bing: BingStandIn) -> None:
    us = bing.add_week("en-US", PHOTOS, newest=NEWEST)
    jp = bing.add_week("ja-JP", PHOTOS, newest=NEWEST)
    assert us[0].image_id != jp[0].image_id

    from_us = requests.get(image_url(bing, us[0]), timeout=LONG).content
    from_jp = requests.get(image_url(bing, jp[0]), timeout=LONG).content
    other = requests.get(image_url(bing, us[1]), timeout=LONG).content

    assert from_us == from_jp == photo_jpeg(PHOTOS[0], "1920x1080")
    assert other != from_us


@pytest.mark.parametrize("photo", PHOTOS[:4])
def test_pictures_are_colourful(photo: str) -> None:
    with Image.open(io.BytesIO(photo_jpeg(photo, "800x600"))) as picture:
        small = picture.convert("RGB").resize((48, 36))
    hues = set()
    for _, (red, green, blue) in small.getcolors(48 * 36):
        hue, saturation, value = colorsys.rgb_to_hsv(red / 255, green / 255, blue / 255)
        if saturation > 0.4 and value > 0.3:
            hues.add(round(hue * 12) % 12)
    assert len(hues) >= 3


@pytest.mark.parametrize(
    "path",
    [
        "/th?id=OHR.NotAdded_EN-US1234567890_1920x1080.jpg",
        "/th?id=OHR.MartimoaapaFinland_EN-US0000000000_1920x1080.jpg",
        "/th?id=OHR.MartimoaapaFinland_EN-US{digits}_123x45.jpg",
        "/th?id=OHR.MartimoaapaFinland_EN-US{digits}",
        "/th",
        "/",
        "/favicon.ico",
        "/HPImageArchive.aspx/../etc/passwd",
    ],
)
def test_unknown_paths_are_404(bing: BingStandIn, week: list[Day], path: str) -> None:
    path = path.replace("{digits}", week[0].image_id[-10:])

    response = requests.get(bing.base_url + path, timeout=LONG)

    assert response.status_code == 404


# -- counting ---------------------------------------------------------------------------


def test_requests_are_counted(bing: BingStandIn, week: list[Day]) -> None:
    bing.add_week("ja-JP", PHOTOS, newest=NEWEST)
    get_images(bing, "en-US")
    get_images(bing, "ja-JP")
    get_images(bing, "en-US", idx=1, n=1)
    requests.get(image_url(bing, week[0]), timeout=LONG)
    requests.get(image_url(bing, week[0], "UHD"), timeout=LONG)
    requests.get(image_url(bing, week[1]), timeout=LONG)

    assert bing.metadata_count() == 3
    assert bing.metadata_count("en-US") == 2
    assert bing.metadata_count("ja-JP") == 1
    assert bing.metadata_count("de-DE") == 0
    assert bing.image_count() == 3
    assert bing.image_count(PHOTOS[0]) == 2
    assert bing.image_count(size="1920x1080") == 2
    assert bing.image_count(PHOTOS[0], "UHD") == 1
    assert bing.requests[0] == ("GET", "/HPImageArchive.aspx?format=js&idx=0&n=8&mkt=en-US")
    assert bing.requests[-1] == ("GET", week[1].image_path("1920x1080"))
    assert len(bing.requests) == 6

    bing.reset_counts()

    assert bing.metadata_count() == bing.image_count() == 0
    assert bing.requests == []


@pytest.mark.timeout(30)
def test_concurrent_clients_are_all_served(bing: BingStandIn, week: list[Day]) -> None:
    def fetch(i: int) -> bytes:
        with requests.Session() as session:
            images = session.get(metadata_url(bing), timeout=LONG).json()["images"]
            return session.get(bing.base_url + images[i % 8]["url"], timeout=LONG).content

    with ThreadPoolExecutor(32) as pool:
        pictures = list(pool.map(fetch, range(64)))

    assert all(pictures[i] == photo_jpeg(PHOTOS[i % 8], "1920x1080") for i in range(64))
    assert bing.metadata_count("en-US") == 64
    assert bing.image_count() == 64
    assert bing.handler_errors == []


@pytest.mark.timeout(30)
def test_subprocesses_find_it_through_the_environment(bing: BingStandIn, week: list[Day]) -> None:
    script = (
        "import os, urllib.request\n"
        "url = os.environ['HUEWALL_BING_URL'] + os.environ['PICTURE']\n"
        "print(len(urllib.request.urlopen(url, timeout=10).read()))\n"
    )
    env = {**os.environ, "HUEWALL_BING_URL": bing.base_url, "PICTURE": week[0].url}
    children = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE)
        for _ in range(3)
    ]
    outputs = [child.communicate(timeout=20)[0] for child in children]

    expected = len(photo_jpeg(PHOTOS[0], "1920x1080"))
    assert [int(output) for output in outputs] == [expected] * 3
    assert bing.image_count(PHOTOS[0]) == 3


# -- faults: both endpoints ---------------------------------------------------------------


def endpoint_url(bing: BingStandIn, week: list[Day], endpoint: str) -> str:
    """The week's metadata, or its newest picture."""
    return metadata_url(bing) if endpoint == "metadata" else image_url(bing, week[0])


@pytest.mark.parametrize("endpoint", ["metadata", "image"])
@pytest.mark.parametrize("status", ["500", "503", "404"])
def test_status_faults(bing: BingStandIn, week: list[Day], endpoint: Any, status: str) -> None:
    bing.set_fault(endpoint, status)

    response = requests.get(endpoint_url(bing, week, endpoint), timeout=LONG)

    assert response.status_code == int(status)
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"<html>" in response.content


@pytest.mark.parametrize("endpoint", ["metadata", "image"])
def test_html_fault_is_a_captive_portal(bing: BingStandIn, week: list[Day], endpoint: Any) -> None:
    bing.set_fault(endpoint, "html")

    response = requests.get(endpoint_url(bing, week, endpoint), timeout=LONG)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"<form" in response.content


@pytest.mark.parametrize("endpoint", ["metadata", "image"])
def test_reset_fault_drops_the_connection(
    bing: BingStandIn, week: list[Day], endpoint: Any
) -> None:
    bing.set_fault(endpoint, "reset", times=1)

    with pytest.raises(requests.ConnectionError):
        requests.get(endpoint_url(bing, week, endpoint), timeout=LONG)
    assert requests.get(endpoint_url(bing, week, endpoint), timeout=LONG).status_code == 200


@pytest.mark.parametrize("endpoint", ["metadata", "image"])
def test_hang_fault_sends_nothing(bing: BingStandIn, week: list[Day], endpoint: Any) -> None:
    bing.set_fault(endpoint, "hang", times=1)

    with pytest.raises(requests.ReadTimeout):
        requests.get(endpoint_url(bing, week, endpoint), timeout=SHORT)
    assert bing.wait_for_hang(timeout=5)
    bing.release()


def test_released_hang_answers_normally(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("metadata", "hang")
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(requests.get, metadata_url(bing), timeout=LONG)
        second = pool.submit(requests.get, metadata_url(bing), timeout=LONG)
        assert bing.wait_for_hang(timeout=5, count=2)
        assert not first.done()

        bing.release()

        assert first.result(timeout=5).json()["images"][0]["urlbase"] == week[0].urlbase
        assert second.result(timeout=5).status_code == 200


def test_fault_times_and_clearing(bing: BingStandIn, week: list[Day]) -> None:
    def status() -> int:
        return requests.get(metadata_url(bing), timeout=LONG).status_code

    bing.set_fault("metadata", "500", times=2)
    assert [status(), status(), status()] == [500, 500, 200]

    bing.set_fault("metadata", "503")
    assert [status(), status(), status()] == [503, 503, 503]
    assert requests.get(image_url(bing, week[0]), timeout=LONG).status_code == 200

    bing.set_fault("metadata", None)
    assert status() == 200
    assert bing.metadata_count() == 7  # faulted requests count too


def test_bad_faults_are_refused(bing: BingStandIn) -> None:
    with pytest.raises(ValueError, match="unknown metadata fault"):
        bing.set_fault("metadata", "stall")
    with pytest.raises(ValueError, match="unknown image fault"):
        bing.set_fault("image", "cutoff")
    with pytest.raises(ValueError, match="endpoint"):
        bing.set_fault("thumbnail", "500")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        bing.set_fault("image", "500", times=0)
    assert {"stall", "bomb", "huge_chunked"} <= IMAGE_FAULTS
    assert {"cutoff", "empty", "hang"} <= METADATA_FAULTS


# -- faults: metadata ---------------------------------------------------------------------


def test_cutoff_fault_sends_half_the_json(bing: BingStandIn, week: list[Day]) -> None:
    whole = requests.get(metadata_url(bing), timeout=LONG).content
    bing.set_fault("metadata", "cutoff")

    response = requests.get(metadata_url(bing), timeout=LONG)

    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.content == whole[: len(whole) // 2]
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("empty", lambda data: data["images"] == [] and data["market"] == {"mkt": "en-US"}),
        ("not_json_object", lambda data: not isinstance(data, dict)),
        ("images_not_list", lambda data: not isinstance(data["images"], list)),
    ],
)
def test_metadata_content_faults(
    bing: BingStandIn, week: list[Day], fault: str, check: Any
) -> None:
    bing.set_fault("metadata", fault)

    response = requests.get(metadata_url(bing), timeout=LONG)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert check(response.json())


# -- faults: pictures ---------------------------------------------------------------------


def test_not_image_fault_is_text_labelled_as_jpeg(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "not_image")

    response = requests.get(image_url(bing, week[0]), timeout=LONG)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.content.decode("ascii").startswith("Sorry")
    with pytest.raises(UnidentifiedImageError):
        Image.open(io.BytesIO(response.content))


def test_truncated_fault_sends_the_start_of_the_picture(bing: BingStandIn, week: list[Day]) -> None:
    whole = photo_jpeg(week[0].photo, "1920x1080")
    bing.set_fault("image", "truncated")

    response = requests.get(image_url(bing, week[0]), timeout=LONG)

    assert int(response.headers["Content-Length"]) == len(response.content)
    assert response.content == whole[: len(whole) * 6 // 10]


def test_bomb_fault_is_a_small_png_of_900_megapixels(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "bomb")

    response = requests.get(image_url(bing, week[0]), timeout=LONG)

    body = response.content
    assert body.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(body) < 200_000
    assert struct.unpack(">II", body[16:24]) == (30_000, 30_000)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(body))


def test_placeholder_fault_is_a_1x1_jpeg(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "placeholder")

    response = requests.get(image_url(bing, week[0], "UHD"), timeout=LONG)

    with Image.open(io.BytesIO(response.content)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (1, 1))


def test_huge_declared_fault_announces_200_mib(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "huge_declared")

    with requests.get(image_url(bing, week[0]), timeout=LONG, stream=True) as response:
        assert response.headers["Content-Length"] == str(HUGE_DECLARED_LENGTH)
        start = response.raw.read(200_000)

    whole = photo_jpeg(week[0].photo, "1920x1080")
    assert start[: len(whole)] == whole
    assert set(start[len(whole) :]) == {0}


def test_huge_chunked_fault_streams_without_a_length(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "huge_chunked")

    with requests.get(image_url(bing, week[0]), timeout=LONG, stream=True) as response:
        assert "Content-Length" not in response.headers
        assert response.headers["Transfer-Encoding"] == "chunked"
        received = 0
        for chunk in response.iter_content(256 * 1024):
            received += len(chunk)
            if received > 5 * 1024**2:
                break
    assert received > 5 * 1024**2


def test_stall_fault_sends_half_then_waits(bing: BingStandIn, week: list[Day]) -> None:
    whole = photo_jpeg(week[0].photo, "1920x1080")
    bing.set_fault("image", "stall", times=1)

    with requests.get(image_url(bing, week[0]), timeout=SHORT, stream=True) as response:
        assert response.headers["Content-Length"] == str(len(whole))
        assert bing.wait_for_stall(timeout=5)
        assert response.raw.read(len(whole) // 2) == whole[: len(whole) // 2]
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            response.raw.read(1)
    bing.release()


def test_released_stall_completes_the_picture(bing: BingStandIn, week: list[Day]) -> None:
    bing.set_fault("image", "stall")
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(requests.get, image_url(bing, week[0]), timeout=LONG)
        assert bing.wait_for_stall(timeout=5)

        bing.release()

        assert future.result(timeout=5).content == photo_jpeg(week[0].photo, "1920x1080")


# -- stopping -----------------------------------------------------------------------------


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    ("endpoint", "fault"),
    [("metadata", "hang"), ("image", "hang"), ("image", "stall")],
)
def test_stop_is_prompt_while_requests_are_blocked(endpoint: Any, fault: str) -> None:
    bing = BingStandIn().start()
    week = bing.add_week("en-US", PHOTOS, newest=NEWEST)
    bing.set_fault(endpoint, fault)
    wait_until_blocked = bing.wait_for_hang if fault == "hang" else bing.wait_for_stall

    def fetch() -> bytes:
        return requests.get(endpoint_url(bing, week, endpoint), timeout=LONG).content

    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(fetch) for _ in range(3)]
        assert wait_until_blocked(timeout=5, count=3)
        started = time.monotonic()
        bing.stop()
        assert time.monotonic() - started < 2
        for future in futures:
            with pytest.raises(requests.RequestException):  # dropped, or cut off (stall)
                future.result(timeout=5)
    bing.stop()  # idempotent


@pytest.mark.timeout(10)
@pytest.mark.parametrize("fault", ["huge_declared", "huge_chunked"])
def test_stop_is_prompt_while_streaming_to_an_idle_client(fault: str) -> None:
    bing = BingStandIn().start()
    days = bing.add_week("en-US", PHOTOS, newest=NEWEST)
    bing.set_fault("image", fault)

    with requests.get(image_url(bing, days[0]), timeout=LONG, stream=True) as response:
        assert response.status_code == 200
        started = time.monotonic()
        bing.stop()
        assert time.monotonic() - started < 2


def test_client_disconnects_are_quiet(
    bing: BingStandIn, week: list[Day], capfd: pytest.CaptureFixture[str]
) -> None:
    for fault in ("huge_declared", "huge_chunked", "stall"):
        bing.set_fault("image", fault, times=1)
        with requests.get(image_url(bing, week[0]), timeout=LONG, stream=True) as response:
            response.raw.read(1000)
    bing.set_fault("image", "reset", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.get(image_url(bing, week[0]), timeout=LONG)

    bing.stop()

    captured = capfd.readouterr()
    assert captured.out == captured.err == ""
    assert bing.handler_errors == []


def test_base_url_and_life_cycle() -> None:
    bing = BingStandIn()
    with pytest.raises(RuntimeError):
        bing.base_url  # noqa: B018 - not started yet
    with bing:
        assert bing.base_url == f"http://127.0.0.1:{bing.port}"
        assert bing.port > 0
    with pytest.raises(RuntimeError):
        bing.start()
