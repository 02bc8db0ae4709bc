"""The wallpaper portal backend against a fake portal on a private D-Bus session bus.

The fake (jeepney, in a process of its own) owns org.freedesktop.portal.Desktop, reads the
file descriptor it is handed, records what it got, answers with the Request path the real
portal uses for our handle_token and then emits Response with the code it was told to.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from desktop_app.core.errors import WallpaperError
from desktop_app.platform.wallpaper.backends.portal import (
    PortalBackend,
    bus_address,
    request_path,
)
from desktop_app.platform.wallpaper.runner import CommandRunner
from desktop_app.platform.wallpaper.session import Session
from tests.support.xvfb import require

if not os.environ.get("CI"):  # CI installs it: there a missing jeepney must fail
    pytest.importorskip("jeepney")

FLATPAK = Session.from_env({"FLATPAK_ID": "io.github.huewall"}, "linux")

FAKE_PORTAL = r"""
import json, sys
from jeepney import (
    DBusAddress, HeaderFields, MessageType, message_bus, new_error, new_method_return,
    new_signal,
)
from jeepney.io.blocking import Proxy, open_dbus_connection

mode, out = sys.argv[1], sys.argv[2]
connection = open_dbus_connection(bus="SESSION", enable_fds=True)
owned = Proxy(message_bus, connection).RequestName("org.freedesktop.portal.Desktop", 4)
assert owned == (1,), owned
print("ready", flush=True)

while True:
    message = connection.receive()
    fields = message.header.fields
    if message.header.message_type != MessageType.method_call:
        continue
    if (fields.get(HeaderFields.interface), fields.get(HeaderFields.member)) != (
        "org.freedesktop.portal.Wallpaper",
        "SetWallpaperFile",
    ):
        connection.send(new_error(message, "org.freedesktop.DBus.Error.UnknownMethod"))
        continue
    parent, fd, options = message.body
    with fd.to_file("rb") as picture:
        received = picture.read()
    sender = fields[HeaderFields.sender]
    with open(out + ".bin", "wb") as saved:
        saved.write(received)
    with open(out + ".json", "w") as record:
        json.dump(
            {
                "parent": parent,
                "options": {key: value[1] for key, value in options.items()},
                "signatures": {key: value[0] for key, value in options.items()},
                "sender": sender,
                "signature": fields.get(HeaderFields.signature),
            },
            record,
        )
    if mode == "refuse":
        connection.send(
            new_error(message, "org.freedesktop.DBus.Error.AccessDenied", "s", ("not allowed",))
        )
        continue
    handle = "/org/freedesktop/portal/desktop/request/{}/{}".format(
        sender.lstrip(":").replace(".", "_"), options["handle_token"][1]
    )
    connection.send(new_method_return(message, "o", (handle,)))
    if mode == "silent":
        continue
    code = {"ok": 0, "broadcast": 0, "cancel": 1, "fail": 2}[mode]
    request = DBusAddress(handle, interface="org.freedesktop.portal.Request")
    # Someone else's request first: its answer must not be taken for ours.
    other = DBusAddress(
        "/org/freedesktop/portal/desktop/request/1_999/other",
        interface="org.freedesktop.portal.Request",
    )
    noise = new_signal(other, "Response", "ua{sv}", (2, {}))
    signal = new_signal(request, "Response", "ua{sv}", (code, {}))
    if mode != "broadcast":  # the real portal addresses the caller
        noise.header.fields[HeaderFields.destination] = sender
        signal.header.fields[HeaderFields.destination] = sender
    connection.send(noise)
    connection.send(signal)
