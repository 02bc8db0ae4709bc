"""Theme exports, templates and the post-change hook (no Qt, no network)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from desktop_app.core.config import Paths
from desktop_app.core.errors import StoreError
from desktop_app.core.exports import (
    DEFAULT_FILES,
    HookError,
    TemplateError,
    ThemeExporter,
    ThemeValues,
    render_template,
    resolve_theme_dir,
    run_hook,
    shell_quote,
    theme_values,
)
from desktop_app.core.models import BingImage, PaletteRecord, StoredImage, Wallpaper
from desktop_app.core.palette.base import Palette
from desktop_app.core.palette.colour import contrast_ratio
from desktop_app.core.palette.local import LocalAnalyser
from desktop_app.core.settings import Settings, load_settings
from tests.conftest import wait_until

HOSTILE_TITLE = 'It\'s "ok" $HOME `id` $(id) \\n\nsecond line; rm -rf ~ * ü'
HEX = r"#[0-9a-f]{6}"


def _picture(path: Path, kind: str) -> Path:
    size = (160, 90)
    if kind == "grey":
        image = Image.new("RGB", size, (128, 128, 128))
        ImageDraw.Draw(image).rectangle((0, 50, 160, 90), fill=(60, 60, 60))
    elif kind == "dark":
        image = Image.new("RGB", size, (8, 10, 30))
        ImageDraw.Draw(image).ellipse((100, 10, 130, 40), fill=(240, 230, 180))
    elif kind == "bright":
        image = Image.new("RGB", size, (250, 250, 252))
        ImageDraw.Draw(image).rectangle((0, 60, 160, 90), fill=(200, 225, 255))
    elif kind == "vivid":
        image = Image.new("RGB", size, (230, 120, 20))
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 45, 160, 90), fill=(20, 140, 120))
        draw.rectangle((60, 0, 90, 90), fill=(200, 30, 160))
        draw.rectangle((0, 0, 20, 20), fill=(250, 240, 30))
    else:  # one colour
        image = Image.new("RGB", size, (30, 90, 200))
    image.save(path, "JPEG", quality=95)
    return path


def make_wallpaper(
    tmp_path: Path,
    kind: str = "vivid",
    *,
    title: str = "Finland's living peatland",
    palette: Palette | None = None,
) -> Wallpaper:
    path = _picture(tmp_path / f"{kind}.jpg", kind)
    palette = palette or LocalAnalyser().analyse(path)
    image = BingImage(
        market="de-DE",
        startdate="20251019",
        fullstartdate="202510190700",
        enddate="20251020",
        image_id="OHR.Example_DE-DE123",
        urlbase="/th?id=OHR.Example_DE-DE123",
        title=title,
        copyright="Somewhere (© Someone)",
        copyright_link="https://www.bing.com/search?q=x",
        wallpaper_allowed=True,
    )
    return Wallpaper(
        market="de-DE",
        image=image,
        resolution="1920x1080",
        image_urls={"1920x1080": "https://www.bing.com/th?id=OHR.Example_DE-DE123_1920x1080.jpg"},
        stored=StoredImage(path=path, sha256="0" * 64, width=160, height=90, size=1),
        palette=PaletteRecord(
            palette, "local", "local-v1", datetime(2025, 10, 19, 7, 3, 12, tzinfo=timezone.utc)
        ),
    )


KINDS = ("vivid", "dark", "bright", "grey", "single")
PALETTES = {
    "picture": None,
    "grey": Palette("#bbbbbb", "#444444", 180),
    "ai-like": Palette("#c67d3a", "#6b8d7d", 135),
}


def _readable(values: ThemeValues) -> None:
    bg = values.background
    assert values.color0 == bg
    assert contrast_ratio(values.foreground, bg) >= 7.0
    assert contrast_ratio(values.color7, bg) >= 7.0 and contrast_ratio(values.color15, bg) >= 7.0
    assert contrast_ratio(values.color8, bg) >= 3.0
    for i in (*range(1, 7), *range(9, 15)):
        assert contrast_ratio(getattr(values, f"color{i}"), bg) >= 3.0, i
    assert values.cursor == values.foreground
    assert len(set(values.colors[1:7])) == 6  # six different accents
    assert len(set(values.colors)) >= 14


# --- the scheme and the built-in files ---------------------------------------------------------


@pytest.mark.parametrize("palette_name", PALETTES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_export_for_several_pictures_and_palettes(
    tmp_path: Path, kind: str, palette_name: str
) -> None:
    wallpaper = make_wallpaper(tmp_path, kind, palette=PALETTES[palette_name])
    theme = tmp_path / "theme"
    result = ThemeExporter(theme, None).export(wallpaper)
    assert [p.name for p in result.written] == list(DEFAULT_FILES)
    assert sorted(p.name for p in theme.iterdir()) == sorted(DEFAULT_FILES)  # no leftovers
    values = result.values
    _readable(values)

    # colors.json: exactly what `huewall fetch --json` prints.
    assert json.loads((theme / "colors.json").read_text()) == wallpaper.to_json()

    # colors-wal.json: pywal's shape, readable.
    wal = json.loads((theme / "colors-wal.json").read_text())
    assert set(wal) == {"wallpaper", "alpha", "special", "colors"}
    assert wal["alpha"] == "100" and wal["wallpaper"] == str(wallpaper.image_path)
    assert set(wal["special"]) == {"background", "foreground", "cursor"}
    assert list(wal["colors"]) == [f"color{i}" for i in range(16)]
    assert all(re.fullmatch(HEX, c) for c in [*wal["colors"].values(), *wal["special"].values()])
    assert contrast_ratio(wal["special"]["foreground"], wal["special"]["background"]) >= 7
    for i in range(1, 7):
        assert contrast_ratio(wal["colors"][f"color{i}"], wal["special"]["background"]) >= 3

    _check_css((theme / "colors.css").read_text(), values)
    assert _sourced(theme / "colors.sh", "gradient_from") == values.gradient_from
    assert _sourced(theme / "colors.sh", "color15") == values.color15


def _check_css(css: str, values: ThemeValues) -> None:
    patterns = [
        r"/\* [^*]* \*/",
        r":root \{",
        rf"  --huewall-gradient-(from|to): {HEX};",
        r"  --huewall-gradient-angle: \d{1,3}deg;",
        rf"  --huewall-gradient: linear-gradient\(\d{{1,3}}deg, {HEX}, {HEX}\);",
        rf"  --(color\d{{1,2}}|background|foreground|cursor): {HEX};",
        r"\}",
        r"",
        rf"@define-color [a-z_0-9]+ {HEX};",
    ]
    for line in css.splitlines():
        assert any(re.fullmatch(p, line) for p in patterns), line
    assert css.count("{") == css.count("}") == 1
    angle = values.gradient_angle
    assert (
        f"  --huewall-gradient: linear-gradient({angle}deg, {values.gradient_from}, "
        f"{values.gradient_to});"
    ) in css
    assert f"  --huewall-gradient-angle: {angle}deg;" in css
    assert f"@define-color huewall_gradient_from {values.gradient_from};" in css
    assert f"@define-color huewall_gradient_to {values.gradient_to};" in css
    assert f"@define-color highlight {values.gradient_from};" in css
    for i, colour in enumerate(values.colors):
        assert f"  --color{i}: {colour};" in css and f"@define-color color{i} {colour};" in css


def _sourced(script: Path, name: str) -> str:
    result = subprocess.run(
        ["sh", "-c", f'. "$1"; printf %s "${name}"', "sh", str(script)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent-home"},
    )
    return result.stdout


def test_the_scheme_follows_the_picture_and_is_deterministic(tmp_path: Path) -> None:
    vivid = theme_values(make_wallpaper(tmp_path, "vivid"))
    assert theme_values(make_wallpaper(tmp_path, "vivid")) == vivid
    grey = theme_values(make_wallpaper(tmp_path, "grey", palette=PALETTES["grey"]))
    assert vivid.colors != grey.colors
    assert len(set(vivid.colors[1:7])) == 6  # six different accents
    # A grey picture gets an untinted background.
    r, g, b = (int(grey.background[i : i + 2], 16) for i in (1, 3, 5))
    assert r == g == b


def test_colors_sh_gives_back_hostile_values_exactly(tmp_path: Path) -> None:
    wallpaper = make_wallpaper(tmp_path, "vivid", title=HOSTILE_TITLE)
    theme = tmp_path / "the 'theme' $dir"
    odd = tmp_path / "we'ird `pic` $(x).jpg"
    odd.write_bytes(wallpaper.image_path.read_bytes())
    ThemeExporter(theme, None).export(wallpaper, ["colors.sh"], desktop_path=odd)
    assert [p.name for p in theme.iterdir()] == ["colors.sh"]
    script = theme / "colors.sh"
    assert _sourced(script, "title") == HOSTILE_TITLE
    assert _sourced(script, "wallpaper") == str(odd)
    assert _sourced(script, "locale") == "de-DE"
    for value in ("", "'", "''", "a'b'c", "\n", "$(x)", "\\"):
        out = subprocess.run(
            ["sh", "-c", f"printf %s {shell_quote(value)}"], capture_output=True, text=True
        )
        assert out.stdout == value


def test_only_the_chosen_files_and_an_unwritable_folder(tmp_path: Path) -> None:
    wallpaper = make_wallpaper(tmp_path)
    theme = tmp_path / "theme"
    assert ThemeExporter(theme, None).export(wallpaper, []).written == ()
    result = ThemeExporter(theme, None).export(wallpaper, ["colors-wal.json"])
    assert (
        [p.name for p in theme.iterdir()] == ["colors-wal.json"] == [p.name for p in result.written]
    )
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as caught:
        ThemeExporter(blocker / "theme", None).export(wallpaper)
    assert str(caught.value).startswith(f"cannot write the theme folder {blocker / 'theme'}: ")
    assert "\n" not in str(caught.value)
    with pytest.raises(ValueError):
        ThemeExporter(theme, None).export(wallpaper, ["colors.scss"])


# --- templates -----------------------------------------------------------------------------------

EVERY_PLACEHOLDER = (
    "{gradient_from} {gradient_to} {gradient_angle} {wallpaper} {title} {locale} "
    "{background} {foreground} {cursor} " + " ".join(f"{{color{i}}}" for i in range(16))
)


def test_templates_with_every_placeholder_and_modifier(tmp_path: Path) -> None:
    wallpaper = make_wallpaper(tmp_path, title=HOSTILE_TITLE)
    values = theme_values(wallpaper)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "all.txt").write_text(EVERY_PLACEHOLDER + "\n")
    (templates / "mods.txt").write_text(
        "{gradient_from.strip}|{gradient_to.rgb}|{color5.strip}|{background.rgb}|"
        "{foreground.strip}|{cursor.rgb}\n"
    )
    (templates / "hyprland.conf").write_text(
        "general {{\n  col.active_border = rgb({gradient_from.strip}) "
        "rgb({gradient_to.strip}) {gradient_angle}deg\n}}\n"
    )
    (templates / "niri.kdl").write_text(
        'layout { focus-ring { active-gradient from="{gradient_from}" to="{gradient_to}" '
        'angle={gradient_angle} in="oklab"; }; }\n'
    )
    (templates / ".hidden.swp").write_text("{nonsense}")
    (templates / "subdir").mkdir()
    theme = tmp_path / "theme"
    result = ThemeExporter(theme, templates).export(wallpaper, [])
    assert result.errors == ()
    assert sorted(p.name for p in result.written) == [
        "all.txt", "hyprland.conf", "mods.txt", "niri.kdl",
    ]  # fmt: skip
    expected_all = " ".join(
        str(v)
        for v in (
            values.gradient_from, values.gradient_to, values.gradient_angle, values.wallpaper,
            HOSTILE_TITLE, "de-DE", values.background, values.foreground, values.cursor,
            *values.colors,
        )
    )  # fmt: skip
    assert (theme / "all.txt").read_text() == expected_all + "\n"

    def rgb(colour: str) -> str:
        return ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5))

    assert (theme / "mods.txt").read_text() == (
        f"{values.gradient_from[1:]}|{rgb(values.gradient_to)}|{values.color5[1:]}|"
        f"{rgb(values.background)}|{values.foreground[1:]}|{rgb(values.cursor)}\n"
    )
    assert (theme / "hyprland.conf").read_text() == (
        f"general {{\n  col.active_border = rgb({values.gradient_from[1:]}) "
        f"rgb({values.gradient_to[1:]}) {values.gradient_angle}deg\n}}\n"
    )
    assert (theme / "niri.kdl").read_text() == (
        f'layout {{ focus-ring {{ active-gradient from="{values.gradient_from}" '
        f'to="{values.gradient_to}" angle={values.gradient_angle} in="oklab"; }}; }}\n'
    )


def test_literal_braces() -> None:
    values = ThemeValues(**{**_dummy(), "gradient_from": "#010203"})
    assert render_template("{{gradient_from}} {{{gradient_from}}}", values) == (
        "{gradient_from} {#010203}"
    )
    assert render_template("a { b: {gradient_from.strip} }", values) == "a { b: 010203 }"
    assert render_template("{{}}{}{ x }", values) == "{}{}{ x }"


def _dummy() -> dict[str, object]:
    colours = {f"color{i}": "#000000" for i in range(16)}
    return {
        "gradient_from": "#111111", "gradient_to": "#222222", "gradient_angle": 90,
        "wallpaper": "/w.jpg", "title": "T", "locale": "en-US", **colours,
        "background": "#000000", "foreground": "#ffffff", "cursor": "#ffffff",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("ok\nok {color0}\n{colour3}\n", 3, "unknown placeholder {colour3}"),
        ("{color16}", 1, "unknown placeholder {color16}"),
        ("\n\n{color1.rgba}", 3, "unknown modifier .rgba in {color1.rgba}"),
        ("{title.strip}", 1, ".strip applies to colours only, not {title}"),
    ],
)
def test_a_bad_placeholder_names_file_and_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render_template(text, ThemeValues(**_dummy()), "/t/kitty.conf")  # type: ignore[arg-type]
    assert str(caught.value).startswith(f"template /t/kitty.conf, line {line}: ")
    assert needle in str(caught.value)


def test_a_broken_template_is_not_written_and_the_others_are(tmp_path: Path) -> None:
    wallpaper = make_wallpaper(tmp_path)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "good.conf").write_text("bg={background}\n")
    (templates / "bad.conf").write_text("fine {color1}\nbroken {wallpaper_path}\n")
    (templates / "worse.conf").write_text("{color1.alpha}")
    (templates / "binary.conf").write_bytes(b"\xff\xfe\x00")
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "bad.conf").write_text("the previous, good render\n")
    result = ThemeExporter(theme, templates).export(wallpaper)
    names = sorted(p.name for p in result.written)
    assert names == sorted([*DEFAULT_FILES, "good.conf"])
    assert (theme / "good.conf").read_text() == f"bg={result.values.background}\n"
    assert (theme / "bad.conf").read_text() == "the previous, good render\n"
    assert not (theme / "worse.conf").exists() and not (theme / "binary.conf").exists()
    assert len(result.errors) == 3
    assert any(
        e == f"template {templates / 'bad.conf'}, line 2: unknown placeholder {{wallpaper_path}}"
        for e in result.errors
    ), result.errors
    assert any(str(templates / "binary.conf") in e and "UTF-8" in e for e in result.errors)
    assert all("\n" not in e for e in result.errors)


def test_a_missing_templates_folder_is_no_error(tmp_path: Path) -> None:
    result = ThemeExporter(tmp_path / "theme", tmp_path / "nope").export(make_wallpaper(tmp_path))
    assert result.errors == () and len(result.written) == len(DEFAULT_FILES)


# --- settings and folders -----------------------------------------------------------------------


def test_settings_for_exports(tmp_path: Path) -> None:
    defaults = Settings()
    assert defaults.theme_dir == "" and defaults.export_files == DEFAULT_FILES
    assert defaults.hook == ()
    changed, errors = defaults.with_changes(
        theme_dir="~/themes", export_files=["colors.sh", "colors.sh"], hook=["notify-send", "hi"]
    )
    assert errors == {}
    assert changed.export_files == ("colors.sh",) and changed.hook == ("notify-send", "hi")
    _, errors = defaults.with_changes(
        theme_dir="relative/dir", export_files=["colors.scss"], hook="notify-send hi"
    )
    assert set(errors) == {"theme_dir", "export_files", "hook"}
    assert "colors.scss" in errors["export_files"] and "list of arguments" in errors["hook"]
    _, errors = defaults.with_changes(hook=["", "x"])
    assert set(errors) == {"hook"}
    _, errors = defaults.with_changes(export_files=[], hook=[])
    assert errors == {}

    file = tmp_path / "settings.json"
    file.write_text(json.dumps({"export_files": [], "hook": ["x", "y z"], "theme_dir": 5}))
    loaded = load_settings(file)
    assert loaded.export_files == () and loaded.hook == ("x", "y z")
    assert loaded.theme_dir == "" and len(loaded.warnings) == 1

    paths = Paths(tmp_path / "cache", tmp_path / "config", tmp_path / "data")
    assert paths.theme_dir == tmp_path / "cache" / "theme"
    assert paths.templates_dir == tmp_path / "config" / "templates"
    assert resolve_theme_dir("", paths) == paths.theme_dir
    assert resolve_theme_dir("~/t", paths) == Path.home() / "t"


# --- the hook ---------------------------------------------------------------------------------

RECORDER = """\
import json, os, sys
out = os.environ["RECORD_TO"]
data = {"argv": sys.argv[1:], "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items() if k.startswith("HUEWALL_")}}
with open(out, "w", encoding="utf-8") as f:
    json.dump(data, f)
"""


def _script(tmp_path: Path, name: str, body: str) -> Path:
    script = tmp_path / name
    script.write_text(body)
    return script


def test_the_hook_gets_the_values_in_env_and_argv_unharmed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = theme_values(make_wallpaper(tmp_path, title=HOSTILE_TITLE))
    record = tmp_path / "record.json"
    monkeypatch.setenv("RECORD_TO", str(record))
    recorder = _script(tmp_path, "recorder.py", RECORDER)
    theme = tmp_path / "theme"
    theme.mkdir()
    argv = [sys.executable, str(recorder), "$HUEWALL_TITLE", "; touch pwned", "`id`", "a b"]
    run_hook(argv, values, theme, timeout=20)
    data = json.loads(record.read_text())
    assert data["argv"] == argv[2:]  # never through a shell
    assert data["cwd"] == str(theme)
    assert data["env"] == {
        "HUEWALL_WALLPAPER": values.wallpaper,
        "HUEWALL_GRADIENT_FROM": values.gradient_from,
        "HUEWALL_GRADIENT_TO": values.gradient_to,
        "HUEWALL_GRADIENT_ANGLE": str(values.gradient_angle),
        "HUEWALL_TITLE": HOSTILE_TITLE,
        "HUEWALL_LOCALE": "de-DE",
        "HUEWALL_THEME_DIR": str(theme),
    }
    assert not (tmp_path / "pwned").exists() and not (theme / "pwned").exists()


def test_a_failing_and_a_missing_hook(tmp_path: Path) -> None:
    values = ThemeValues(**_dummy())  # type: ignore[arg-type]
    failing = _script(
        tmp_path,
        "fail.py",
        "import sys\nprint('chatter')\nsys.stderr.write('first\\nswaymsg: no socket\\n\\n')\n"
        "sys.exit(4)\n",
    )
    with pytest.raises(HookError) as caught:
        run_hook([sys.executable, str(failing)], values, tmp_path, timeout=20)
    assert str(caught.value) == f"the hook '{sys.executable}' failed (exit 4): swaymsg: no socket"
    with pytest.raises(HookError) as caught:
        run_hook(["huewall-no-such-hook", "x"], values, tmp_path)
    assert str(caught.value).startswith("the hook 'huewall-no-such-hook' is not installed")
    with pytest.raises(HookError, match="is not installed"):
        run_hook([str(tmp_path / "nope.sh")], values, tmp_path)


@pytest.mark.timeout(30)
def test_a_hanging_hook_is_killed_with_its_children(tmp_path: Path) -> None:
    values = ThemeValues(**_dummy())  # type: ignore[arg-type]
    pids = tmp_path / "pids"
    # sh starts in milliseconds, so the pids are written long before the timeout.
    hanging = ["sh", "-c", 'sleep 300 & echo $$ $! > "$1"; wait', "hang", str(pids)]
    started = time.monotonic()
    with pytest.raises(HookError) as caught:
        run_hook(hanging, values, tmp_path, timeout=1.0)
    assert time.monotonic() - started < 10
    assert str(caught.value) == "the hook 'sh' did not finish within 1 s"
    for pid in map(int, pids.read_text().split()):
        wait_until(lambda pid=pid: not _alive(pid), timeout=5, what=f"process {pid} to end")


def _alive(pid: int) -> bool:
    """Running, and not just a zombie waiting for its reaper."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_hook_that_leaves_a_background_child_returns_at_once(tmp_path: Path) -> None:
    """`waybar &` in a hook must not make Huewall wait for (or kill) the bar."""
    values = ThemeValues(**_dummy())  # type: ignore[arg-type]
    pid_file = tmp_path / "pid"
    spawner = _script(
        tmp_path,
        "spawn.py",
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n",
    )
    started = time.monotonic()
    run_hook([sys.executable, str(spawner)], values, tmp_path, timeout=20)
    assert time.monotonic() - started < 10
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, 0)  # still running: not killed
    finally:
        os.kill(pid, 9)


