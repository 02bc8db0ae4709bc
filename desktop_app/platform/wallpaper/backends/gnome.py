"""GNOME, Cinnamon and MATE: the wallpaper is a GSettings key, written with gsettings and read back.

``gsettings set`` exits 0 even when nothing was saved (no session bus, or the "memory"
backend of a gsettings that cannot find dconf), so every key is read back with
``gsettings get`` from a separate process, which sees only what really reached dconf.

Values go to gsettings as GVariant text literals (so a path with quotes stays one string),
and ``gsettings get`` output is parsed with GVariant's string-literal rules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import utf8_output_env
from desktop_app.platform.wallpaper.session import Session

# Distribution packages put gsettings here; a gsettings found earlier on PATH (conda ships one)
# may not see the system's schemas or dconf and would save nothing.
SYSTEM_GSETTINGS = "/usr/bin/gsettings"

# GVariant's single-character escapes (glib/gvariant-parser.c, g_variant_print).
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_PRINT_ESCAPES = {value: "\\" + key for key, value in _ESCAPES.items()}


def gvariant_string(value: str) -> str:
    """``value`` as a GVariant text literal, as ``g_variant_print`` writes it.

    Single quotes unless the text contains one; the chosen quote and backslashes are
    escaped, control characters become ``\\n``-style or ``\\uXXXX`` escapes.
    """
    quote = '"' if "'" in value else "'"
    out = [quote]
    for char in value:
        if char in (quote, "\\"):
            out.append("\\" + char)
        elif char in _PRINT_ESCAPES:
            out.append(_PRINT_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append(quote)
    return "".join(out)


def parse_gvariant_string(text: str) -> str:
    """The string in a GVariant string literal such as ``gsettings get`` prints.

    Accepts either quote, an optional ``@s`` type annotation, and GVariant's escapes
    (``\\'``, ``\\"``, ``\\\\``, ``\\n``..., ``\\uXXXX``, ``\\UXXXXXXXX``; a backslash
    before any other character stands for that character). Raises ``ValueError``.
    """
    literal = text.strip()
    if literal.startswith("@s "):
        literal = literal[3:].lstrip()
    if len(literal) < 2 or literal[0] not in "'\"" or literal[-1] != literal[0]:
        raise ValueError(f"not a GVariant string: {text.strip()[:80]!r}")
    quote = literal[0]
    body = literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == quote:
            raise ValueError(f"unescaped quote in GVariant string: {text.strip()[:80]!r}")
        if char != "\\":
            out.append(char)
            i += 1
            continue
        if i + 1 >= len(body):
            raise ValueError(f"GVariant string ends in a backslash: {text.strip()[:80]!r}")
        code = body[i + 1]
        if code in "uU":
            width = 4 if code == "u" else 8
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(f"bad \\{code} escape in GVariant string: {text.strip()[:80]!r}")
            out.append(chr(int(digits, 16)))
            i += 2 + width
        else:
            out.append(_ESCAPES.get(code, code))
            i += 2
    return "".join(out)


class GSettingsBackend(Backend):
    """Shared plumbing: a desktop whose wallpaper is one GSettings key (plus optional ones)."""

    desktops: ClassVar[tuple[str, ...]]
    schema: ClassVar[str]
    key: ClassVar[str]
    # Keys set to the same value when the installed schema has them ("picture-uri-dark").
    optional_keys: ClassVar[tuple[str, ...]] = ()
    lock_schema: ClassVar[str | None] = None
    lock_key: ClassVar[str] = "picture-uri"
    schema_package: ClassVar[str]  # Debian/Ubuntu package that installs ``schema``
    system_gsettings: ClassVar[str] = SYSTEM_GSETTINGS

    def value_for(self, path: Path) -> str:
        """What the key holds for ``path``: a percent-encoded file URI unless overridden."""
        return path.as_uri()

    # -- gsettings plumbing ---------------------------------------------------------------

    def gsettings(self) -> str | None:
        """The gsettings to run: the system's when it exists, else the first on PATH."""
        system = self.system_gsettings
        if os.path.isfile(system) and os.access(system, os.X_OK):
            return system
        return self.runner.which("gsettings")

    def _tool(self) -> str:
        tool = self.gsettings()
        if tool is None:
            raise WallpaperError(f"{self.label}: {_INSTALL_GSETTINGS}")
        return tool

    def list_keys(self, schema: str) -> set[str]:
        out = self.runner.run(self.label, [self._tool(), "list-keys", schema])
        return {line.strip() for line in out.splitlines() if line.strip()}

    def get(self, schema: str, key: str) -> str:
        """The string value of ``schema key``, as gsettings reads it from the backend."""
        out = self.runner.run(self.label, [self._tool(), "get", schema, key], env=utf8_output_env())
        try:
            return parse_gvariant_string(out)
        except ValueError as exc:
            raise WallpaperError(f"{self.label}: cannot read {schema} {key}: {exc}") from None

    def put(self, schema: str, key: str, value: str) -> None:
        self.runner.run(self.label, [self._tool(), "set", schema, key, gvariant_string(value)])

    def check(self, schema: str, key: str, value: str) -> None:
        """Read ``schema key`` back; raise unless it holds ``value``."""
        got = self.get(schema, key)
        if got != value:
            raise WallpaperError(
                f"{self.label}: gsettings reported success but {schema} {key} still reads "
                f"{got!r}: the setting was not saved (is there a D-Bus session bus, and is "
                f"dconf installed? Debian/Ubuntu: apt install dconf-gsettings-backend)"
            )

    def zoom_if_none(self, schema: str) -> None:
        """Picture options "none" shows no picture at all: switch it to "zoom", else keep it."""
        if self.get(schema, "picture-options") == "none":
            self.put(schema, "picture-options", "zoom")
            self.check(schema, "picture-options", "zoom")

    # -- Backend --------------------------------------------------------------------------

    def detect(self, session: Session) -> str | None:
        return session.matched_desktop(self.desktops)

    def missing(self, session: Session) -> str | None:
        if self.gsettings() is None:
            return _INSTALL_GSETTINGS
        try:
            self.list_keys(self.schema)
        except WallpaperError:
            return (
                f"install the {self.schema} settings schema "
                f"(Debian/Ubuntu: apt install {self.schema_package})"
            )
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        value = self.value_for(path)
        keys = self.list_keys(self.schema)
        targets = [(self.schema, self.key)]
        targets += [(self.schema, key) for key in self.optional_keys if key in keys]
        if lock_screen and self.lock_schema is not None:
            targets.append((self.lock_schema, self.lock_key))
        if "picture-options" in keys:
            self.zoom_if_none(self.schema)
        for schema, key in targets:
            self.put(schema, key, value)
        for schema, key in targets:
            self.check(schema, key, value)

    def tools(self) -> dict[str, str | None]:
        return {"gsettings": self.gsettings()}


