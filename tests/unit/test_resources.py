"""Resources: the desktop entry and metainfo validate, the icons exist at their sizes, the
helper finds them in a checkout and a frozen bundle, and the wheel ships them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from desktop_app import resources
from desktop_app.resources import (
    APP_ID,
    ICON_SIZES,
    app_icon_path,
    desktop_entry_path,
    metainfo_path,
    resource_path,
    tray_icon_path,
)
from tests.support.xvfb import require

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
# pip needs the real HOME/XDG config (its index settings); conftest swaps them per test.
_ENV_AT_IMPORT = dict(os.environ)


def test_desktop_entry_validates() -> None:
    tool = require("desktop-file-validate")
    entry = RESOURCES / f"{APP_ID}.desktop"
    result = subprocess.run([tool, str(entry)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower(), result.stdout
    text = entry.read_text(encoding="utf-8")
    assert f"Icon={APP_ID}\n" in text
    assert "Exec=huewall\n" in text


def test_metainfo_validates() -> None:
    tool = require("appstreamcli")
    metainfo = RESOURCES / f"{APP_ID}.metainfo.xml"
    result = subprocess.run(
        [tool, "validate", "--no-net", str(metainfo)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = metainfo.read_text(encoding="utf-8")
    assert f"<id>{APP_ID}</id>" in text
    assert f'<launchable type="desktop-id">{APP_ID}.desktop</launchable>' in text


def test_metainfo_screenshots_exist_in_the_repository() -> None:
    text = (RESOURCES / f"{APP_ID}.metainfo.xml").read_text(encoding="utf-8")
    prefix = "https://raw.githubusercontent.com/huewall/huewall/main/"
    urls = [line.split(">")[1].split("<")[0] for line in text.splitlines() if "<image>" in line]
    assert urls
    for url in urls:
        assert url.startswith(prefix), url
        assert (ROOT / url.removeprefix(prefix)).is_file(), url


@pytest.mark.parametrize("size", ICON_SIZES)
def test_png_icon_exists_at_its_size(size: int) -> None:
    path = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        # Transparent corners (the rounded square), opaque centre.
        assert image.getpixel((0, 0))[3] == 0
        assert image.getpixel((size // 2, size // 2))[3] == 255


def test_svg_icons_are_svg() -> None:
    for name in (f"{APP_ID}.svg", f"{APP_ID}-symbolic.svg"):
        text = (RESOURCES / "icons" / name).read_text(encoding="utf-8")
        assert "<svg" in text and 'viewBox="' in text, name


def test_resource_path_finds_the_files_from_a_checkout() -> None:
    assert resource_path(f"{APP_ID}.desktop").samefile(RESOURCES / f"{APP_ID}.desktop")
    assert desktop_entry_path().samefile(RESOURCES / f"{APP_ID}.desktop")
    assert metainfo_path().samefile(RESOURCES / f"{APP_ID}.metainfo.xml")
    assert app_icon_path().samefile(RESOURCES / "icons" / f"{APP_ID}.svg")
    assert tray_icon_path().samefile(RESOURCES / "icons" / f"{APP_ID}-symbolic.svg")
    hicolor = RESOURCES / "icons" / "hicolor"
    assert app_icon_path(48).samefile(hicolor / "48x48" / "apps" / f"{APP_ID}.png")
    assert app_icon_path(40).samefile(hicolor / "48x48" / "apps" / f"{APP_ID}.png")
    assert app_icon_path(4096).samefile(hicolor / "512x512" / "apps" / f"{APP_ID}.png")
    with pytest.raises(ValueError):
        app_icon_path(0)
    with pytest.raises(FileNotFoundError, match="no-such-file"):
        resource_path("no-such-file")


def test_resource_path_prefers_a_frozen_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = tmp_path / "resources" / f"{APP_ID}.desktop"
    bundled.parent.mkdir()
    bundled.write_text("[Desktop Entry]\n", encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resource_roots()[0] == tmp_path / "resources"
    assert resource_path(f"{APP_ID}.desktop") == bundled
    # What the bundle lacks still comes from the other roots.
    assert app_icon_path(16).is_file()


@pytest.mark.timeout(240)
def test_wheel_contains_the_resources(tmp_path: Path, isolated_home: Path) -> None:
    """Build the wheel from a copy of the tree (no build/ left in the checkout)."""
    source = tmp_path / "src"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
        ),
    )
    out = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
        env=_ENV_AT_IMPORT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("huewall-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    base = "desktop_app/_resources/"
    expected = {
        f"{base}{APP_ID}.desktop",
        f"{base}{APP_ID}.metainfo.xml",
        f"{base}icons/{APP_ID}.svg",
        f"{base}icons/{APP_ID}-symbolic.svg",
    } | {f"{base}icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES}
    assert expected <= names, sorted(expected - names)
    assert "desktop_app/resources.py" in names
    assert not any(name.startswith(f"{base}screenshots/") for name in names)
    _runs_from_a_fresh_venv(wheel, tmp_path / "venv", isolated_home)


def _runs_from_a_fresh_venv(wheel: Path, venv: Path, home: Path) -> None:
    """The wheel alone, in a new venv and run from outside the checkout, runs
    ``huewall --version`` and ``doctor`` and finds its resources inside site-packages.

    The venv gets the wheel without dependencies; the third-party packages come from the
    test's own environment on PYTHONPATH (directories there are not site dirs, so the
    checkout's editable install cannot shadow the wheel)."""
    import sysconfig

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)  # what pip would unpack, without needing pip here
    scripts = venv / "bin" / "huewall"
    scripts.write_text(
        f"#!{python}\nimport sys\nfrom desktop_app.__main__ import main\nsys.exit(main())\n"
    )
    scripts.chmod(0o755)
    env = {
        **_ENV_AT_IMPORT,
        "PYTHONPATH": sysconfig.get_path("purelib"),
        "PYTHONNOUSERSITE": "1",
    }
    env.pop("DISPLAY", None)
    where = subprocess.run(
        [str(python), "-c", "import desktop_app.resources as r; "
         "print(r.resource_path('io.github.huewall.Huewall.desktop'))"],
        capture_output=True, text=True, env=env, check=True, cwd=venv,
    ).stdout.strip()  # fmt: skip
    assert where.startswith(target), f"found {where}, not inside the installed wheel"
    version = subprocess.run(
        [str(scripts), "--version"], capture_output=True, text=True, env=env, check=False, cwd=venv
    )
    assert version.returncode == 0 and version.stdout.strip() == "huewall 0.1.0", version
    doctor = subprocess.run(
        [str(scripts), "doctor"], capture_output=True, text=True, env=env, check=False, cwd=venv
    )
    assert doctor.returncode in (0, 1) and "Huewall 0.1.0" in doctor.stdout, doctor.stderr

    # The tray app itself starts from the wheel (offscreen, so it opens its window) and
    # quits cleanly on SIGTERM. Bing is unreachable here; the app still comes up.
    run_dir = venv / "run"
    run_dir.mkdir(mode=0o700)
    private = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
    app_env = {
        **env,
        **{name: os.environ[name] for name in private},  # this test's own HOME (conftest)
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(run_dir),
        "HUEWALL_BING_URL": "http://127.0.0.1:9",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }
    log = home / ".local/state/huewall/log/huewall.log"
    app = subprocess.Popen(
        [str(scripts)], cwd=venv, env=app_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while "ready: Huewall" not in (log.read_text() if log.exists() else ""):
            assert app.poll() is None, app.communicate()
            assert time.monotonic() < deadline, "the app from the wheel never became ready"
            time.sleep(0.05)
        app.send_signal(signal.SIGTERM)
        assert app.wait(15) == 0
    finally:
        if app.poll() is None:
            app.kill()
        app.communicate(timeout=10)
