from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from desktop_app.core.errors import LockTimeoutError, NetworkError
from desktop_app.core.files import atomic_output, atomic_write_bytes, partials_of
from desktop_app.core.models import BingImage, PaletteRecord, StoredImage, Week
from desktop_app.core.palette.base import Palette
from desktop_app.core.store import Store

RAW = {
    "startdate": "20251019",
    "fullstartdate": "202510190700",
    "enddate": "20251020",
    "urlbase": "/th?id=OHR.Peat_EN-US1",
    "copyright": "Peat (© x)",
    "title": "Peat",
}
NOW = datetime(2025, 10, 19, 8, 0, tzinfo=timezone.utc)


def _week() -> Week:
    return Week("en-US", "en-US", (BingImage.from_bing("en-US", RAW),), NOW)


def test_weeks_days_and_palettes_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.save_week(_week())
    assert store.load_week("en-US") == _week()
    assert store.load_week("de-DE") is None
    assert store.load_archived_day("en-US", "20251019") == _week().images[0]
    record = PaletteRecord(Palette("#c67d3a", "#6b8d7d", 135), "ai", "ai|x|m|prompt-v1", NOW)
    store.save_palette("ab" * 32, record)
    assert store.load_palette("ab" * 32, "ai|x|m|prompt-v1") == record
    assert store.load_palette("ab" * 32, "local|v1") is None


def test_another_store_on_the_same_folder_sees_the_records(tmp_path: Path) -> None:
    Store(tmp_path).save_week(_week())
    assert Store(tmp_path).load_week("en-US") == _week()


def test_garbage_database_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Store(tmp_path).save_week(_week())
    db = tmp_path / "store" / "cache.db"
    db.write_bytes(os.urandom(8192))
    with caplog.at_level(logging.WARNING, logger="huewall.store"):
        store = Store(tmp_path)
    assert store.load_week("en-US") is None
    store.save_week(_week())
    assert store.load_week("en-US") == _week()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "damaged" in warnings[0].getMessage()
    assert len(list(tmp_path.glob("store.corrupt-*"))) == 1


def test_truncated_database_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    store = Store(tmp_path)
    for i in range(200):
        store._set(f"filler:{i}", {"text": "x" * 500})
    store.save_week(_week())
    store.close()
    db = tmp_path / "store" / "cache.db"
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])
    rebuilt = Store(tmp_path)
    assert rebuilt.load_week("en-US") is None
    rebuilt.save_week(_week())
    assert rebuilt.load_week("en-US") == _week()


def test_malformed_records_are_misses(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store._set("week:en-US", {"market": "en-US", "entries": "nonsense"})
    store._set("palette:ab:local|v1", {"gradient_from": "red"})
    store._set(
        "image:Peat:UHD",
        {"file": "../../etc/passwd", "sha256": "x", "width": 1, "height": 1, "size": 1},
    )
    assert store.load_week("en-US") is None
    assert store.load_palette("ab", "local|v1") is None
    assert store.load_image("Peat", "UHD") is None


def test_image_record_needs_the_whole_file(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.image_path("Peat", "UHD", "jpg")
    atomic_write_bytes(path, b"x" * 100)
    store.save_image("Peat", "UHD", StoredImage(path, "ab" * 32, 10, 10, 100))
    assert store.load_image("Peat", "UHD") == StoredImage(path, "ab" * 32, 10, 10, 100)
    path.write_bytes(b"x" * 50)  # damaged behind our back
    assert store.load_image("Peat", "UHD") is None
    path.unlink()
    assert store.load_image("Peat", "UHD") is None


def test_atomic_output_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "pic.jpg"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as handle:
        handle.write(b"half")
        raise RuntimeError("network went away")
    assert target.read_bytes() == b"old"
    assert partials_of(target) == []


def test_new_image_clears_leftovers_of_a_dead_writer(tmp_path: Path) -> None:
    store = Store(tmp_path)
    path = store.image_path("Peat", "UHD", "jpg")
    leftover = path.with_name(path.name + ".deadbeef0000.partial")
    leftover.write_bytes(b"half a picture")
    with store.new_image(path) as handle:
        handle.write(b"whole")
    assert path.read_bytes() == b"whole"
    assert partials_of(path) == []


def test_archive_prunes_least_recently_used_but_never_the_pinned(tmp_path: Path) -> None:
    store = Store(tmp_path, archive_max_bytes=3000)
    paths = []
    for i in range(5):
        path = store.image_path(f"Photo{i}", "UHD", "jpg")
        atomic_write_bytes(path, b"x" * 1000)
        os.utime(path, (time.time() - 1000 + i, time.time() - 1000 + i))
        paths.append(path)
    store.pin(paths[0])  # the oldest is on screen
    store.touch(paths[1])  # recently used again
    removed = store.prune(keep={paths[4]})
    assert set(removed) == {paths[2], paths[3]}
    assert all(p.exists() for p in (paths[0], paths[1], paths[4]))


def test_failures_are_shared_only_with_those_who_waited(tmp_path: Path) -> None:
    store = Store(tmp_path)
    before = time.time()
    store.record_failure("metadata:en-US", NetworkError("www.bing.com answered HTTP 503"))
    failure = store.failure_since("metadata:en-US", before)
    assert isinstance(failure, NetworkError) and "503" in str(failure)
    assert store.failure_since("metadata:en-US", time.time() + 1) is None
    assert store.failure_since("metadata:de-DE", before) is None
    store.record_failure("palette:x", LockTimeoutError("slow"))
    assert isinstance(store.failure_since("palette:x", before), LockTimeoutError)


def test_a_locked_or_full_database_is_an_error_not_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only real damage moves the database aside; 'locked' or 'disk full' must not."""
    import sqlite3

    from desktop_app.core.errors import StoreError

    store = Store(tmp_path)
    store.save_week(_week())

    def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    with monkeypatch.context() as patch:
        patch.setattr(store._cache, "get", locked)
        patch.setattr(store._cache, "set", locked)
        with pytest.raises(StoreError, match=r"cannot read the cache .*database is locked"):
            store.load_week("en-US")
        with pytest.raises(StoreError, match=r"cannot write the cache .*database is locked"):
            store.save_week(_week())
    assert not list(tmp_path.glob("store.corrupt-*"))
    assert Store(tmp_path).load_week("en-US") == _week()
