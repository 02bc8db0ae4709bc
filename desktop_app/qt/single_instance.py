"""One Huewall per user: a second start hands over to the running one and exits.

The first instance takes a lock file (``QLockFile``: the kernel-visible PID inside lets
a later start recognise the lock of a crashed instance as stale and take it over) and
then listens on a local socket (``QLocalServer``) named after the user. A second start
fails to take the lock, connects, sends one line such as ``show-settings`` and waits
for ``ok``; the running instance emits ``activated("show-settings")``.

On Unix the socket and the lock live in ``$XDG_RUNTIME_DIR`` (private to the user)
when there is one, else in the temporary folder with user-only permissions. A socket
file left behind by a crashed instance is noticed by a failed connect and removed with
``QLocalServer.removeServer`` before listening. The client side needs no
``QApplication``, so a second start costs no display connection.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import QDir, QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("huewall.instance")

SHOW_SETTINGS = "show-settings"
ACK = b"ok\n"
MAX_MESSAGE = 256  # bytes in one request line; more is not a Huewall talking


def instance_key(user: str | None = None) -> str:
    """``huewall-<12 hex digits>``: the same for every start by one user, different
    between users (the hash keeps odd characters in user names out of socket names)."""
    if user is None:
        user = str(os.getuid()) if hasattr(os, "getuid") else _user_name()
    return "huewall-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:12]


def default_directory(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_RUNTIME_DIR`` when it is a usable folder, else Qt's temporary folder."""
    env = os.environ if env is None else env
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK | os.X_OK):
        return Path(runtime)
    return Path(QDir.tempPath())


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        return "huewall"


class SingleInstance(QObject):
    """The lock and the hand-over socket of one Huewall per user.

    ``acquire()`` before the ``QApplication`` exists: True means this is the first
    instance (call ``listen()`` once the application exists); False means another one
    runs: ``send(SHOW_SETTINGS)`` to it and exit.
    """

    activated = Signal(str)  # a request from a later start, e.g. "show-settings"

    def __init__(self, key: str, directory: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.directory = directory
        self._lock = QLockFile(str(directory / f"{key}.lock"))
        self._lock.setStaleLockTime(0)  # stale only when its process is gone, never by age
        self._server: QLocalServer | None = None

    @classmethod
    def for_user(
        cls, env: Mapping[str, str] | None = None, parent: QObject | None = None
    ) -> SingleInstance:
        return cls(instance_key(), default_directory(env), parent)

    @property
    def server_name(self) -> str:
        """The name for ``QLocalServer``/``QLocalSocket``: a socket path on Unix, a pipe
        name on Windows."""
        if sys.platform == "win32":
            return self.key
        return str(self.directory / self.key)

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.isListening()

    # -- the first instance ------------------------------------------------------------

    def acquire(self) -> bool:
        """Take the per-user lock; False when another live instance holds it."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("cannot create %s for the instance lock: %s", self.directory, exc)
        if self._lock.tryLock(0):
            return True
        error = self._lock.error()
        if error is not QLockFile.LockError.LockFailedError:
            # Cannot even write the lock (read-only folder...): run, but unguarded.
            log.warning("cannot take the instance lock (%s); not checking for others", error)
            return True
        return False

    def listen(self) -> bool:
        """Start answering later starts. Needs the ``QApplication`` (an event loop).

        Returns False (and logs why) when the socket cannot be created; Huewall then runs
        without the hand-over rather than not at all.
        """
        if self._server is not None:
            return self._server.isListening()
        name = self.server_name
        if self._answers(name):
            # Someone serves this name without holding the lock: leave them alone.
            log.warning("another Huewall answers on %s; not listening there", name)
            return False
        # Nobody answered, so a socket file there is a crashed instance's leftover.
        QLocalServer.removeServer(name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        server.setMaxPendingConnections(8)
        if not server.listen(name):
            log.warning("cannot listen on %s: %s", name, server.errorString())
            server.deleteLater()
            return False
        server.newConnection.connect(self._on_server_new_connection)
        self._server = server
        log.debug("listening for later starts on %s", name)
        return True

    def release(self) -> None:
        """Stop listening, remove the socket and drop the lock (at quit)."""
        if self._server is not None:
            self._server.close()  # also removes the socket file on Unix
            self._server.deleteLater()  # and with it any client still connected
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def _answers(self, name: str) -> bool:
        probe = QLocalSocket()
        probe.connectToServer(name)
        connected = probe.waitForConnected(200)
        probe.abort()
        return connected

    def _on_server_new_connection(self) -> None:
        server = self._server
        if server is None:
            return
        while server.hasPendingConnections():
            client = server.nextPendingConnection()
            if client is None:
                break
            # A bound method, not a closure over ``client``: PySide holds closures
            # strongly, and a closure holding ``self`` would let the client's deletion
            # delete this object (and so the client again) from inside its destructor.
            client.readyRead.connect(self._on_client_ready_read)

    def _on_client_ready_read(self) -> None:
        client = self.sender()
        if not isinstance(client, QLocalSocket):
            return
        if not client.canReadLine():
            if client.bytesAvailable() > MAX_MESSAGE:
                log.warning("dropping an over-long request on the instance socket")
                client.abort()
                client.deleteLater()
            return
        line = bytes(client.readLine(MAX_MESSAGE + 2).data())
        if not line.endswith(b"\n"):
            log.warning("dropping an over-long request on the instance socket")
            client.abort()
            client.deleteLater()
            return
        message = line.decode("utf-8", "replace").strip()
        client.write(ACK)
        client.flush()
        client.disconnectFromServer()
        client.deleteLater()
        if message and message.isprintable():
            log.info("a later start asked: %s", message)
            self.activated.emit(message)

    # -- a later instance -----------------------------------------------------------------

    def send(self, message: str, timeout_ms: int = 5000) -> bool:
        """Deliver ``message`` to the running instance and wait for its ``ok``.

        Retries the connection until ``timeout_ms``: the first instance may hold the
        lock but still be starting up. Works without a ``QApplication``.
        """
        payload = message.encode("utf-8") + b"\n"
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0:
                return False
            socket = QLocalSocket()
            socket.connectToServer(self.server_name)
            if socket.waitForConnected(min(left, 1000)):
                socket.write(payload)
                socket.waitForBytesWritten(max(1, left))
                reply = b""
                while not reply.endswith(b"\n"):
                    left = int((deadline - time.monotonic()) * 1000)
                    if left <= 0 or not socket.waitForReadyRead(left):
                        break
                    reply += bytes(socket.readAll().data())
                socket.abort()
                return reply == ACK
            socket.abort()
            # Not listening yet (or just gone): a short pause, then try again.
            time.sleep(0.05)
