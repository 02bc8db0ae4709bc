from __future__ import annotations

import json
from pathlib import Path

from desktop_app.core.settings import Settings, load_settings, save_settings


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "settings.json")
    assert settings == Settings() and settings.warnings == ()
    assert settings.schedule == "publish" and settings.auto_set and not settings.paused


def test_round_trip_keeps_unknown_keys_and_writes_no_key(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"from_a_newer_version": [1, 2], "notify": False}))
    settings, errors = load_settings(path).with_changes(
        markets=["de_de", "en-US", "de-DE"], main_market="de-DE", ai_provider="custom",
        ai_base_url="http://localhost:11434/v1", fixed_time="07:30",
    )  # fmt: skip
    assert errors == {}
    assert settings.markets == ("de-DE", "en-US") and not settings.notify
    save_settings(path, settings)
    data = json.loads(path.read_text())
    assert data["from_a_newer_version"] == [1, 2]
    assert "warnings" not in data and not any("key" in k for k in data)
    assert load_settings(path) == settings
    assert [p.name for p in tmp_path.glob("settings.json*")] == ["settings.json"]  # no temporary


def test_bad_values_are_reported_by_field_and_not_applied() -> None:
    base = Settings()
    changed, errors = base.with_changes(
        fixed_time="25:00", main_market="xx-YY", ai_base_url="ftp://x", resolution="640x480",
        ai_model="", schedule="hourly", notify="yes", markets="en-US",
    )  # fmt: skip
    assert set(errors) == {
        "fixed_time", "main_market", "ai_base_url", "resolution", "ai_model", "schedule",
        "notify", "markets",
    }  # fmt: skip
    assert "HH:MM" in errors["fixed_time"] and "huewall locales" in errors["main_market"]
    assert changed == base


def test_a_broken_file_gives_defaults_and_one_warning(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"resolution": "1920x1080", "lock_screen": "sometimes"')
    settings = load_settings(path)
    assert settings == Settings() and len(settings.warnings) == 1
    assert "not valid JSON" in settings.warnings[0]
    path.write_text('{"resolution": "1920x1080", "lock_screen": "sometimes"}')
    settings = load_settings(path)
    assert settings.resolution == "1920x1080" and not settings.lock_screen
    assert settings.warnings == (
        f"ignoring setting 'lock_screen' in {path}: expected true or false",
    )
