"""Recording stand-ins for desktop tools that cannot run here (KDE, Hyprland, macOS, ...).

Each stand-in is a small executable on a PATH of its own that appends its name and argv
as one JSON line to a log, and answers as the test tells it (by argument prefix).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from desktop_app.platform.wallpaper.runner import CommandRunner

STANDIN = """#!{python}
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps([name, *args]) + "\\n")
with open(os.environ["STANDIN_RULES"], encoding="utf-8") as rules_file:
    rules = json.load(rules_file)
for rule in rules.get(name, []):
    if args[: len(rule["args"])] == rule["args"]:
        sys.stdout.write(rule["stdout"])
        sys.stderr.write(rule["stderr"])
        sys.exit(rule["exit"])
"""


class StandIns:
    """Recording stand-ins in ``root/bin``, the only directory on the runner's PATH."""

    def __init__(self, root: Path) -> None:
        self.bin = root / "bin"
        self.bin.mkdir(parents=True)
        self.log = root / "calls.jsonl"
        self.log.touch()
        self.rules_file = root / "rules.json"
        self.rules: dict[str, list[dict[str, object]]] = {}
        self._save()

    def add(self, *names: str) -> None:
        for name in names:
            tool = self.bin / name
            tool.write_text(STANDIN.format(python=sys.executable), encoding="utf-8")
            tool.chmod(0o755)

    def answer(
        self,
        name: str,
        args: tuple[str, ...] = (),
        *,
        stdout: str = "",
        stderr: str = "",
        exit: int = 0,
    ) -> None:
        """How ``name`` answers when its argv starts with ``args`` (first match wins)."""
        rule = {"args": list(args), "stdout": stdout, "stderr": stderr, "exit": exit}
        self.rules.setdefault(name, []).append(rule)
        self._save()

    def _save(self) -> None:
        self.rules_file.write_text(json.dumps(self.rules), encoding="utf-8")

    def calls(self) -> list[list[str]]:
        """Every call so far: ``[tool name, *argv]``."""
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to find and drive the stand-ins (and nothing else on PATH)."""
        return {
            "PATH": str(self.bin),
            "STANDIN_LOG": str(self.log),
            "STANDIN_RULES": str(self.rules_file),
        }

    def runner(self, extra_env: Mapping[str, str] | None = None) -> CommandRunner:
        return CommandRunner(env={**self.env, **(extra_env or {})}, timeout=20)

    def path_first(self) -> str:
        """A PATH with the stand-ins first, for a whole ``huewall`` process."""
        return f"{self.bin}{os.pathsep}{os.environ.get('PATH', '')}"
