"""API keys in the OS keyring (Secret Service, KWallet, macOS Keychain, Windows Credential
Locker), through the ``keyring`` package.

Each key is stored under the service name ``huewall`` with the endpoint URL as the user
name, so the key for one endpoint is never handed to another. Keyring calls can block
(D-Bus, an unlock prompt): make them off the GUI thread. Every failure becomes a
one-line ``SecretError`` that names the endpoint and the keyring, never the key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from desktop_app.core.ai_settings import endpoint_label, normalise_endpoint
from desktop_app.core.errors import HuewallError

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger("huewall.secrets")

SERVICE_NAME = "huewall"
_NO_KEYRING = (
    "no system keyring found; install and unlock one (GNOME Keyring, KWallet or "
    "another Secret Service) to save API keys"
)


class SecretError(HuewallError):
    """The keyring could not be read or written; the message never contains the key."""


class SecretStore(Protocol):
    def available(self) -> tuple[bool, str]:
        """Whether keys can be stored here, and a one-line reason when they cannot."""
        ...

    def get(self, endpoint: str) -> str | None:
        """The key saved for ``endpoint``, or None."""
        ...

    def set(self, endpoint: str, key: str) -> None:
        """Save ``key`` for ``endpoint``, replacing any earlier one."""
        ...

    def delete(self, endpoint: str) -> None:
        """Forget the key for ``endpoint``; nothing happens when there is none."""
        ...


class KeyringSecrets:
    """``SecretStore`` on the ``keyring`` package.

    ``backend`` None means keyring's own choice (its config file,
    ``PYTHON_KEYRING_BACKEND``, else the best one detected), looked up at first use.
    """

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self._backend = backend

    def _keyring(self) -> KeyringBackend:
        if self._backend is None:
            import keyring

            try:
                self._backend = keyring.get_keyring()
            except Exception as exc:  # a broken keyring config, a backend that fails to load
                raise SecretError(f"cannot open the system keyring: {_one_line(exc)}") from None
        return self._backend

    def available(self) -> tuple[bool, str]:
        try:
            backend = self._keyring()
        except SecretError as exc:
            return False, str(exc)
        from keyring.backends import chainer, fail, null

        if isinstance(backend, fail.Keyring):
            return False, _NO_KEYRING
        if isinstance(backend, null.Keyring):
            return False, "the keyring is disabled (keyring's null backend is configured)"
        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            return False, _NO_KEYRING
        return True, ""

    def get(self, endpoint: str) -> str | None:
        username = _username(endpoint)
        backend = self._keyring()
        try:
            key = backend.get_password(SERVICE_NAME, username)
        except Exception as exc:
            raise self._error("read", endpoint, backend, exc) from None
        return key or None

    def set(self, endpoint: str, key: str) -> None:
        username = _username(endpoint)
        secret = key.strip()
        if not secret:
            raise SecretError("the API key is empty; remove the key instead of saving an empty one")
        backend = self._keyring()
        try:
            backend.set_password(SERVICE_NAME, username, secret)
        except Exception as exc:
            raise self._error("save", endpoint, backend, exc, secret) from None

    def delete(self, endpoint: str) -> None:
        username = _username(endpoint)
        backend = self._keyring()
        try:
            # Look first: keyring raises PasswordDeleteError for a missing key, but also
            # when deleting really fails; only the second is an error here.
            if backend.get_password(SERVICE_NAME, username) is None:
                return
            backend.delete_password(SERVICE_NAME, username)
        except Exception as exc:
            raise self._error("remove", endpoint, backend, exc) from None

    @staticmethod
    def _error(
        action: str,
        endpoint: str,
        backend: KeyringBackend,
        exc: BaseException,
        secret: str | None = None,
    ) -> SecretError:
        log.debug("keyring %s failed", action, exc_info=exc)
        why = _one_line(exc, secret)
        return SecretError(
            f"cannot {action} the API key for {endpoint_label(endpoint)} "
            f"in the system keyring ({_backend_name(backend)}): {why}"
        )


def _username(endpoint: str) -> str:
    username = normalise_endpoint(endpoint)
    if not username:
        raise SecretError("an API key needs the endpoint URL it belongs to")
    return username


def _backend_name(backend: KeyringBackend) -> str:
    try:
        return str(backend.name)
    except Exception:
        return type(backend).__name__


def _one_line(exc: BaseException, secret: str | None = None) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if secret:
        text = text.replace(secret, "***")
    return text if len(text) <= 300 else text[:299] + "…"
