"""Theme exports: the gradient and a 16-colour terminal scheme, written for other tools.

After each wallpaper change Huewall writes colour files into a theme folder (like
pywal's ``~/.cache/wal``), renders the user's templates into it and runs a post-change
hook. Everything here is Qt-free and deterministic: the same wallpaper gives the same
files, byte for byte.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import IO

from desktop_app.core.config import Paths
from desktop_app.core.errors import HuewallError, StoreError
from desktop_app.core.files import atomic_write_text
from desktop_app.core.models import Wallpaper
from desktop_app.core.palette.colour import (
    RGB,
    chroma,
    colour_distance,
    hls_to_rgb,
    parse_hex,
    rgb_to_hls,
    to_hex,
    with_contrast,
)
from desktop_app.core.palette.local import load_picture

DEFAULT_FILES: tuple[str, ...] = ("colors.json", "colors.css", "colors.sh", "colors-wal.json")
HOOK_TIMEOUT = 30.0

FOREGROUND_CONTRAST = 7.0  # foreground (and color7/15) on the background: WCAG AAA
ACCENT_CONTRAST = 4.5  # colours 1-6 and 9-14 on the background (>= the 3:1 asked for)
GREY_CONTRAST = 3.0  # color8, the "bright black" used for comments and hints

_ANALYSIS_SIDE = 96
_SWATCHES = 16
_DISTINCT = 40.0  # colour_distance below which two accents look alike
_GREY = 0.08  # chroma below which a colour counts as grey
_WHEEL_SATURATION = 0.4  # accents made up for pictures with too few colours
_WHEEL = (6, 4, 8, 2, 10, 3, 9, 1, 5, 7, 11)  # twelfths of the wheel, far ones first
_ACCENT_LIGHTNESS = (0.45, 0.72)  # HLS lightness range of colours 1-6 before contrast


class TemplateError(HuewallError):
    """A user template that cannot be rendered; the message names the file and line."""


class HookError(HuewallError):
    """The post-change hook could not run, failed or did not finish in time."""


@dataclass(frozen=True)
class ThemeValues:
    """Everything a theme file or template can use; colours are lower-case ``#rrggbb``."""

    gradient_from: str
    gradient_to: str
    gradient_angle: int
    wallpaper: str  # the picture on the desktop, else the picture in the archive
    title: str
    locale: str
    color0: str
    color1: str
    color2: str
    color3: str
    color4: str
    color5: str
    color6: str
    color7: str
    color8: str
    color9: str
    color10: str
    color11: str
    color12: str
    color13: str
    color14: str
    color15: str
    background: str
    foreground: str
    cursor: str

    @property
    def colors(self) -> tuple[str, ...]:
        """``color0`` .. ``color15``."""
        return tuple(getattr(self, f"color{i}") for i in range(16))

    def placeholders(self) -> dict[str, str | int]:
        """Every value by its template name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_COLOUR_N = tuple(f"color{i}" for i in range(16))
COLOUR_NAMES = frozenset(
    ("gradient_from", "gradient_to", "background", "foreground", "cursor", *_COLOUR_N)
)


@dataclass(frozen=True)
class ExportResult:
    theme_dir: Path
    values: ThemeValues
    written: tuple[Path, ...]  # every file written, built-in ones first, then templates
    errors: tuple[str, ...]  # one line per template that could not be rendered (not written)


# --- the colour scheme ----------------------------------------------------------------------


def theme_values(wallpaper: Wallpaper, desktop_path: Path | None = None) -> ThemeValues:
    """The theme for ``wallpaper``: its gradient plus a readable 16-colour scheme.

    ``desktop_path`` is the copy on the desktop when known (else the archive's picture).
    Raises ``PaletteError`` when the picture cannot be read.
    """
    palette = wallpaper.palette.palette
    swatches = _picture_swatches(wallpaper.image_path)
    scheme = terminal_scheme(
        swatches, parse_hex(palette.gradient_from), parse_hex(palette.gradient_to)
    )
    return ThemeValues(
        gradient_from=palette.gradient_from,
        gradient_to=palette.gradient_to,
        gradient_angle=palette.gradient_angle,
        wallpaper=str((desktop_path or wallpaper.image_path).absolute()),
        title=wallpaper.image.title,
        locale=wallpaper.market,
        **scheme,
    )


def _picture_swatches(path: Path) -> list[tuple[RGB, int]]:
    """The picture's main colours with their pixel counts, most frequent first."""
    image = load_picture(path, _ANALYSIS_SIDE)
    quantized = image.quantize(colors=_SWATCHES, method=0)  # median cut: deterministic
    flat = quantized.getpalette() or []
    histogram = quantized.histogram()
    swatches = [
        ((flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]), count)
        for i, count in enumerate(histogram[: len(flat) // 3])
        if count
    ]
    swatches.sort(key=lambda item: (-item[1], item[0]))
    return swatches


def terminal_scheme(
    swatches: Sequence[tuple[RGB, int]], gradient_from: RGB, gradient_to: RGB
) -> dict[str, str]:
    """``color0..15``, ``background``, ``foreground``, ``cursor`` from a picture's colours.

    A dark background tinted with the picture's main hue; the foreground at least 7:1 on
    it; colours 1-6 the gradient and the picture's most vivid colours, each at least
    4.5:1 on the background; 9-14 lighter versions of them; 8 a grey at 3:1.
    """
    main = swatches[0][0] if swatches else gradient_to
    hue, _, saturation = rgb_to_hls(main)
    tint = min(saturation, 0.3) if chroma(main) >= _GREY else 0.0
    background = hls_to_rgb(hue, 0.085, tint)
    foreground = with_contrast(hls_to_rgb(hue, 0.86, min(tint, 0.15)), background, 10.0)
    bright_fg = with_contrast(hls_to_rgb(hue, 0.95, min(tint, 0.1)), background, 12.0)
    grey = with_contrast(hls_to_rgb(hue, 0.4, min(tint, 0.12)), background, GREY_CONTRAST)

    normal = _accents(swatches, gradient_from, gradient_to, background)
    bright = [with_contrast(_lighter(c), background, ACCENT_CONTRAST + 1.5) for c in normal]
    colours = [background, *normal, foreground, grey, *bright, bright_fg]
    scheme = {f"color{i}": to_hex(c) for i, c in enumerate(colours)}
    scheme.update(
        background=to_hex(background), foreground=to_hex(foreground), cursor=to_hex(foreground)
    )
    return scheme


def _accents(
    swatches: Sequence[tuple[RGB, int]], start: RGB, end: RGB, background: RGB
) -> list[RGB]:
    """Six distinct colours readable on ``background``: the gradient first, then the
    picture's most vivid colours, then (for pictures with few colours) hues around the
    wheel from the gradient's."""
    total = sum(count for _, count in swatches) or 1
    by_vividness = sorted(
        swatches,
        key=lambda item: (-((chroma(item[0]) + 0.05) ** 2) * (item[1] / total) ** 0.5, item[0]),
    )
    hue, _, saturation = rgb_to_hls(start)
    wheel = [
        hls_to_rgb(hue + step / 12, 0.6, max(saturation, _WHEEL_SATURATION)) for step in _WHEEL
    ]
    candidates = [start, end, *(rgb for rgb, _ in by_vividness if chroma(rgb) >= _GREY), *wheel]
    chosen: list[RGB] = []
    for colour in candidates:
        readable = with_contrast(_mid(colour), background, ACCENT_CONTRAST)
        if all(colour_distance(readable, other) >= _DISTINCT for other in chosen):
            chosen.append(readable)
            if len(chosen) == 6:
                return chosen
    while len(chosen) < 6:  # pragma: no cover - the wheel gives enough distinct hues
        chosen.append(chosen[-1])
    return chosen


def _mid(rgb: RGB) -> RGB:
    """Keep accents away from near-black and near-white, where hues cannot be told apart."""
    hue, lightness, saturation = rgb_to_hls(rgb)
    return hls_to_rgb(
        hue, min(_ACCENT_LIGHTNESS[1], max(_ACCENT_LIGHTNESS[0], lightness)), saturation
    )


def _lighter(rgb: RGB) -> RGB:
    hue, lightness, saturation = rgb_to_hls(rgb)
    return hls_to_rgb(hue, lightness + (1 - lightness) * 0.35, saturation)


# --- renderers --------------------------------------------------------------------------------


def render_json(wallpaper: Wallpaper) -> str:
    """``colors.json``: exactly the object ``huewall fetch --json`` prints."""
    return json.dumps(wallpaper.to_json(), ensure_ascii=False, indent=2) + "\n"


def render_css(values: ThemeValues) -> str:
    """``colors.css``: CSS custom properties, then GTK/waybar ``@define-color`` lines."""
    angle = f"{values.gradient_angle}deg"
    gradient = f"linear-gradient({angle}, {values.gradient_from}, {values.gradient_to})"
    props = [
        ("huewall-gradient-from", values.gradient_from),
        ("huewall-gradient-to", values.gradient_to),
        ("huewall-gradient-angle", angle),
        ("huewall-gradient", gradient),
        *((f"color{i}", c) for i, c in enumerate(values.colors)),
        ("background", values.background),
        ("foreground", values.foreground),
        ("cursor", values.cursor),
    ]
    defines = [
        ("huewall_gradient_from", values.gradient_from),
        ("huewall_gradient_to", values.gradient_to),
        ("highlight", values.gradient_from),  # as the dailyhues author's waybar script
        *((f"color{i}", c) for i, c in enumerate(values.colors)),
        ("background", values.background),
        ("foreground", values.foreground),
        ("cursor", values.cursor),
    ]
    lines = [
        "/* Huewall theme: generated, do not edit (rewritten on every wallpaper change). */",
        ":root {",
        *(f"  --{name}: {value};" for name, value in props),
        "}",
        "",
        "/* GTK and waybar: @import this file, then use @huewall_gradient_from etc. */",
        *(f"@define-color {name} {value};" for name, value in defines),
    ]
    return "\n".join(lines) + "\n"


def shell_quote(value: str) -> str:
    """One POSIX shell word that is exactly ``value`` (single quotes, ``'\\''`` inside)."""
    return "'" + value.replace("'", "'\\''") + "'"


def render_sh(values: ThemeValues) -> str:
    """``colors.sh``: shell variables, every value single-quoted (pywal's names plus ours)."""
    lines = ["# Huewall theme: source it with  . ~/.cache/huewall/theme/colors.sh"]
    for name, value in values.placeholders().items():
        lines.append(f"{name}={shell_quote(str(value))}")
    return "\n".join(lines) + "\n"


def render_wal(values: ThemeValues) -> str:
    """``colors-wal.json``: pywal's ``colors.json`` shape (``wal --theme FILE`` loads it)."""
    data = {
        "wallpaper": values.wallpaper,
        "alpha": "100",
        "special": {
            "background": values.background,
            "foreground": values.foreground,
            "cursor": values.cursor,
        },
        "colors": {f"color{i}": c for i, c in enumerate(values.colors)},
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


_RENDERERS: Mapping[str, Callable[[Wallpaper, ThemeValues], str]] = {
    "colors.json": lambda wallpaper, _values: render_json(wallpaper),
    "colors.css": lambda _wallpaper, values: render_css(values),
    "colors.sh": lambda _wallpaper, values: render_sh(values),
    "colors-wal.json": lambda _wallpaper, values: render_wal(values),
}
assert set(_RENDERERS) == set(DEFAULT_FILES)


# --- templates --------------------------------------------------------------------------------

# ``{{`` / ``}}``, or ``{name}`` / ``{name.modifier}``. Any other brace is kept as it is,
# so CSS, KDL or JSON blocks need no doubling (doubled ones work too, as in pywal).
_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}")
MODIFIERS = ("strip", "rgb")


def render_template(text: str, values: ThemeValues, name: str = "<template>") -> str:
    """Fill ``{placeholder}``/``{placeholder.modifier}``; ``{{``/``}}`` are literal braces.

    Raises ``TemplateError`` naming ``name`` and the line of the first unknown
    placeholder or modifier.
    """
    table = values.placeholders()

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        key, modifier = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        if key not in table:
            raise TemplateError(f"template {name}, line {line}: unknown placeholder {token}")
        value = str(table[key])
        if modifier is None:
            return value
        if modifier not in MODIFIERS:
            raise TemplateError(
                f"template {name}, line {line}: unknown modifier .{modifier} in {token} "
                f"(known: {', '.join('.' + m for m in MODIFIERS)})"
            )
        if key not in COLOUR_NAMES:
            raise TemplateError(
                f"template {name}, line {line}: .{modifier} applies to colours only, not {{{key}}}"
            )
        if modifier == "strip":
            return value.lstrip("#")
        return ",".join(str(channel) for channel in parse_hex(value))

    return _TOKEN.sub(replace, text)


def template_files(templates_dir: Path) -> list[Path]:
    """The regular, non-hidden files directly in ``templates_dir`` (none if it is missing)."""
    try:
        entries = sorted(templates_dir.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise TemplateError(
            f"cannot read the templates folder {templates_dir}: {exc.strerror or exc}"
        ) from None
    return [p for p in entries if not p.name.startswith(".") and p.is_file()]


# --- the exporter -----------------------------------------------------------------------------


def resolve_theme_dir(configured: str, paths: Paths) -> Path:
    """The ``theme_dir`` setting as a folder; empty means ``<user cache dir>/huewall/theme``."""
    return Path(configured).expanduser() if configured.strip() else paths.theme_dir


class ThemeExporter:
    """Writes the theme files for a wallpaper into ``theme_dir``, atomically, one by one."""

    def __init__(self, theme_dir: Path, templates_dir: Path | None) -> None:
        self.theme_dir = theme_dir
        self.templates_dir = templates_dir

    def export(
        self,
        wallpaper: Wallpaper,
        files: Sequence[str] = DEFAULT_FILES,
        *,
        desktop_path: Path | None = None,
    ) -> ExportResult:
        """Write ``files`` (a subset of ``DEFAULT_FILES``) and every template.

        A template that cannot be rendered is skipped (nothing of it is written) and
        reported in ``errors``; the others are still written. A theme folder that cannot
        be written raises ``StoreError``.
        """
        unknown = [name for name in files if name not in _RENDERERS]
        if unknown:
            raise ValueError(f"unknown export files: {', '.join(unknown)}")
        values = theme_values(wallpaper, desktop_path)
        outputs: list[tuple[str, str]] = [
            (name, _RENDERERS[name](wallpaper, values)) for name in dict.fromkeys(files)
        ]
        errors: list[str] = []
        if self.templates_dir is not None:
            try:
                templates = template_files(self.templates_dir)
            except TemplateError as exc:
                errors.append(str(exc))
                templates = []
            for template in templates:
                try:
                    text = template.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    errors.append(f"template {template}: not UTF-8 text")
                    continue
                except OSError as exc:
                    errors.append(f"template {template}: cannot read it: {exc.strerror or exc}")
                    continue
                try:
                    outputs.append((template.name, render_template(text, values, str(template))))
                except TemplateError as exc:
                    errors.append(str(exc))
        written = [self._write(name, text) for name, text in outputs]
        return ExportResult(self.theme_dir, values, tuple(written), tuple(errors))

    def _write(self, name: str, text: str) -> Path:
        target = self.theme_dir / name
        try:
            atomic_write_text(target, text)
        except OSError as exc:
            raise StoreError(
                f"cannot write the theme folder {self.theme_dir}: {exc.strerror or exc}"
            ) from None
        return target


# --- the post-change hook ---------------------------------------------------------------------


def hook_env(values: ThemeValues, theme_dir: Path) -> dict[str, str]:
    """The variables the hook gets on top of Huewall's own environment."""
    return {
        "HUEWALL_WALLPAPER": values.wallpaper,
        "HUEWALL_GRADIENT_FROM": values.gradient_from,
        "HUEWALL_GRADIENT_TO": values.gradient_to,
        "HUEWALL_GRADIENT_ANGLE": str(values.gradient_angle),
        "HUEWALL_TITLE": values.title,
        "HUEWALL_LOCALE": values.locale,
        "HUEWALL_THEME_DIR": str(theme_dir),
    }


def run_hook(
    argv: Sequence[str],
    values: ThemeValues,
    theme_dir: Path,
    timeout: float = HOOK_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> None:
    """Run the user's post-change command: an argument list, never through a shell.

    It runs in a session of its own; what it leaves running in the background (a bar it
    restarted) is left alone once it exits. If it does not finish within ``timeout``
    seconds it is killed with its whole process group. Raises ``HookError`` with one line.
    """
    if not argv or not argv[0]:
        raise HookError("the hook has no command")
    program = argv[0]
    base = dict(os.environ if env is None else env)
    found = (
        shutil.which(program, path=base.get("PATH", os.defpath))
        if os.sep not in program
        else program
    )
    if found is None or not os.path.exists(found):
        raise HookError(f"the hook '{program}' is not installed or not found (PATH)")
    # Output goes to files, not pipes: a background child keeping a pipe open must not
    # make us wait for it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(
                [found, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env={**base, **hook_env(values, theme_dir)},
                cwd=theme_dir if theme_dir.is_dir() else None,
                start_new_session=True,
            )
        except OSError as exc:
            raise HookError(f"the hook '{program}' cannot be run: {exc.strerror or exc}") from None
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise HookError(f"the hook '{program}' did not finish within {timeout:g} s") from None
        except BaseException:
            _kill_group(process)
            raise
        if code != 0:
            said = _last_line(err) or _last_line(out) or "no message"
            what = f"exit {code}" if code > 0 else f"killed by signal {-code}"
            raise HookError(f"the hook '{program}' failed ({what}): {said}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    killpg = getattr(os, "killpg", None)
    if killpg is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait()


def _last_line(handle: IO[bytes]) -> str:
    handle.seek(0)
    text = handle.read()[-4096:].decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def update_theme(
    paths: Paths,
    theme_dir_setting: str,
    export_files: Sequence[str],
    hook: Sequence[str],
    wallpaper: Wallpaper,
    on_desktop: Path | None,
) -> list[str]:
    """After a wallpaper change: write the theme files, then run the hook.

    Returns the problems as one-line warnings instead of raising: the wallpaper is
    already on the desktop and stays there whatever happens here. The hook is skipped
    when the files could not be written, so it never reads stale ones.
    """
    theme_dir = resolve_theme_dir(theme_dir_setting, paths)
    exporter = ThemeExporter(theme_dir, paths.templates_dir)
    try:
        result = exporter.export(wallpaper, export_files, desktop_path=on_desktop)
    except HuewallError as exc:
        return [f"theme files not written: {exc}"]
    problems = list(result.errors)
    if hook:
        try:
            run_hook(hook, result.values, theme_dir)
        except HuewallError as exc:
            problems.append(f"{exc}; the wallpaper stays set")
    return problems
