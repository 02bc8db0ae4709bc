"""The service against a real HTTP Bing stand-in on loopback, counting what reaches it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.errors import (
    BadResponseError,
    HuewallError,
    NetworkError,
    NotAWallpaperError,
    NotFoundError,
)
from desktop_app.core.models import DaysAgo, OnDate
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.service import WallpaperService
from tests.conftest import PHOTOS, CountingAnalyser
from tests.support.bing_server import BingStandIn

Make = Callable[..., WallpaperService]
RES = "1366x768"


def _files(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in (cache_dir / "images").iterdir())


def test_one_metadata_request_serves_the_whole_week(bing: BingStandIn, make_service: Make) -> None:
    service = make_service()
    answers = [service.get("en-US", DaysAgo(n), RES) for n in range(8)]
    assert [a.image.photo for a in answers] == list(PHOTOS)
    assert bing.metadata_count() == 1
    assert bing.image_count() == 8
    for answer in answers:
        with Image.open(answer.image_path) as image:
            assert image.size == (1366, 768)
    # Another "process" (new store, locks and client on the same folders) costs nothing.
    again = make_service().get("en-US", DaysAgo(3), RES)
    assert again == answers[3]
    assert bing.metadata_count() == 1 and bing.image_count() == 8


def test_the_week_is_refreshed_once_after_the_newest_picture_expires(
    bing: BingStandIn, make_service: Make
) -> None:
    newest = bing.days("en-US")[0].starts_at
    now = [newest + timedelta(hours=1)]
    service = make_service(clock=lambda: now[0])
    first = service.get("en-US", DaysAgo(0), RES)
    now[0] = newest + timedelta(hours=23, minutes=59)
    assert service.get("en-US", DaysAgo(0), RES) == first
    assert make_service(clock=lambda: now[0]).get("en-US", DaysAgo(1), RES).image.photo == PHOTOS[1]
    assert bing.metadata_count() == 1

    # Bing publishes the next picture; past newest + 24 h the next request refreshes.
    bing.add_week("en-US", ("NewDay", *PHOTOS[:7]), newest=newest + timedelta(hours=24))
    now[0] = newest + timedelta(hours=24, minutes=5)
    for _ in range(5):
        assert service.get("en-US", DaysAgo(0), RES).image.photo == "NewDay"
    assert service.get("en-US", DaysAgo(1), RES).image.photo == PHOTOS[0]
    assert bing.metadata_count() == 2
    assert bing.image_count(photo=PHOTOS[0]) == 1  # yesterday's picture was already here


def test_markets_showing_the_same_photo_share_one_download_and_palette(
    bing: BingStandIn, make_service: Make
) -> None:
    bing.add_week("ja-JP", PHOTOS)
    bing.add_week("en-GB", PHOTOS)
    analyser = CountingAnalyser(LocalAnalyser())
    service = make_service(analyser=analyser)
    us = service.get("en-US", DaysAgo(0), RES)
    jp = service.get("ja-JP", DaysAgo(0), RES)
    gb = make_service(analyser=analyser).get("en-GB", DaysAgo(0), RES)
    assert us.image.image_id != jp.image.image_id
    assert us.image_path == jp.image_path == gb.image_path
    assert us.palette == jp.palette == gb.palette
    assert bing.image_count(photo=PHOTOS[0]) == 1
    assert analyser.calls == 1
    assert bing.metadata_count() == 3


def test_identical_pictures_share_one_analysis_whatever_their_names(
    bing: BingStandIn, make_service: Make, cache_dir: Path
) -> None:
    analyser = CountingAnalyser(LocalAnalyser())
    service = make_service(analyser=analyser)
    first = service.get("en-US", DaysAgo(0), RES)
    # Bing renames a photo it already showed: same bytes, new name.
    renamed = first.stored.path.with_name("RenamedPhoto_1366x768.jpg")
    renamed.write_bytes(first.stored.path.read_bytes())
    from dataclasses import replace

    again = service._palette(replace(first.stored, path=renamed))
    assert again == first.palette
    assert analyser.calls == 1


def test_a_picture_not_offered_as_wallpaper_is_not_downloaded(
    bing: BingStandIn, make_service: Make
) -> None:
    bing.days("en-US")[0].wp = False
    with pytest.raises(NotAWallpaperError, match="does not offer 'Martimoaapa Finland'") as caught:
        make_service().get("en-US", DaysAgo(0), RES)
    assert caught.value.exit_code == 3
    assert bing.image_count() == 0
    assert make_service().get("en-US", DaysAgo(1), RES).image.photo == PHOTOS[1]


def test_empty_title_and_markup(bing: BingStandIn, make_service: Make) -> None:
    day = bing.days("en-US")[0]
    day.title = ""
    day.copyright = "Tulips &amp; <i>windmills</i>\u0007 near Lisse (© Jan/Getty)"
    answer = make_service().get("en-US", DaysAgo(0), RES)
    assert answer.image.title == "Tulips & windmills near Lisse"
    assert answer.image.copyright == "Tulips & windmills near Lisse (© Jan/Getty)"


def test_a_market_served_from_the_worldwide_set(
    bing: BingStandIn, make_service: Make, caplog: pytest.LogCaptureFixture
) -> None:
    bing.add_week("de-AT", PHOTOS, served_market="en-WW")
    with caplog.at_level(logging.INFO, logger="huewall.bing"):
        answer = make_service().get("de-AT", DaysAgo(0), RES)
    assert answer.market == "de-AT"
    assert "_ROW" in answer.image.image_id
    assert any("en-WW" in r.getMessage() for r in caplog.records)


def test_an_unsafe_id_is_refused_and_the_other_days_still_work(
    bing: BingStandIn, make_service: Make, cache_dir: Path
) -> None:
    bing.days("en-US")[0].image_id = "OHR.../../../../tmp/escape_EN-US1"
    service = make_service()
    with pytest.raises(BadResponseError, match="unsafe image id"):
        service.get("en-US", DaysAgo(0), RES)
    assert service.get("en-US", DaysAgo(1), RES).image.photo == PHOTOS[1]
    assert bing.metadata_count() == 1
    assert _files(cache_dir) == [f"{PHOTOS[1]}_{RES}.jpg"]
    assert not (cache_dir.parent / "tmp").exists()


def test_a_picture_on_a_foreign_host_is_refused(bing: BingStandIn, make_service: Make) -> None:
    bing.days("en-US")[0].urlbase = "https://evil.example/th?id=OHR.Evil_EN-US1"
    bing.days("en-US")[1].urlbase = f"http://127.0.0.2:{bing.port}/th?id=OHR.Other_EN-US2"
    service = make_service()
    for n in (0, 1):
        with pytest.raises(BadResponseError, match="foreign host"):
            service.get("en-US", DaysAgo(n), RES)
    assert bing.image_count() == 0


def test_empty_list_is_an_error_and_is_not_cached(bing: BingStandIn, make_service: Make) -> None:
    bing.set_fault("metadata", "empty", times=1)
    with pytest.raises(NotFoundError, match="no pictures for en-US"):
        make_service().get("en-US", DaysAgo(0), RES)
    assert make_service().get("en-US", DaysAgo(0), RES).image.photo == PHOTOS[0]
    assert bing.metadata_count() == 2


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("500", NetworkError, "HTTP 500"),
        ("503", NetworkError, "HTTP 503"),
        ("404", NetworkError, "HTTP 404"),
        ("html", BadResponseError, "captive portal"),
        ("cutoff", BadResponseError, "cut off or is not JSON"),
        ("not_json_object", BadResponseError, "not a JSON object"),
        ("images_not_list", BadResponseError, "no picture list"),
        ("reset", NetworkError, "127.0.0.1"),
    ],
)
def test_bad_metadata_is_a_clear_error_and_nothing_is_cached(
    bing: BingStandIn,
    make_service: Make,
    cache_dir: Path,
    fault: str,
    error: type[HuewallError],
    words: str,
) -> None:
    bing.set_fault("metadata", fault)
    with pytest.raises(error, match=words) as caught:
        make_service().get("en-US", DaysAgo(0), RES)
    assert "\n" not in str(caught.value)
    bing.set_fault("metadata", None)
    assert make_service().get("en-US", DaysAgo(0), RES).image.photo == PHOTOS[0]
    assert bing.metadata_count() == 2
    assert _files(cache_dir) == [f"{PHOTOS[0]}_{RES}.jpg"]


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("500", "HTTP 500"),
        ("404", "HTTP 404"),
        ("html", "web page"),
        ("not_image", "not a picture"),
        ("truncated", "damaged or cut off"),
        ("huge_declared", "cap is 50 MB"),
        ("huge_chunked", "cap is 50 MB"),
        ("bomb", "decompression bomb"),
        ("placeholder", "placeholder"),
        ("reset", "127.0.0.1"),
    ],
)
def test_bad_pictures_are_refused_and_leave_nothing_behind(
    bing: BingStandIn, make_service: Make, cache_dir: Path, fault: str, words: str
) -> None:
    bing.set_fault("image", fault)
    with pytest.raises(HuewallError, match=words) as caught:
        make_service().get("en-US", DaysAgo(0), RES)
    assert "\n" not in str(caught.value)
    assert _files(cache_dir) == []
    bing.set_fault("image", None)
    answer = make_service().get("en-US", DaysAgo(0), RES)
    assert _files(cache_dir) == [f"{PHOTOS[0]}_{RES}.jpg"]
    with Image.open(answer.image_path) as image:
        image.load()
    assert bing.image_count() == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize("endpoint", ["metadata", "image"])
def test_a_server_that_never_answers_is_a_clear_error(
    bing: BingStandIn, make_service: Make, endpoint: str
) -> None:
    bing.set_fault(endpoint, "hang")
    try:
        with pytest.raises(NetworkError, match=r"did not answer within 1 s|stopped sending"):
            make_service(read_timeout=1.0).get("en-US", DaysAgo(0), RES)
    finally:
        bing.release()


@pytest.mark.timeout(90)
def test_default_timeouts_give_up_within_a_minute(bing: BingStandIn, cache_dir: Path) -> None:
    """The shipped defaults, not the tests' short ones, bound a silent server."""
    from desktop_app.core.bing import BingClient

    bing.set_fault("metadata", "hang")
    started = datetime.now(timezone.utc)
    try:
        with pytest.raises(NetworkError, match="did not answer"):
            BingClient(bing.base_url).fetch_week("en-US")
    finally:
        bing.release()
    assert datetime.now(timezone.utc) - started < timedelta(seconds=60)


