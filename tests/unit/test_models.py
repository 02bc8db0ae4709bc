from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from desktop_app.core.errors import UnknownMarketError
from desktop_app.core.markets import (
    MARKETS,
    default_market,
    market_from_locale_name,
    normalise_market,
    system_market,
)
from desktop_app.core.models import (
    BingImage,
    Week,
    clean_text,
    image_id_from_urlbase,
    resolution_for_screen,
)

RAW = {
    "startdate": "20251019",
    "fullstartdate": "202510190700",
    "enddate": "20251020",
    "urlbase": "/th?id=OHR.MartimoaapaFinland_EN-US3685817058",
    "copyright": "Aerial view of peatland, Finland (© romikatarina/Shutterstock)",
    "copyrightlink": "https://www.bing.com/search?q=Martimoaapa",
    "title": "Finland's living peatland",
    "wp": True,
}


def test_required_markets_are_known() -> None:
    required = (
        "en-US en-GB en-CA en-AU en-IN ja-JP zh-CN zh-TW de-DE fr-FR fr-CA es-ES it-IT pt-BR "
        "ko-KR ru-RU"
    )
    assert set(required.split()) <= set(MARKETS)
    assert len(MARKETS) >= 50


def test_market_spellings_are_normalised_and_unknown_ones_refused() -> None:
    assert normalise_market("de_de") == "de-DE"
    assert normalise_market(" EN-us ") == "en-US"
    with pytest.raises(UnknownMarketError) as caught:
        normalise_market("xx-YY")
    assert "xx-YY" in str(caught.value) and "huewall locales" in str(caught.value)
    assert caught.value.exit_code == 2


def test_default_market_order() -> None:
    assert default_market("fr-CA", {"LANG": "de_DE.UTF-8"}) == "fr-CA"
    assert default_market(None, {"LANG": "de_DE.UTF-8"}) == "de-DE"
    assert default_market(None, {"LC_ALL": "ja_JP.UTF-8", "LANG": "de_DE.UTF-8"}) == "ja-JP"
    assert default_market(None, {"LANG": "C.UTF-8"}) == "en-US"
    assert default_market(None, {"LANG": "eo_XX.UTF-8"}) == "en-US"
    assert market_from_locale_name("pt_BR@euro") == "pt-BR"
    assert system_market({"LANG": "POSIX"}) is None


def test_bing_entry_is_parsed() -> None:
    image = BingImage.from_bing("en-US", RAW)
    assert image.photo == "MartimoaapaFinland"
    assert image.image_id == "OHR.MartimoaapaFinland_EN-US3685817058"
    assert image.live_from == datetime(2025, 10, 19, 7, 0, tzinfo=timezone.utc)
    assert image.day.isoformat() == "2025-10-19"
    assert BingImage.from_record(image.to_record()) == image


def test_same_photo_in_two_markets_has_one_name() -> None:
    us = BingImage.from_bing("en-US", RAW)
    jp = BingImage.from_bing("ja-JP", {**RAW, "urlbase": "/th?id=OHR.MartimoaapaFinland_JA-JP123"})
    row = BingImage.from_bing("de-AT", {**RAW, "urlbase": "/th?id=OHR.MartimoaapaFinland_ROW9"})
    assert us.photo == jp.photo == row.photo == "MartimoaapaFinland"


def test_empty_title_comes_from_the_copyright_and_markup_is_removed() -> None:
    image = BingImage.from_bing(
        "en-US",
        {
            **RAW,
            "title": "",
            "copyright": (
                "<b>Lake&nbsp;Bled</b>,\tSlovenia\u0000\n(© Someone/Getty)<script>x</script>"
            ),
        },
    )
    assert image.title == "Lake\xa0Bled, Slovenia".replace("\xa0", " ")
    assert "<" not in image.copyright and "\x00" not in image.copyright
    assert clean_text("a\u202eb") == "a b"  # bidi override is not printed raw
    assert clean_text(None) == ""


@pytest.mark.parametrize(
    "urlbase",
    [
        "/th?id=OHR.../../../etc/passwd_EN-US1",
        "/th?id=OHR.a/b_EN-US1",
        "/th?id=.hidden",
        "/th?id=OHR.x%2F..%2Fy_EN-US1",
        "/th?id=",
    ],
)
def test_crafted_ids_are_refused(urlbase: str) -> None:
    with pytest.raises(ValueError, match="unsafe image id"):
        image_id_from_urlbase(urlbase)


def test_malformed_entries_are_refused() -> None:
    for broken in (
        {**RAW, "startdate": "2025-10-19"},
        {**RAW, "fullstartdate": None},
        {**RAW, "urlbase": ""},
    ):
        with pytest.raises(ValueError):
            BingImage.from_bing("en-US", broken)


def test_week_stays_fresh_until_the_newest_picture_is_a_day_old() -> None:
    newest = BingImage.from_bing("en-US", RAW)
    older = BingImage.from_bing(
        "en-US", {**RAW, "startdate": "20251018", "fullstartdate": "202510180700"}
    )
    fetched = newest.live_from + timedelta(hours=1)
    week = Week("en-US", "en-US", (newest, "refused: unsafe", older), fetched)
    assert week.images == (newest, older)
    assert week.expires_at == newest.live_from + timedelta(hours=24)
    assert week.is_fresh(newest.live_from + timedelta(hours=23, minutes=59))
    assert not week.is_fresh(newest.live_from + timedelta(hours=24))
    assert Week.from_record(week.to_record()) == week


def test_a_late_picture_does_not_cause_a_request_storm() -> None:
    newest = BingImage.from_bing("en-US", RAW)
    fetched = newest.live_from + timedelta(hours=30)  # Bing is late with the next one
    week = Week("en-US", "en-US", (newest,), fetched)
    assert week.is_fresh(fetched + timedelta(minutes=14))
    assert not week.is_fresh(fetched + timedelta(minutes=15))


@pytest.mark.parametrize(
    ("screen", "expected"),
    [
        (None, "UHD"),
        ((1920, 1080), "1920x1080"),
        ((1080, 1920), "1920x1080"),
        ((1920, 1200), "1920x1200"),
        ((1366, 768), "1366x768"),
        ((1280, 800), "1920x1080"),
        ((1024, 600), "1024x768"),
        ((640, 480), "800x600"),
        ((2560, 1440), "UHD"),
    ],
)
def test_auto_resolution_covers_the_screen(screen: tuple[int, int] | None, expected: str) -> None:
    assert resolution_for_screen(screen) == expected
