"""API keys through the real ``keyring`` API, on an in-memory backend defined here."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.core
import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import KeyringLocked, PasswordDeleteError, PasswordSetError

from desktop_app.core.ai_settings import OPENAI_ENDPOINT, ai_config_for
from desktop_app.core.settings import Settings
from desktop_app.platform.secrets import SERVICE_NAME, KeyringSecrets, SecretError, SecretStore

OLLAMA = "http://localhost:11434/v1"
ROUTER = "https://openrouter.ai/api/v1"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A complete keyring backend that keeps passwords in a dict."""

    @keyring.backend.properties.classproperty
    def priority(cls) -> float:
        # Never picked by keyring's own detection (this class registers itself globally).
        raise RuntimeError("only for tests")

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None


class GrumpyKeyring(MemoryKeyring):
    """Fails the way real backends do; its messages even echo the password."""

    def get_password(self, service: str, username: str) -> str | None:
        if username.startswith("https://locked"):
            raise KeyringLocked("Failed to unlock the collection!\n(dbus: dismissed)")
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError(f"refusing to store {password!r}\nsecond line")

    def delete_password(self, service: str, username: str) -> None:
        raise PasswordDeleteError("the collection is read-only")


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Install a fresh in-memory keyring as keyring's global backend (restored after)."""
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend


def test_keys_round_trip_through_the_configured_keyring(memory_keyring: MemoryKeyring) -> None:
    secrets: SecretStore = KeyringSecrets()  # keyring's own choice: the global backend
    assert secrets.available() == (True, "")
    assert secrets.get(ROUTER) is None
    secrets.set(ROUTER, "  sk-router-1\n")  # pasted with spaces and a newline
    assert secrets.get(ROUTER) == "sk-router-1"
    assert memory_keyring.passwords == {(SERVICE_NAME, ROUTER): "sk-router-1"}
    secrets.set(ROUTER + "/", "sk-router-2")  # the same endpoint, spelled with a slash
    assert secrets.get(ROUTER) == "sk-router-2" and len(memory_keyring.passwords) == 1
    secrets.delete(ROUTER)
    assert secrets.get(ROUTER) is None and memory_keyring.passwords == {}
    secrets.delete(ROUTER)  # nothing to delete: fine


def test_keys_for_different_endpoints_never_mix(memory_keyring: MemoryKeyring) -> None:
    secrets = KeyringSecrets()
    secrets.set(OPENAI_ENDPOINT, "sk-openai")
    secrets.set(ROUTER, "sk-router")
    assert secrets.get(OPENAI_ENDPOINT) == "sk-openai" and secrets.get(ROUTER) == "sk-router"
    assert secrets.get(OLLAMA) is None
    secrets.delete(ROUTER)
    assert secrets.get(OPENAI_ENDPOINT) == "sk-openai"
    # Through the AI settings: each endpoint gets its own key, a keyless one gets none.
    openai, _ = Settings().with_changes(ai_provider="openai")
    ollama, _ = Settings().with_changes(ai_provider="custom", ai_base_url=OLLAMA)
    router, _ = Settings().with_changes(ai_provider="custom", ai_base_url=ROUTER)
    secrets.set(ROUTER, "sk-router")
    assert [
        config.api_key if (config := ai_config_for(s, {}, secrets)) else "-"
        for s in (openai, ollama, router)
    ] == ["sk-openai", None, "sk-router"]


def test_an_empty_key_or_endpoint_is_refused(memory_keyring: MemoryKeyring) -> None:
    secrets = KeyringSecrets()
    with pytest.raises(SecretError, match="empty"):
        secrets.set(ROUTER, "   ")
    with pytest.raises(SecretError, match="endpoint"):
        secrets.set(" ", "sk-x")
    assert memory_keyring.passwords == {}


def test_the_fail_backend_is_unavailable_with_a_reason() -> None:
    secrets = KeyringSecrets(fail.Keyring())
    ok, why = secrets.available()
    assert not ok and "keyring" in why and "\n" not in why
    with pytest.raises(SecretError) as caught:
        secrets.get(ROUTER)
    message = str(caught.value)
    assert message.startswith("cannot read the API key for https://openrouter.ai/api/v1")
    assert "\n" not in message and "No recommended backend" in message


def test_a_chainer_with_no_backends_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.backend, "_limit", lambda backend: False)  # nothing viable
    backend = chainer.ChainerBackend()
    assert list(backend.backends) == []
    ok, why = KeyringSecrets(backend).available()
    assert not ok and "no system keyring" in why


def test_the_null_backend_is_unavailable() -> None:
    ok, why = KeyringSecrets(null.Keyring()).available()
    assert not ok and "disabled" in why


def test_keyring_errors_are_one_line_and_never_show_the_key() -> None:
    secrets = KeyringSecrets(GrumpyKeyring())
    assert secrets.available() == (True, "")
    with pytest.raises(SecretError) as caught:
        secrets.set("https://user:pw@router.example/v1", "sk-very-secret-123")
    message = str(caught.value)
    assert "sk-very-secret-123" not in message and "***" in message
    assert "\n" not in message and "pw" not in message and "router.example/v1" in message
    assert message.startswith("cannot save the API key")
    with pytest.raises(SecretError, match=r"cannot read .*Failed to unlock .*dismissed"):
        secrets.get("https://locked.example/v1")


def test_a_failed_delete_of_an_existing_key_is_an_error() -> None:
    backend = GrumpyKeyring()
    backend.passwords[(SERVICE_NAME, ROUTER)] = "sk-router"
    secrets = KeyringSecrets(backend)
    with pytest.raises(SecretError, match=r"cannot remove .*read-only"):
        secrets.delete(ROUTER)
    secrets.delete(OLLAMA)  # no key there: nothing to delete, no error
