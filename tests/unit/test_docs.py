"""The README's promises that can drift from the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from desktop_app.cli import build_parser
from desktop_app.core.markets import MARKETS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readmes_test_command() -> None:
    test_command = next(b.strip() for b in _shell_blocks() if "pytest" in b and "venv" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_readme_json_example_has_exactly_the_fields_fetch_prints() -> None:
    example = json.loads(re.search(r"```json\n(\{\n.*?\n\})\n```", README, flags=re.S).group(1))
    from tests.integration.test_cli import EXPECTED_JSON_FIELDS

    assert set(example) == EXPECTED_JSON_FIELDS


def test_documented_commands_and_options_exist() -> None:
    parser = build_parser()
    for line in "\n".join(_shell_blocks()).splitlines():
        line = line.split("#", 1)[0].strip()
        if not line.startswith("huewall "):
            continue
        args = line.split()[1:]
        if "--locale" in args:
            assert args[args.index("--locale") + 1] in MARKETS
        parser.parse_args(args)  # exits (fails the test) on an unknown option