# --- the README's "Theme your desktop" snippets ----------------------------------------------

WAYBAR_TEMPLATE = """\
@define-color huewall_gradient_from {gradient_from};
@define-color huewall_gradient_to {gradient_to};
@define-color highlight {gradient_from};
@define-color huewall_background {background};
@define-color huewall_foreground {foreground};
"""
WAYBAR_STYLE = """\
@import "theme/waybar-colors.css";
window#waybar { background: @huewall_background; color: @huewall_foreground; }
#workspaces button.focused {
  background-image: linear-gradient(90deg, @huewall_gradient_from, @huewall_gradient_to);
  color: #000000;
}
#clock { border-bottom: 3px solid @highlight; }
"""
GTK_LOAD = """\
import ctypes, sys
gtk = ctypes.CDLL(sys.argv[1])
class GError(ctypes.Structure):
    _fields_ = [("domain", ctypes.c_uint32), ("code", ctypes.c_int), ("message", ctypes.c_char_p)]
gtk.gtk_css_provider_new.restype = ctypes.c_void_p
gtk.gtk_css_provider_load_from_path.argtypes = [
    ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(GError))]
error = ctypes.POINTER(GError)()
gtk.gtk_css_provider_load_from_path(gtk.gtk_css_provider_new(), sys.argv[2].encode(),
                                    ctypes.byref(error))
print(error.contents.message.decode() if error else "ok")
"""


