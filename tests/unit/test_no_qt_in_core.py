"""The core and the platform layer never import Qt: a fresh interpreter proves it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import desktop_app

PROBE = r"""
import importlib, pkgutil, sys

class NoQt:
    attempts = []
    def find_spec(self, name, path=None, target=None):
        if name == "PySide6" or name.startswith(("PySide6.", "shiboken6")):
            NoQt.attempts.append(name)
        return None

sys.meta_path.insert(0, NoQt())
import desktop_app
names = sys.argv[1:]
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.startswith(("PySide6", "shiboken6")))
print(repr((NoQt.attempts, loaded, len(names))))
"""


def _qt_free_modules() -> list[str]:
    root = Path(desktop_app.__file__).parent
    names = ["desktop_app.cli"]
    for package in ("core", "platform"):
        prefix = f"desktop_app.{package}."
        names.append(f"desktop_app.{package}")
        names += [m.name for m in pkgutil.walk_packages([str(root / package)], prefix)]
    return names


def test_core_platform_and_cli_import_no_pyside6() -> None:
    names = _qt_free_modules()
    assert "desktop_app.core.service" in names and "desktop_app.core.palette.ai" in names
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *names], capture_output=True, text=True, check=True
    )
    attempts, loaded, count = eval(result.stdout.strip())
    assert count == len(names)
    assert attempts == [], f"Qt-free modules tried to import {attempts}"
    assert loaded == []


def test_the_probe_would_catch_a_qt_import() -> None:
    """The check above can fail: importing a module that pulls in Qt is noticed."""
    sneaky = PROBE.replace(
        "import desktop_app\n",
        "import desktop_app\ntry:\n    import PySide6\nexcept ImportError:\n    pass\n",
    )
    assert sneaky != PROBE
    result = subprocess.run(
        [sys.executable, "-c", sneaky, "desktop_app.core"],
        capture_output=True,
        text=True,
        check=True,
    )
    attempts, _loaded, _count = eval(result.stdout.strip())
    assert "PySide6" in attempts