"""


def read_line(process: subprocess.Popen[str], what: str, timeout: float = 20) -> str:
    """One line from ``process.stdout`` within ``timeout`` seconds."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    while not line.endswith("\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, remaining))
        if not ready:
            raise AssertionError(f"{what} said nothing within {timeout} s")
        chunk = process.stdout.readline()
        if not chunk:
            raise AssertionError(f"{what} exited (status {process.poll()})")
        line += chunk
    return line.strip()


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@pytest.fixture
def session_bus(tmp_path: Path) -> Iterator[str]:
    """A private dbus-daemon; yields its address; stopped by PID."""
    daemon = require("dbus-daemon")
    process = subprocess.Popen(
        [daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield read_line(process, "dbus-daemon")
    finally:
        stop(process)


class FakePortal:
    def __init__(self, address: str, tmp_path: Path) -> None:
        self.address = address
        self.script = tmp_path / "fake_portal.py"
        self.script.write_text(FAKE_PORTAL, encoding="utf-8")
        self.out = tmp_path / "received"
        self.process: subprocess.Popen[str] | None = None

    def start(self, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(self.script), mode, str(self.out)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": self.address},
        )
        assert read_line(self.process, "the fake portal") == "ready"

    def received(self) -> tuple[bytes, dict[str, Any]]:
        record = json.loads(self.out.with_suffix(".json").read_text(encoding="utf-8"))
        return self.out.with_suffix(".bin").read_bytes(), record

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@pytest.fixture
def portal(session_bus: str, tmp_path: Path) -> Iterator[FakePortal]:
    fake = FakePortal(session_bus, tmp_path)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    folder = tmp_path / "a b 'single' \"double\" ü"
    folder.mkdir()
    path = folder / "Bing 2024-06-01.png"
    image = Image.new("RGB", (64, 48), (200, 40, 120))
    image.putpixel((3, 4), (1, 2, 3))
    image.save(path)
    return path


def backend_on(address: str, response_timeout: float = 15) -> PortalBackend:
    runner = CommandRunner(env={"DBUS_SESSION_BUS_ADDRESS": address, "PATH": ""}, timeout=20)
    return PortalBackend(runner, response_timeout=response_timeout)


def test_detect_and_request_path() -> None:
    backend = PortalBackend(CommandRunner(env={}))
    assert backend.detect(FLATPAK) == "running inside Flatpak"
    assert backend.detect(Session.from_env({}, "linux", flatpak_info=Path("/nonexistent"))) is None
    assert backend.supports_lock_screen
    assert request_path(":1.42", "huewall_ab") == (
        "/org/freedesktop/portal/desktop/request/1_42/huewall_ab"
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["ok", "broadcast"])
def test_the_portal_gets_the_picture_through_a_file_descriptor(
    portal: FakePortal, picture: Path, mode: str
) -> None:
    portal.start(mode)
    backend = backend_on(portal.address)
    assert backend.missing(FLATPAK) is None
    backend.set(picture, FLATPAK)
    data, record = portal.received()
    assert data == picture.read_bytes()
    assert record["signature"] == "sha{sv}"
    assert record["parent"] == ""
    assert record["options"]["set-on"] == "background"
    assert record["options"]["show-preview"] is False
    assert record["signatures"] == {"handle_token": "s", "set-on": "s", "show-preview": "b"}
    assert record["options"]["handle_token"].startswith("huewall_")


@pytest.mark.timeout(60)
def test_lock_screen_too(portal: FakePortal, picture: Path) -> None:
    portal.start("ok")
    backend_on(portal.address).set(picture, FLATPAK, lock_screen=True)
    _, record = portal.received()
    assert record["options"]["set-on"] == "both"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("mode", "said"),
    [("cancel", "cancelled by the user"), ("fail", "the desktop could not set it")],
)
def test_a_negative_response_is_an_error(
    portal: FakePortal, picture: Path, mode: str, said: str
) -> None:
    portal.start(mode)
    with pytest.raises(WallpaperError) as caught:
        backend_on(portal.address).set(picture, FLATPAK)
    assert str(caught.value) == f"Flatpak wallpaper portal: the wallpaper was not set: {said}"


@pytest.mark.timeout(60)
def test_a_refusal_is_reported(portal: FakePortal, picture: Path) -> None:
    portal.start("refuse")
    with pytest.raises(WallpaperError) as caught:
        backend_on(portal.address).set(picture, FLATPAK)
    assert str(caught.value) == (
        "Flatpak wallpaper portal: the portal refused: "
        "org.freedesktop.DBus.Error.AccessDenied: not allowed"
    )


@pytest.mark.timeout(60)
def test_no_response_times_out(portal: FakePortal, picture: Path) -> None:
    portal.start("silent")
    started = time.monotonic()
    with pytest.raises(WallpaperError, match=r"no answer from the portal within 0\.5 s"):
        backend_on(portal.address, response_timeout=0.5).set(picture, FLATPAK)
    assert time.monotonic() - started < 10


@pytest.mark.timeout(60)
def test_no_portal_on_the_bus(session_bus: str, picture: Path) -> None:
    with pytest.raises(WallpaperError, match=r"refused: org\.freedesktop\.DBus\.Error\.Service"):
        backend_on(session_bus).set(picture, FLATPAK)


def test_no_session_bus(tmp_path: Path, picture: Path) -> None:
    backend = PortalBackend(CommandRunner(env={"XDG_RUNTIME_DIR": str(tmp_path)}))
    session = Session.from_env({"FLATPAK_ID": "x"}, "linux")
    assert backend.missing(session) == "a D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
    with pytest.raises(WallpaperError, match=r"^Flatpak wallpaper portal: a D-Bus session bus"):
        backend.set(picture, session)
    (tmp_path / "bus").touch()
    assert bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) == f"unix:path={tmp_path / 'bus'}"


@pytest.mark.timeout(60)
def test_a_dead_bus_is_reported(tmp_path: Path, picture: Path) -> None:
    address = f"unix:path={tmp_path / 'nobody-listens'}"
    with pytest.raises(
        WallpaperError,
        match=r"^Flatpak wallpaper portal: D-Bus connection failed \(unix:path=.*\): No such file",
    ):
        backend_on(address).set(picture, FLATPAK)
