"""The ``huewall`` command line: a thin front end over the same service as the tray."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from desktop_app import __version__
from desktop_app.core.errors import HuewallError, UsageError
from desktop_app.core.markets import MARKETS, OWN_PICTURES, default_market, normalise_market
from desktop_app.core.models import (
    AUTO_RESOLUTION,
    RESOLUTIONS,
    Day,
    DaysAgo,
    OnDate,
    Wallpaper,
)

if TYPE_CHECKING:
    from desktop_app.core.bootstrap import Runtime

log = logging.getLogger("huewall")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def _iso_date(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {value!r}") from None


def _days_ago(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 7:
        raise argparse.ArgumentTypeError(f"expected 0..7 (Bing lists 8 days), not {value!r}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="huewall",
        description="Bing's picture of the day as your wallpaper, with a matching colour gradient. "
        "Without a command, starts the tray app (one per user; a second start opens its "
        "settings).",
    )
    parser.add_argument("--version", action="version", version=f"huewall {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    # ``--debug`` works after the command too (``huewall fetch --debug``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )

    picture = argparse.ArgumentParser(add_help=False)
    picture.add_argument(
        "--locale", "-l", metavar="L", help="market such as en-US (see 'huewall locales')"
    )
    when = picture.add_mutually_exclusive_group()
    when.add_argument(
        "--days-ago",
        "-d",
        type=_days_ago,
        metavar="N",
        help="0 = newest (default) .. 7 = oldest Bing lists",
    )
    when.add_argument(
        "--date",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="the market's local day; older days come from the archive",
    )
    picture.add_argument(
        "--resolution",
        "-r",
        choices=(AUTO_RESOLUTION, *RESOLUTIONS),
        help="picture size; auto (default) = smallest that covers the primary screen, else UHD",
    )

    desktop = argparse.ArgumentParser(add_help=False)
    desktop.add_argument(
        "--backend",
        "-b",
        metavar="NAME",
        help="how to set the wallpaper: auto (default) or a backend from 'huewall doctor'",
    )
    desktop.add_argument(
        "--lock-screen",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also set the lock screen where the desktop has one (default: the settings)",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    fetch = commands.add_parser(
        "fetch",
        parents=[common, picture, desktop],
        help="fetch a day's picture and its palette (cached: repeated calls are instant)",
        description="Fetch a day's picture and its colour gradient into the cache.",
    )
    fetch.add_argument("--set", action="store_true", help="then set it as the wallpaper")
    fetch.add_argument(
        "--json", action="store_true", help="print one JSON object (dailyhues' fields)"
    )

    set_ = commands.add_parser(
        "set",
        parents=[common, picture, desktop],
        help="set a picture file, or a day's Bing picture, as the wallpaper",
        description="Set a picture file, or a day's Bing picture (fetched if needed), "
        "as the desktop wallpaper.",
    )
    set_.add_argument("path", nargs="?", type=Path, metavar="PATH", help="a picture file")

    export = commands.add_parser(
        "export",
        parents=[common, picture],
        help="write a day's theme files (colors.css, colors.sh, ...) and your templates",
        description="Write the theme files for a day's picture (the ones chosen in the "
        "settings, else all) and render your templates into the theme folder. Exits 1 if a "
        "template could not be rendered (the other files are still written).",
    )
    export.add_argument(
        "--dir",
        type=Path,
        metavar="D",
        help="the theme folder (default: the settings' theme_dir, else <cache>/huewall/theme)",
    )

    commands.add_parser(
        "doctor",
        parents=[common, desktop],
        help="show the detected desktop, the wallpaper backend and where files live",
        description="Show what Huewall detects and would use on this machine.",
    )
    commands.add_parser(
        "locales",
        parents=[common],
        help="list the markets Bing serves",
        description="List the markets.",
    )
    autostart = commands.add_parser(
        "autostart",
        parents=[common],
        help="start the tray app at login: on, off or status (default)",
        description="Turn starting Huewall at login on or off, or show whether it is on.",
    )
    autostart.add_argument(
        "state",
        nargs="?",
        choices=("on", "off", "status"),
        default="status",
        metavar="on|off|status",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    if args.command is None:
        # No command: the tray app. Imported here so the commands never load Qt.
        from desktop_app.qt.app import main as tray_main

        return tray_main(["--debug"] if debug else [])
    _configure_logging(debug)
    try:
        if args.command == "locales":
            return _locales()
        if args.command == "fetch":
            return _fetch(args)
        if args.command == "set":
            return _set(args)
        if args.command == "export":
            return _export(args)
        if args.command == "doctor":
            return _doctor(args)
        if args.command == "autostart":
            return _autostart(args)
    except HuewallError as exc:
        log.debug("failed", exc_info=True)
        print(f"huewall: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (``huewall locales | head``): not an error of ours.
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("huewall: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        print(
            f"huewall: internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    parser.error(f"unknown command {args.command!r}")
    return EXIT_USAGE  # pragma: no cover - parser.error exits


def _locales() -> int:
    for code, name in MARKETS.items():
        note = "" if code in OWN_PICTURES else "  (worldwide pictures)"
        print(f"{code}  {name}{note}")
    return EXIT_OK


def _runtime() -> Runtime:
    from desktop_app.core.bootstrap import open_runtime

    return open_runtime(os.environ)


def _get(args: argparse.Namespace, runtime: Runtime, market: str | None) -> Wallpaper:
    from desktop_app.core.models import resolution_for_screen

    env = os.environ
    market = market or default_market(runtime.settings.main_market, env)
    resolution = args.resolution or runtime.settings.resolution
    if resolution == AUTO_RESOLUTION:
        from desktop_app.platform.screen import primary_screen_size

        resolution = resolution_for_screen(primary_screen_size(env))
    day: Day = OnDate(args.date) if args.date else DaysAgo(args.days_ago or 0)
    return runtime.service.get(market, day, resolution)


def _fetch(args: argparse.Namespace) -> int:
    # Validate the arguments before touching the cache or the network.
    market = normalise_market(args.locale) if args.locale else None
    runtime = _runtime()
    wallpaper = _get(args, runtime, market)
    if args.json:
        print(json.dumps(wallpaper.to_json(), ensure_ascii=False, indent=2))
    else:
        print(_summary(wallpaper))
    if args.set:
        message = _apply(args, runtime, wallpaper.image_path, wallpaper=wallpaper)
        print(message, file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def _set(args: argparse.Namespace) -> int:
    picks_day = args.locale or args.days_ago is not None or args.date or args.resolution
    if args.path is not None and picks_day:
        raise UsageError("give either a picture file or --locale/--days-ago/--date, not both")
    market = normalise_market(args.locale) if args.locale else None
    runtime = _runtime()
    if args.path is not None:
        print(_apply(args, runtime, args.path.expanduser().absolute()))
    else:
        wallpaper = _get(args, runtime, market)
        print(_apply(args, runtime, wallpaper.image_path, wallpaper=wallpaper))
    return EXIT_OK


def _apply(
    args: argparse.Namespace, runtime: Runtime, source: Path, wallpaper: Wallpaper | None = None
) -> str:
    """Put ``source`` on the desktop, then update the theme; return the line that says so."""
    from desktop_app.core.exports import update_theme
    from desktop_app.platform.wallpaper.apply import put_on_desktop

    settings = runtime.settings
    line, target = put_on_desktop(
        os.environ,
        runtime.wallpapers,
        source,
        wallpaper,
        backend=args.backend or settings.wallpaper_backend,
        lock_screen=settings.lock_screen if args.lock_screen is None else args.lock_screen,
    )
    if wallpaper is not None:  # a picture of your own has no palette to export
        for problem in update_theme(
            runtime.paths,
            settings.theme_dir,
            settings.export_files,
            settings.hook,
            wallpaper,
            target,
        ):
            log.warning("%s", problem)
    return line


def _export(args: argparse.Namespace) -> int:
    from desktop_app.core.exports import DEFAULT_FILES, ThemeExporter, resolve_theme_dir

    market = normalise_market(args.locale) if args.locale else None
    runtime = _runtime()
    wallpaper = _get(args, runtime, market)
    settings = runtime.settings
    if args.dir is not None:
        theme_dir = args.dir.expanduser().absolute()
    else:
        theme_dir = resolve_theme_dir(settings.theme_dir, runtime.paths)
    # The wallpaper's copy on the desktop, when this picture is the one on screen.
    current = runtime.wallpapers.current()
    on_desktop = (
        current.path
        if current is not None and current.source == wallpaper.image_path and current.path.is_file()
        else None
    )
    exporter = ThemeExporter(theme_dir, runtime.paths.templates_dir)
    result = exporter.export(
        wallpaper, settings.export_files or DEFAULT_FILES, desktop_path=on_desktop
    )
    for error in result.errors:
        log.warning("%s", error)
    print(f"theme for '{wallpaper.image.title}' ({wallpaper.market}, {wallpaper.image.day})")
    print(f"  folder: {theme_dir}")
    for path in result.written:
        print(f"  wrote:  {path.name}")
    return EXIT_ERROR if result.errors else EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from desktop_app.core.bootstrap import describe_ai
    from desktop_app.core.config import Paths, bing_base_url
    from desktop_app.core.settings import load_settings
    from desktop_app.platform.wallpaper.registry import all_backends, choose
    from desktop_app.platform.wallpaper.runner import CommandRunner
    from desktop_app.platform.wallpaper.session import Session

    env = os.environ
    paths = Paths.default()
    settings = load_settings(paths.settings_file)
    session = Session.from_env(env)
    runner = CommandRunner()
    print(f"Huewall {__version__}")
    print(f"Session:     {session.describe()}")
    ready = False
    override = args.backend or settings.wallpaper_backend
    try:
        choice = choose(session, runner, override)
    except HuewallError as exc:
        print(f"Backend:     none: {exc}")
    else:
        problem = choice.backend.missing(session)
        ready = problem is None
        state = "ready" if ready else f"NOT READY: {problem}"
        backend = choice.backend
        print(f"Backend:     {backend.name} = {backend.label} ({choice.reason}); {state}")
        lock = "yes" if choice.backend.supports_lock_screen else "no"
        print(
            f"Lock screen: supported: {lock}; set it too: {'yes' if settings.lock_screen else 'no'}"
        )
    print("All backends:")
    for backend in all_backends(runner):
        fits = backend.detect(session)
        problem = backend.missing(session)
        tools = ", ".join(
            f"{tool} {'found' if where else 'missing'}" for tool, where in backend.tools().items()
        )
        status = "ready" if problem is None else f"not ready: {problem}"
        line = f"  {backend.name:<9} {'fits: ' + fits if fits else 'does not fit'}; {status}"
        print(line + (f"; tools: {tools}" if tools else ""))
    print(f"Cache:       {paths.cache_dir}")
    exists = "exists" if paths.settings_file.exists() else "not created yet"
    print(f"Settings:    {paths.settings_file} ({exists})")
    print(f"Wallpapers:  {paths.wallpapers_dir}")
    try:
        print(f"Bing:        {bing_base_url(env)}")
    except HuewallError as exc:
        print(f"Bing:        {exc}")
    print(f"Palette:     {describe_ai(env)}")
    for warning in settings.warnings:
        print(f"Warning:     {warning}")
    return EXIT_OK if ready else EXIT_ERROR


def _autostart(args: argparse.Namespace) -> int:
    from desktop_app.platform.autostart import autostart_for

    autostart = autostart_for(os.environ)
    if args.state == "on":
        autostart.enable()
    elif args.state == "off":
        autostart.disable()
    print(f"{'on' if autostart.enabled() else 'off'}: {autostart.describe()}")
    return EXIT_OK


def _summary(wallpaper: Wallpaper) -> str:
    image = wallpaper.image
    palette = wallpaper.palette.palette
    stored = wallpaper.stored
    return "\n".join(
        [
            f"{image.title} ({wallpaper.market}, {image.day.isoformat()})",
            f"  {image.copyright}",
            f"  picture:  {stored.path} ({stored.width}x{stored.height})",
            f"  gradient: {palette.gradient_from} -> {palette.gradient_to} at "
            f"{palette.gradient_angle} deg ({wallpaper.palette.source})",
        ]
    )


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = "warning" if record.levelno >= logging.WARNING else record.levelname.lower()
        return f"huewall: {level}: {record.getMessage()}"


def _configure_logging(debug: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s") if debug else _OneLine()
    )
    root = logging.getLogger("huewall")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    root.propagate = False