_INSTALL_GSETTINGS = "install gsettings (Debian/Ubuntu: apt install libglib2.0-bin)"


class GnomeBackend(GSettingsBackend):
    """GNOME and the desktops built on its settings (Unity, Budgie, Pantheon, Flashback)."""

    name = "gnome"
    label = "GNOME (gsettings)"
    supports_lock_screen = True
    # Ubuntu, Pop!_OS and Zorin put their own name before "GNOME" in XDG_CURRENT_DESKTOP
    # ("ubuntu:GNOME"), so "gnome" covers them; matching "ubuntu" would also match the
    # DESKTOP_SESSION of Xubuntu, Lubuntu and Kubuntu.
    desktops = ("gnome", "unity", "budgie", "budgie-desktop", "pantheon")
    schema = "org.gnome.desktop.background"
    key = "picture-uri"
    # GNOME 42+ shows only picture-uri-dark with the dark style; older schemas lack the key.
    optional_keys = ("picture-uri-dark",)
    lock_schema = "org.gnome.desktop.screensaver"
    schema_package = "gsettings-desktop-schemas"


class CinnamonBackend(GSettingsBackend):
    """Cinnamon; its lock screen (cinnamon-screensaver) shows the desktop background."""

    name = "cinnamon"
    label = "Cinnamon (gsettings)"
    desktops = ("x-cinnamon", "cinnamon")
    schema = "org.cinnamon.desktop.background"
    key = "picture-uri"
    schema_package = "cinnamon-desktop-data"


class MateBackend(GSettingsBackend):
    """MATE: a plain file path, not a URI."""

    name = "mate"
    label = "MATE (gsettings)"
    desktops = ("mate",)
    schema = "org.mate.background"
    key = "picture-filename"
    schema_package = "mate-desktop-common"

    def value_for(self, path: Path) -> str:
        text = str(path)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise WallpaperError(
                f"{self.label}: MATE stores the wallpaper as UTF-8 text and cannot name "
                f"{os.fsencode(path)!r}"
            ) from None
        return text
