"""Inside Flatpak: the desktop portal's ``org.freedesktop.portal.Wallpaper.SetWallpaperFile``.

The picture goes over D-Bus as a file descriptor (the sandbox's paths mean nothing to the
host), so this needs a D-Bus library that passes unix fds: jeepney, pure Python, imported
only here. The call returns a Request object; its ``Response`` signal says how it went
(0 done, 1 cancelled by the user, 2 failed). We subscribe to Request signals before
calling, so the answer cannot slip past us, and take the one on the returned handle (which
the portal derives from our unique name and ``handle_token``).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.base import Backend
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session

PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
WALLPAPER_INTERFACE = "org.freedesktop.portal.Wallpaper"
REQUEST_INTERFACE = "org.freedesktop.portal.Request"
REQUEST_PREFIX = "/org/freedesktop/portal/desktop/request"

RESPONSES = {1: "cancelled by the user", 2: "the desktop could not set it"}
# Long enough for a first-time "allow this app to change the background?" prompt.
DEFAULT_RESPONSE_TIMEOUT = 120.0


def request_path(unique_name: str, token: str) -> str:
    """The Request object path the portal creates for ``handle_token`` (its documented rule)."""
    sender = unique_name.lstrip(":").replace(".", "_")
    return f"{REQUEST_PREFIX}/{sender}/{token}"


def bus_address(env: Mapping[str, str]) -> str | None:
    """The session bus address from ``env``, or the systemd user bus if it exists."""
    address = env.get("DBUS_SESSION_BUS_ADDRESS")
    if address:
        return address
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return f"unix:path={os.path.join(runtime, 'bus')}"
    return None


def jeepney_available() -> bool:
    return importlib.util.find_spec("jeepney") is not None


class PortalBackend(Backend):
    name = "portal"
    label = "Flatpak wallpaper portal"
    supports_lock_screen = True

    def __init__(
        self, runner: CommandRunner, *, response_timeout: float = DEFAULT_RESPONSE_TIMEOUT
    ) -> None:
        super().__init__(runner)
        self.response_timeout = response_timeout

    def detect(self, session: Session) -> str | None:
        return "running inside Flatpak" if session.flatpak else None

    def _address(self, session: Session) -> str | None:
        return bus_address(self.runner.env) or bus_address(session.env)

    def missing(self, session: Session) -> str | None:
        if not jeepney_available():
            return "install the Python package jeepney (pip install jeepney)"
        if self._address(session) is None:
            return "a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        return None

    def set(self, path: Path, session: Session, *, lock_screen: bool = False) -> None:
        self.require_ready(session)
        address = self._address(session)
        assert address is not None  # require_ready checked it
        set_on = "both" if lock_screen else "background"
        try:
            picture = open(path, "rb")  # noqa: SIM115 - closed below, after the call
        except OSError as exc:
            raise WallpaperError(f"{self.label}: cannot read {path}: {exc.strerror}") from None
        with picture:
            try:
                code = self._call(address, picture.fileno(), set_on)
            except WallpaperError:
                raise
            except TimeoutError:
                raise WallpaperError(
                    f"{self.label}: no answer from the portal within {self.response_timeout:g} s"
                ) from None
            except OSError as exc:
                raise WallpaperError(
                    f"{self.label}: D-Bus connection failed ({address}): {exc.strerror or exc}"
                ) from None
            except Exception as exc:  # jeepney's AuthenticationError, FDNegotiationError, ...
                raise WallpaperError(f"{self.label}: D-Bus failed: {exc}") from None
        if code != 0:
            said = RESPONSES.get(code, f"response {code}")
            raise WallpaperError(f"{self.label}: the wallpaper was not set: {said}")

    def _call(self, address: str, fd: int, set_on: str) -> int:
        """Call SetWallpaperFile with ``fd`` and wait for the Request's response code."""
        from jeepney import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            DBusAddress,
            HeaderFields,
            MatchRule,
            MessageType,
            message_bus,
            new_method_call,
        )
        from jeepney.io.blocking import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            Proxy,
            open_dbus_connection,
        )

        call_timeout = self.runner.timeout
        with open_dbus_connection(
            bus=address, enable_fds=True, auth_timeout=call_timeout
        ) as connection:
            token = f"huewall_{secrets.token_hex(8)}"
            expected = request_path(connection.unique_name, token)
            rule = MatchRule(
                type="signal",
                interface=REQUEST_INTERFACE,
                member="Response",
                path_namespace=REQUEST_PREFIX,
            )
            Proxy(message_bus, connection, timeout=call_timeout).AddMatch(rule)
            responses: deque[Any] = deque()
            with connection.filter(rule, queue=responses):
                portal = DBusAddress(
                    PORTAL_PATH, bus_name=PORTAL_NAME, interface=WALLPAPER_INTERFACE
                )
                options = {
                    "handle_token": ("s", token),
                    "set-on": ("s", set_on),
                    "show-preview": ("b", False),
                }
                message = new_method_call(portal, "SetWallpaperFile", "sha{sv}", ("", fd, options))
                reply = connection.send_and_get_reply(message, timeout=call_timeout)
                if reply.header.message_type == MessageType.error:
                    name = reply.header.fields.get(HeaderFields.error_name, "error")
                    said = reply.body[0] if reply.body else ""
                    raise WallpaperError(f"{self.label}: the portal refused: {name}: {said}")
                handle = reply.body[0] if reply.body else expected
                deadline = time.monotonic() + self.response_timeout
                while True:
                    remaining = max(0.0, deadline - time.monotonic())
                    signal = connection.recv_until_filtered(responses, timeout=remaining)
                    if signal.header.fields.get(HeaderFields.path) == handle:
                        return int(signal.body[0])
