#!/usr/bin/env bash
# Install Huewall's desktop entry, AppStream metainfo and icons for the application menu.
#
#   packaging/install-linux.sh [PREFIX]              # default PREFIX: ~/.local
#   packaging/install-linux.sh --uninstall [PREFIX]  # remove what the install put there
#
# Files come from resources/ in this checkout (found by name, wherever they are in it):
#   io.github.huewall.Huewall.desktop        -> PREFIX/share/applications/
#   io.github.huewall.Huewall.metainfo.xml   -> PREFIX/share/metainfo/
#   io.github.huewall.Huewall.svg            -> PREFIX/share/icons/hicolor/scalable/apps/
#   io.github.huewall.Huewall-symbolic.svg   -> PREFIX/share/icons/hicolor/symbolic/apps/
#   io.github.huewall.Huewall.png (each)     -> PREFIX/share/icons/hicolor/<W>x<H>/apps/
#                                               (size read from the PNG header)
# The program itself is installed with pip/pipx (`huewall` must be on PATH for the
# entry's Exec=huewall), or use the PyInstaller bundle and put it on PATH.
# A file missing from resources/ is skipped with a message.
set -euo pipefail

APP_ID="io.github.huewall.Huewall"
HERE="$(cd "$(dirname "$0")/.." && pwd)"
RESOURCES="${HUEWALL_RESOURCES:-$HERE/resources}"

mode=install
if [ "${1:-}" = "--uninstall" ]; then mode=uninstall; shift; fi
case "${1:-}" in -h|--help) sed -n '2,15p' "$0"; exit 0 ;; esac
PREFIX="${1:-$HOME/.local}"
SHARE="$PREFIX/share"

# The first file named $1 under resources/ (screenshots excluded), or nothing.
find_resource() {
    [ -d "$RESOURCES" ] || return 0
    find "$RESOURCES" -path '*/screenshots' -prune -o -type f -name "$1" -print | sort | head -n 1
}

# "WxH" from a PNG's IHDR chunk (bytes 16-23: width and height, big-endian).
png_size() {
    local w h
    w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    echo "${w}x${h}"
}

icons() {  # the app icon files under resources/, one per line
    [ -d "$RESOURCES" ] || return 0
    find "$RESOURCES" -path '*/screenshots' -prune -o -type f \
        \( -name "$APP_ID.svg" -o -name "$APP_ID-symbolic.svg" -o -name "$APP_ID.png" \) \
        -print | sort
}

icon_target() {  # where an icon file goes under hicolor
    local file="$1" name
    name=$(basename "$file")
    case "$name" in
        *-symbolic.svg) echo "$SHARE/icons/hicolor/symbolic/apps/$name" ;;
        *.svg) echo "$SHARE/icons/hicolor/scalable/apps/$name" ;;
        *.png) echo "$SHARE/icons/hicolor/$(png_size "$file")/apps/$name" ;;
    esac
}

install_one() {  # install_one SOURCE-NAME TARGET-DIR
    local src
    src=$(find_resource "$1")
    if [ -z "$src" ]; then
        echo "skipped: $1 is not in $RESOURCES (yet)"
        return 0
    fi
    install -D -m 0644 "$src" "$2/$1"
    echo "installed $2/$1"
}

refresh_caches() {
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$SHARE/applications" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null && [ -f "$SHARE/icons/hicolor/index.theme" ]; then
        gtk-update-icon-cache -q -t -f "$SHARE/icons/hicolor" 2>/dev/null || true
    fi
    if command -v xdg-desktop-menu >/dev/null; then
        xdg-desktop-menu forceupdate 2>/dev/null || true
    fi
}

if [ "$mode" = install ]; then
    install_one "$APP_ID.desktop" "$SHARE/applications"
    install_one "$APP_ID.metainfo.xml" "$SHARE/metainfo"
    found=0
    while IFS= read -r icon; do
        [ -n "$icon" ] || continue
        target=$(icon_target "$icon")
        install -D -m 0644 "$icon" "$target"
        echo "installed $target"
        found=1
    done < <(icons)
    [ "$found" = 1 ] || echo "skipped: no $APP_ID icons in $RESOURCES (yet)"
    refresh_caches
    echo "Huewall's menu entry is installed under $SHARE."
else
    rm -fv "$SHARE/applications/$APP_ID.desktop" "$SHARE/metainfo/$APP_ID.metainfo.xml"
    find "$SHARE/icons/hicolor" -type f -path '*/apps/*' -name "$APP_ID*" \
        -exec rm -fv {} + 2>/dev/null || true
    refresh_caches
    echo "Huewall's menu entry is removed from $SHARE."
fi
