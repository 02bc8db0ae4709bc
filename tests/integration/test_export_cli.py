"""``huewall export`` and the exports and hook after ``set``/``fetch --set``, as processes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from desktop_app.core.palette.colour import contrast_ratio
from tests.integration.test_cli_set import RES, huewall, wallpapers
from tests.support.bing_server import BingStandIn
from tests.support.standins import StandIns

HOSTILE_TITLE = 'It\'s "ok" $HOME `id` $(id) & ü'
FILES = ["colors-wal.json", "colors.css", "colors.json", "colors.sh"]

RECORDER = """\
import json, os, sys
data = {"argv": sys.argv[1:],
        "env": {k: v for k, v in os.environ.items() if k.startswith("HUEWALL_")}}
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(data, f)
"""


@pytest.fixture
def feh(tmp_path: Path) -> StandIns:
    tools = StandIns(tmp_path / "standins")
    tools.add("feh")
    return tools


def _settings(config_dir: Path, **values: object) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "settings.json").write_text(json.dumps(values), encoding="utf-8")


@pytest.mark.timeout(120)
def test_export_writes_every_file_and_colors_json_is_fetchs_object(
    bing: BingStandIn, feh: StandIns, isolated_home: Path, config_dir: Path
) -> None:
    bing.days("en-US")[0].title = HOSTILE_TITLE
    templates = config_dir / "templates"
    templates.mkdir(parents=True)
    (templates / "kitty.conf").write_text(
        "".join(f"color{i} {{color{i}}}\n" for i in range(16))
        + "background {background}\nforeground {foreground}\n"
    )
    result = huewall("export", "-r", RES, tools=feh)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    theme = isolated_home / ".cache/huewall/theme"
    assert sorted(p.name for p in theme.iterdir()) == sorted([*FILES, "kitty.conf"])
    assert f"  folder: {theme}\n" in result.stdout
    for name in [*FILES, "kitty.conf"]:
        assert f"  wrote:  {name}\n" in result.stdout
    assert feh.calls() == []  # export never sets the wallpaper

    fetched = huewall("fetch", "--json", "-r", RES, tools=feh)
    assert json.loads((theme / "colors.json").read_text()) == json.loads(fetched.stdout)
    wal = json.loads((theme / "colors-wal.json").read_text())
    assert wal["wallpaper"] == json.loads(fetched.stdout)["image_path"]  # not set: the archive
    assert contrast_ratio(wal["special"]["foreground"], wal["special"]["background"]) >= 7
    kitty = (theme / "kitty.conf").read_text()
    assert f"color4 {wal['colors']['color4']}\n" in kitty
    assert f"background {wal['special']['background']}\n" in kitty


def test_export_to_a_folder_with_the_chosen_files_and_a_broken_template(
    bing: BingStandIn, feh: StandIns, tmp_path: Path, config_dir: Path
) -> None:
    _settings(config_dir, export_files=["colors.sh"])
    templates = config_dir / "templates"
    templates.mkdir()
    (templates / "good.txt").write_text("{gradient_from.strip}\n")
    (templates / "bad.txt").write_text("line one\n{gradient}\n")
    target = tmp_path / "my theme"
    result = huewall("export", "--days-ago", "2", "-r", RES, "--dir", str(target), tools=feh)
    assert result.returncode == 1
    assert result.stderr == (
        f"huewall: warning: template {templates / 'bad.txt'}, line 2: "
        "unknown placeholder {gradient}\n"
    )
    assert sorted(p.name for p in target.iterdir()) == ["colors.sh", "good.txt"]
    assert "wrote:  bad.txt" not in result.stdout


def test_fetch_set_writes_the_theme_and_runs_the_hook(
    bing: BingStandIn, feh: StandIns, tmp_path: Path, isolated_home: Path, config_dir: Path
) -> None:
    bing.days("en-US")[0].title = HOSTILE_TITLE
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER)
    record = tmp_path / "record.json"
    theme = tmp_path / "theme"
    _settings(
        config_dir,
        theme_dir=str(theme),
        hook=[sys.executable, str(recorder), str(record), "$HUEWALL_TITLE", "; rm -rf ~"],
    )
    result = huewall("fetch", "--set", "--json", "-r", RES, tools=feh)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    [copy] = wallpapers(isolated_home)
    assert feh.calls() == [["feh", "--no-fehbg", "--bg-fill", str(copy)]]
    assert sorted(p.name for p in theme.iterdir()) == FILES
    wal = json.loads((theme / "colors-wal.json").read_text())
    assert wal["wallpaper"] == str(copy)  # the copy on the desktop
    hook = json.loads(record.read_text())
    assert hook["argv"] == [str(record), "$HUEWALL_TITLE", "; rm -rf ~"]
    assert hook["env"].pop("HUEWALL_BING_URL") == bing.base_url  # inherited, not ours
    assert hook["env"] == {
        "HUEWALL_WALLPAPER": str(copy),
        "HUEWALL_GRADIENT_FROM": data["colors"]["gradient_from"],
        "HUEWALL_GRADIENT_TO": data["colors"]["gradient_to"],
        "HUEWALL_GRADIENT_ANGLE": str(data["colors"]["gradient_angle"]),
        "HUEWALL_TITLE": HOSTILE_TITLE,
        "HUEWALL_LOCALE": "en-US",
        "HUEWALL_THEME_DIR": str(theme),
    }


def test_a_failing_hook_or_theme_folder_is_a_warning_and_the_wallpaper_stays(
    bing: BingStandIn, feh: StandIns, tmp_path: Path, isolated_home: Path, config_dir: Path
) -> None:
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nsys.stderr.write('waybar: no bar\\n')\nsys.exit(3)\n")
    _settings(config_dir, hook=[sys.executable, str(failing)])
    result = huewall("set", "--days-ago", "1", "-r", RES, tools=feh)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        f"huewall: warning: the hook '{sys.executable}' failed (exit 3): waybar: no bar; "
        "the wallpaper stays set\n"
    )
    [copy] = wallpapers(isolated_home)
    assert len(feh.calls()) == 1 and "set '" in result.stdout
    assert (isolated_home / ".cache/huewall/theme/colors.css").is_file()

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    _settings(config_dir, theme_dir=str(blocker / "theme"), hook=[sys.executable, str(failing)])
    result = huewall("set", "--days-ago", "2", "-r", RES, tools=feh)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        f"huewall: warning: theme files not written: cannot write the theme folder "
        f"{blocker / 'theme'}: "
    )
    assert result.stderr.count("\n") == 1  # the hook is not run on stale files
    assert len(feh.calls()) == 2 and len(wallpapers(isolated_home)) == 1
    assert wallpapers(isolated_home) != [copy]


def test_exports_off_and_a_picture_of_your_own(
    bing: BingStandIn, feh: StandIns, tmp_path: Path, isolated_home: Path, config_dir: Path
) -> None:
    marker = tmp_path / "hook-ran"
    hook = [sys.executable, "-c", "import sys; open(sys.argv[1], 'w').close()", str(marker)]
    _settings(config_dir, export_files=[], hook=hook)
    result = huewall("fetch", "--set", "-r", RES, tools=feh)
    assert result.returncode == 0 and result.stderr == ""
    assert not (isolated_home / ".cache/huewall/theme").exists()  # nothing to write
    assert marker.exists()  # the hook still runs
    marker.unlink()

    picture = tmp_path / "own.png"
    Image.new("RGB", (40, 30), "orange").save(picture)
    result = huewall("set", str(picture), tools=feh)
    assert result.returncode == 0 and result.stderr == ""
    assert not marker.exists()  # no gradient for a picture of your own: no theme, no hook