def _gtk3_parse(css_file: Path) -> str:
    """What GTK 3's CSS parser (waybar's) says about ``css_file``: "ok" or its first error."""
    import ctypes.util

    library = ctypes.util.find_library("gtk-3")
    if library is None:
        if os.environ.get("CI"):
            pytest.fail("libgtk-3 is not installed; .ci/run must install it")
        pytest.skip("libgtk-3 is not installed")
    result = subprocess.run(
        [sys.executable, "-c", GTK_LOAD, library, str(css_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


@pytest.mark.timeout(60)
def test_the_waybar_snippet_loads_in_gtk3(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "waybar-colors.css").write_text(WAYBAR_TEMPLATE)
    config = tmp_path / "waybar"
    ThemeExporter(config / "theme", templates).export(make_wallpaper(tmp_path))
    style = config / "style.css"
    style.write_text(WAYBAR_STYLE)
    assert _gtk3_parse(style) == "ok"
    # The parser is strict (this is why waybar gets a template of its own: GTK 3 rejects
    # the custom properties of colors.css).
    assert "pseudo-class" in _gtk3_parse(config / "theme" / "colors.css")


def test_the_kitty_hyprland_and_niri_snippets_render(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "kitty.conf").write_text(
        "foreground {foreground}\nbackground {background}\ncursor {cursor}\n"
        "active_border_color {gradient_from}\n"
        + "".join(f"color{i} {{color{i}}}\n" for i in range(16))
    )
    (templates / "hyprland.conf").write_text(
        "general {\n"
        "    col.active_border = rgb({gradient_from.strip}) rgb({gradient_to.strip}) "
        "{gradient_angle}deg\n"
        "}\n"
    )
    (templates / "niri.kdl").write_text(
        "layout {\n    focus-ring {\n"
        '        active-gradient from="{gradient_from}" to="{gradient_to}" '
        'angle={gradient_angle} in="oklab"\n'
        "    }\n}\n"
    )
    theme = tmp_path / "theme"
    result = ThemeExporter(theme, templates).export(make_wallpaper(tmp_path), [])
    assert result.errors == ()
    v = result.values
    kitty = (theme / "kitty.conf").read_text().splitlines()
    assert all(re.fullmatch(rf"[a-z_0-9]+ {HEX}", line) for line in kitty)
    assert f"color1 {v.color1}" in kitty and len(kitty) == 20
    hypr = (theme / "hyprland.conf").read_text()
    assert re.search(
        r"^    col\.active_border = rgb\([0-9a-f]{6}\) rgb\([0-9a-f]{6}\) \d{1,3}deg$", hypr, re.M
    )
    assert hypr.startswith("general {\n") and hypr.endswith("\n}\n")
    niri = (theme / "niri.kdl").read_text()
    assert (
        f'active-gradient from="{v.gradient_from}" to="{v.gradient_to}" '
        f'angle={v.gradient_angle} in="oklab"'
    ) in niri
