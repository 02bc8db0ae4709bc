"""The ``huewall`` command line: a thin front end over the same service as the tray."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime

from desktop_app import __version__
from desktop_app.core.errors import HuewallError
from desktop_app.core.markets import MARKETS, OWN_PICTURES, default_market, normalise_market
from desktop_app.core.models import AUTO_RESOLUTION, RESOLUTIONS, Day, DaysAgo, OnDate, Wallpaper

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
        description="Bing's picture of the day as your wallpaper, with a matching colour gradient.",
    )
    parser.add_argument("--version", action="version", version=f"huewall {__version__}")
    parser.add_argument("--debug", action="store_true", help="log details and show tracebacks")
    # ``--debug`` works after the command too (``huewall fetch --debug``).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fetch = commands.add_parser(
        "fetch",
        parents=[common],
        help="fetch a day's picture and its palette (cached: repeated calls are instant)",
        description="Fetch a day's picture and its colour gradient into the cache.",
    )
    fetch.add_argument(
        "--locale", "-l", metavar="L", help="market such as en-US (see 'huewall locales')"
    )
    when = fetch.add_mutually_exclusive_group()
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
    fetch.add_argument(
        "--resolution",
        "-r",
        choices=(AUTO_RESOLUTION, *RESOLUTIONS),
        help="picture size; auto (default) = smallest that covers the primary screen, else UHD",
    )
    fetch.add_argument(
        "--json", action="store_true", help="print one JSON object (dailyhues' fields)"
    )

    commands.add_parser(
        "locales", help="list the markets Bing serves", description="List the markets."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.debug)
    if args.command is None:
        parser.print_help()
        return EXIT_OK
    try:
        if args.command == "locales":
            return _locales()
        if args.command == "fetch":
            return _fetch(args)
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
        if args.debug:
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


def _fetch(args: argparse.Namespace) -> int:
    env = os.environ
    # Validate the arguments before touching the cache or the network.
    market = normalise_market(args.locale) if args.locale else None

    from desktop_app.core.bootstrap import open_runtime
    from desktop_app.core.models import resolution_for_screen

    runtime = open_runtime(env)
    market = market or default_market(runtime.settings.main_market, env)
    resolution = args.resolution or runtime.settings.resolution
    if resolution == AUTO_RESOLUTION:
        from desktop_app.platform.screen import primary_screen_size

        resolution = resolution_for_screen(primary_screen_size(env))
    day: Day = OnDate(args.date) if args.date else DaysAgo(args.days_ago or 0)
    wallpaper = runtime.service.get(market, day, resolution)
    if args.json:
        print(json.dumps(wallpaper.to_json(), ensure_ascii=False, indent=2))
    else:
        print(_summary(wallpaper))
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
