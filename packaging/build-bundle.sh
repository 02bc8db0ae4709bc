#!/usr/bin/env bash
# Build the one-folder PyInstaller bundle of Huewall and check that it runs.
#
#   packaging/build-bundle.sh            # uses (or creates) build/bundle-venv
#   VENV=.venv packaging/build-bundle.sh # reuse another virtual environment
#
# Result: build/dist/huewall/huewall (huewall.exe on Windows; on macOS also
# build/dist/Huewall.app). PyInstaller's work files go to build/pyinstaller/.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-build/bundle-venv}"
DIST="build/dist"
WORK="build/pyinstaller"

if [ ! -x "$VENV/bin/python" ] && [ ! -x "$VENV/Scripts/python.exe" ]; then
    echo "Creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ -x "$VENV/bin/python" ]; then VPY="$VENV/bin/python"; else VPY="$VENV/Scripts/python.exe"; fi

"$VPY" -m pip install --quiet --upgrade pip
"$VPY" -m pip install --quiet '.[bundle]'

start=$(date +%s)
"$VPY" -m PyInstaller --noconfirm --clean \
    --distpath "$DIST" --workpath "$WORK" packaging/huewall.spec
echo "PyInstaller took $(( $(date +%s) - start )) s"

exe="$DIST/huewall/huewall"
[ -x "$exe" ] || exe="$DIST/huewall/huewall.exe"
version=$("$exe" --version)
echo "$exe --version: $version"
case "$version" in
    "huewall "*) echo "Bundle OK: $DIST/huewall/" ;;
    *) echo "Unexpected --version output" >&2; exit 1 ;;
esac