def test_older_days_come_from_the_archive(bing: BingStandIn, make_service: Make) -> None:
    newest = bing.days("en-US")[0].starts_at
    old_day = bing.days("en-US")[7]
    now = [newest + timedelta(hours=1)]
    make_service(clock=lambda: now[0]).get("en-US", DaysAgo(7), RES)
    # Ten days later Bing lists a whole new week.
    later = newest + timedelta(days=10)
    bing.add_week("en-US", [f"Later{i}" for i in range(8)], newest=later)
    now[0] = later + timedelta(hours=1)
    service = make_service(clock=lambda: now[0])
    wanted = datetime.strptime(old_day.startdate, "%Y%m%d").date()
    answer = service.get("en-US", OnDate(wanted), RES)
    assert answer.image.photo == old_day.photo
    assert bing.image_count(photo=old_day.photo) == 1  # the archive had the picture
    in_week = datetime.strptime(bing.days("en-US")[2].startdate, "%Y%m%d").date()
    assert service.get("en-US", OnDate(in_week), RES).image.photo == "Later2"
    with pytest.raises(NotFoundError, match="archive has none"):
        service.get("en-US", OnDate(wanted - timedelta(days=1)), RES)


def test_a_warm_get_costs_no_network_and_survives_a_server_outage(
    bing: BingStandIn, make_service: Make
) -> None:
    service = make_service()
    first = service.get("en-US", DaysAgo(0), RES)
    bing.set_fault("metadata", "500")
    bing.set_fault("image", "500")
    assert service.get("en-US", DaysAgo(0), RES) == first
    assert make_service().get("en-US", DaysAgo(0), RES) == first
    assert bing.metadata_count() == 1 and bing.image_count() == 1


def test_a_picture_that_cannot_be_saved_is_a_clear_error(
    bing: BingStandIn, make_service: Make, cache_dir: Path
) -> None:
    import shutil

    from desktop_app.core.errors import StoreError

    service = make_service()
    shutil.rmtree(cache_dir / "images")
    (cache_dir / "images").write_text("not a folder")  # fails even for root, unlike chmod
    with pytest.raises(StoreError, match=r"cannot save the picture in .*images"):
        service.get("en-US", DaysAgo(0), RES)
    (cache_dir / "images").unlink()
    (cache_dir / "images").mkdir()
    assert service.get("en-US", DaysAgo(0), RES).image.photo == PHOTOS[0]
