"""Packaging: the Flatpak manifest, the PyInstaller spec's hidden imports, the bundle itself.

The bundle test builds with PyInstaller for real (about a minute and a half) and is marked
``slow``; it is skipped, naming PyInstaller, where PyInstaller is not installed, except
under CI, where it fails instead (``.ci/run`` installs ``.[bundle]``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop_app import __version__
from desktop_app.platform.wallpaper import registry

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"
SPEC = PACKAGING / "huewall.spec"
MANIFEST = PACKAGING / "flatpak" / "io.github.huewall.Huewall.json"
APP_ID = "io.github.huewall.Huewall"


def _spec_globals() -> dict[str, object]:
    """The spec's lists (its build part runs only inside PyInstaller)."""
    return runpy.run_path(str(SPEC), init_globals={"SPECPATH": str(PACKAGING)})


def test_the_flatpak_manifest_parses_and_names_the_app_command_and_permissions() -> None:
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["id"] == APP_ID
    assert manifest["command"] == "huewall"
    finish = manifest["finish-args"]
    for permission in (
        "--share=network",
        "--socket=wayland",
        "--socket=fallback-x11",
        "--talk-name=org.kde.StatusNotifierWatcher",
        "--talk-name=org.freedesktop.portal.Desktop",
    ):
        assert permission in finish
    modules = {module["name"]: module for module in manifest["modules"]}
    commands = " ".join(modules["huewall"]["build-commands"])
    assert "pip3 install" in commands
    assert ".whl" in commands


def test_the_spec_hides_every_backend_module_and_the_lazy_imports() -> None:
    spec = _spec_globals()
    hidden = set(spec["HIDDEN_IMPORTS"])  # type: ignore[arg-type]
    backends_dir = REPO / "desktop_app" / "platform" / "wallpaper" / "backends"
    on_disk = {p.stem for p in backends_dir.glob("*.py") if p.stem != "__init__"}
    assert on_disk, "no backend modules found"
    in_registry = {module for module, _cls in registry.BACKENDS}
    assert in_registry <= on_disk
    for stem in on_disk | in_registry:
        assert f"desktop_app.platform.wallpaper.backends.{stem}" in hidden
    for module in ("desktop_app.qt.app", "desktop_app.core.palette.ai", "keyring.backends"):
        assert module in hidden
    if sys.platform.startswith("linux"):
        assert "jeepney" in hidden
    assert spec["NAME"] == "huewall"
    assert spec["ENTRY"] == REPO / "desktop_app" / "__main__.py"
    if (REPO / "resources").is_dir():
        assert spec["DATAS"] == [(str(REPO / "resources"), "resources")]
    assert "tkinter" in spec["EXCLUDES"]  # type: ignore[operator]
    text = SPEC.read_text()
    assert '"LSUIElement": True' in text
    assert 'sys.platform == "darwin"' in text


def _require_pyinstaller() -> None:
    if importlib.util.find_spec("PyInstaller") is None:
        if os.environ.get("CI"):
            pytest.fail("pyinstaller is not installed; .ci/run must install '.[bundle]'")
        pytest.skip("pyinstaller is not installed (pip install -e '.[bundle]')")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_bundle_builds_and_its_executable_runs(tmp_path: Path) -> None:
    _require_pyinstaller()
    dist, work = tmp_path / "dist", tmp_path / "work"
    started = time.monotonic()
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level=WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(SPEC),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=840,
    )
    elapsed = time.monotonic() - started
    assert build.returncode == 0, build.stderr[-4000:]
    print(f"PyInstaller built the bundle in {elapsed:.0f} s")

    exe = dist / "huewall" / ("huewall.exe" if sys.platform == "win32" else "huewall")
    assert exe.is_file()
    if (REPO / "resources").is_dir():
        bundled = list((dist / "huewall").rglob("resources"))
        assert any(p.is_dir() for p in bundled), "resources/ is not in the bundle"

    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"huewall {__version__}"

    doctor = subprocess.run([str(exe), "doctor"], capture_output=True, text=True, timeout=60)
    assert doctor.returncode in (0, 1), doctor.stderr
    assert f"Huewall {__version__}" in doctor.stdout + doctor.stderr


def test_install_linux_puts_the_entry_metainfo_and_icons_under_a_prefix(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    prefix = tmp_path / "prefix dir"
    script = root / "packaging" / "install-linux.sh"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [str(script), str(prefix)], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    share = prefix / "share"
    app_id = "io.github.huewall.Huewall"
    installed = {
        share / "applications" / f"{app_id}.desktop",
        share / "metainfo" / f"{app_id}.metainfo.xml",
        share / "icons/hicolor/scalable/apps" / f"{app_id}.svg",
        share / "icons/hicolor/256x256/apps" / f"{app_id}.png",
        share / "icons/hicolor/16x16/apps" / f"{app_id}.png",
    }
    assert all(path.is_file() for path in installed), sorted(
        str(p) for p in installed if not p.is_file()
    )
    undone = subprocess.run(
        [str(script), "--uninstall", str(prefix)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert undone.returncode == 0, undone.stderr
    assert not any(path.exists() for path in installed)
