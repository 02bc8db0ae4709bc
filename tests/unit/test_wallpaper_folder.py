"""The folder of pictures handed to the desktop: new names, verified input, safe pruning."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.errors import UsageError, WallpaperError
from desktop_app.core.locks import KeyedLocks
from desktop_app.core.store import Store
from desktop_app.core.wallpapers import WallpaperFolder


def _picture(path: Path, colour: str) -> Path:
    Image.new("RGB", (64, 48), colour).save(path, "JPEG")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> WallpaperFolder:
    cache = tmp_path / "cache"
    return WallpaperFolder(tmp_path / "wallpapers", Store(cache), KeyedLocks(cache / "locks"))


def test_each_picture_gets_a_new_name_and_old_copies_go_after_the_switch(
    folder: WallpaperFolder, tmp_path: Path
) -> None:
    shown: list[Path] = []
    red = _picture(tmp_path / "red.jpg", "red")
    blue = _picture(tmp_path / "blue.jpg", "blue")
    first = folder.apply(red, day="20251019", show=shown.append, backend="test", title="Red")
    assert first.parent == folder.folder and first.name.startswith("20251019-")
    assert first.read_bytes() == red.read_bytes()

    def show_second(path: Path) -> None:
        assert first.exists(), "the picture on screen must stay until the switch"
        shown.append(path)

    second = folder.apply(blue, day="20251020", show=show_second, backend="test")
    assert shown == [first, second] and first != second
    assert sorted(folder.folder.iterdir()) == [second]
    current = folder.current()
    assert current is not None and current.path == second and current.backend == "test"


def test_the_same_picture_again_reuses_its_file(folder: WallpaperFolder, tmp_path: Path) -> None:
    red = _picture(tmp_path / "red.jpg", "red")
    first = folder.apply(red, day="20251019", show=lambda p: None, backend="test")
    inode = first.stat().st_ino
    again = folder.apply(red, day="20251019", show=lambda p: None, backend="test")
    assert again == first and again.stat().st_ino == inode  # not rewritten under the desktop


def test_a_failed_set_keeps_the_previous_wallpaper_and_its_file(
    folder: WallpaperFolder, tmp_path: Path
) -> None:
    first = folder.apply(
        _picture(tmp_path / "red.jpg", "red"), day="1", show=lambda p: None, backend="test"
    )

    def fail(path: Path) -> None:
        raise WallpaperError("test: 'setter' failed (exit 1): no display")

    with pytest.raises(WallpaperError):
        folder.apply(_picture(tmp_path / "blue.jpg", "blue"), day="2", show=fail, backend="test")
    assert sorted(folder.folder.iterdir()) == [first]
    current = folder.current()
    assert current is not None and current.path == first


@pytest.mark.parametrize("content", [b"", b"<html>not a picture</html>", None])
def test_only_whole_pictures_are_handed_over(
    folder: WallpaperFolder, tmp_path: Path, content: bytes | None
) -> None:
    bad = tmp_path / "bad.jpg"
    if content is None:  # a JPEG cut in half
        data = _picture(tmp_path / "whole.jpg", "green").read_bytes()
        content = data[: len(data) // 2]
    bad.write_bytes(content)
    shown: list[Path] = []
    with pytest.raises(UsageError, match="not a picture Huewall can set"):
        folder.apply(bad, day="1", show=shown.append, backend="test")
    assert shown == []
    with pytest.raises(UsageError, match="no such picture"):
        folder.apply(tmp_path / "missing.jpg", day="1", show=shown.append, backend="test")
    assert not folder.folder.exists() or list(folder.folder.iterdir()) == []
