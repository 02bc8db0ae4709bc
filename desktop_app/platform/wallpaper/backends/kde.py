"""KDE Plasma 5.7+ and 6: every desktop through plasmashell, and the lock screen's config."""

from __future__ import annotations

import json
from pathlib import Path

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.session import Session

APPLY_TOOL = "plasma-apply-wallpaperimage"
# Tried in this order to call plasmashell's evaluateScript over D-Bus.
DBUS_TOOLS = ("qdbus6", "qdbus-qt5", "qdbus", "dbus-send")
CONFIG_WRITERS = ("kwriteconfig6", "kwriteconfig5")

SERVICE = "org.kde.plasmashell"
OBJECT = "/PlasmaShell"
METHOD = "org.kde.PlasmaShell.evaluateScript"

# plasma-apply-wallpaperimage pastes the raw path into 'file://…' inside its own script:
# it refuses a single quote, a backslash starts a JavaScript escape, and QUrl reads
# '#', '?' and '%' as fragment, query and percent-escape. Such paths go through our script.
_APPLY_TOOL_BREAKS_ON = frozenset("'\\#?%\u2028\u2029")


def plasma_script(uri: str) -> str:
    """The evaluateScript program that shows ``uri`` on every Plasma desktop.

    ``Path.as_uri`` already percent-encodes quotes, backslashes, spaces and non-ASCII;
    ``json.dumps`` then makes a JavaScript string literal that stays correct whatever the
    URI holds (ASCII only, so no U+2028/U+2029 line terminators inside the literal).
    """
    literal = json.dumps(uri, ensure_ascii=True)
    return (
        f"var uri = {literal};\n"
        "var all = desktops();\n"
        "for (var i = 0; i < all.length; i++) {\n"
        "    var d = all[i];\n"
        "    d.wallpaperPlugin = 'org.kde.image';\n"
        "    d.currentConfigGroup = ['Wallpaper', 'org.kde.image', 'General'];\n"
        "    d.writeConfig('Image', uri);\n"
        "}\n"
    )


def apply_tool_can_take(path: str) -> bool:
    """Whether plasma-apply-wallpaperimage passes ``path`` through unchanged."""
    return not any(ch in _APPLY_TOOL_BREAKS_ON or ord(ch) < 0x20 or ch == "\x7f" for ch in path)


class KdeBackend(Backend):
    name = "kde"
    label = "KDE Plasma"
    supports_lock_screen = True

    def detect(self, session: Session) -> str | None:
        if session.kde_full_session:
            return "KDE_FULL_SESSION is true"
        if session.is_desktop("kde", "plasma"):
            return "the desktop is KDE Plasma"
        return None

    def _first(self, tools: tuple[str, ...]) -> str | None:
        for tool in tools:
            if self.runner.which(tool):
                return tool
        return None

    def missing(self, session: Session) -> str | None:
        if self.runner.which(APPLY_TOOL) or self._first(DBUS_TOOLS):
            return None
        return (
            f"install {APPLY_TOOL} (Debian/Ubuntu: apt install plasma-workspace) "
            "or dbus-send (apt install dbus-bin)"
        )

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        uri = path.as_uri()
        dbus_tool = self._first(DBUS_TOOLS)
        if self.runner.which(APPLY_TOOL) and apply_tool_can_take(str(path)):
            self.runner.run(f"{self.label} ({APPLY_TOOL})", [APPLY_TOOL, str(path)])
        elif dbus_tool is not None:
            self.runner.run(f"{self.label} ({dbus_tool})", self._script_call(dbus_tool, uri))
        else:
            raise WallpaperError(
                f"{self.label}: {APPLY_TOOL} cannot take a path with a quote, backslash, "
                f"'#', '?', '%' or control character ({path}); "
                "install dbus-send (Debian/Ubuntu: apt install dbus-bin) or qdbus"
            )
        if lock_screen:
            self._set_lock_screen(uri)

    @staticmethod
    def _script_call(tool: str, uri: str) -> list[str]:
        script = plasma_script(uri)
        if tool == "dbus-send":
            return [
                tool,
                "--session",
                "--print-reply",
                f"--dest={SERVICE}",
                OBJECT,
                METHOD,
                f"string:{script}",
            ]
        return [tool, SERVICE, OBJECT, METHOD, script]

    def _set_lock_screen(self, uri: str) -> None:
        """Point the lock screen's image wallpaper at ``uri``.

        Plasma 6 wants a ``file://`` URI here; Plasma 5's greeter uses the same
        org.kde.image plugin, which reads a URI as well, so both get the URI.
        """
        tool = self._first(CONFIG_WRITERS)
        if tool is None:
            raise WallpaperError(
                f"{self.label}: the desktop is set, but the lock screen needs kwriteconfig6 "
                "or kwriteconfig5 (Debian/Ubuntu: apt install libkf5config-bin)"
            )
        label = f"{self.label} lock screen ({tool})"
        greeter = [tool, "--file", "kscreenlockerrc", "--group", "Greeter"]
        self.runner.run(label, [*greeter, "--key", "WallpaperPlugin", "org.kde.image"])
        self.runner.run(
            label,
            [
                *greeter,
                "--group",
                "Wallpaper",
                "--group",
                "org.kde.image",
                "--group",
                "General",
                "--key",
                "Image",
                uri,
            ],
        )

    def tools(self) -> dict[str, str | None]:
        return {
            tool: self.runner.which(tool) for tool in (APPLY_TOOL, *DBUS_TOOLS, *CONFIG_WRITERS)
        }
