"""Which endpoint, model and key the palette uses; a key never goes to another endpoint."""

from __future__ import annotations

import pytest

from desktop_app.core.ai_settings import (
    OPENAI_ENDPOINT,
    ai_config_for,
    endpoint_label,
    normalise_endpoint,
)
from desktop_app.core.errors import HuewallError, UsageError
from desktop_app.core.settings import Settings

OLLAMA = "http://localhost:11434/v1"
ROUTER = "https://openrouter.ai/api/v1"


class SavedKeys:
    """A secret store fake at its interface: keys by endpoint, and who was asked."""

    def __init__(self, keys: dict[str, str] | None = None) -> None:
        self.keys = {normalise_endpoint(k): v for k, v in (keys or {}).items()}
        self.asked: list[str] = []

    def get(self, endpoint: str) -> str | None:
        self.asked.append(endpoint)
        return self.keys.get(normalise_endpoint(endpoint))


def _settings(**changes: object) -> Settings:
    settings, errors = Settings().with_changes(**changes)
    assert errors == {}
    return settings


def test_none_is_the_local_palette_unless_the_environment_asks_for_ai() -> None:
    saved = SavedKeys({OPENAI_ENDPOINT: "sk-saved"})
    assert ai_config_for(Settings(), {}, saved) is None
    assert saved.asked == []  # the keyring is not even asked
    config = ai_config_for(Settings(), {"OPENAI_API_KEY": "sk-env"}, saved)
    assert config is not None and config.base_url is None and config.api_key == "sk-env"
    config = ai_config_for(
        Settings(), {"OPENAI_BASE_URL": OLLAMA, "HUEWALL_AI_MODEL": "llava"}, None
    )
    assert config is not None
    assert (config.base_url, config.api_key, config.model) == (OLLAMA, None, "llava")


def test_openai_uses_the_key_saved_for_openai_and_the_chosen_model() -> None:
    saved = SavedKeys({OPENAI_ENDPOINT: "sk-saved"})
    settings = _settings(ai_provider="openai", ai_model="gpt-4.1-mini")
    config = ai_config_for(settings, {"OPENAI_API_KEY": "sk-env"}, saved)
    assert config is not None
    assert (config.base_url, config.api_key, config.model) == (None, "sk-saved", "gpt-4.1-mini")
    assert config.endpoint == OPENAI_ENDPOINT


def test_openai_falls_back_to_the_environment_key_meant_for_openai() -> None:
    settings = _settings(ai_provider="openai")
    config = ai_config_for(settings, {"OPENAI_API_KEY": "sk-env"}, SavedKeys())
    assert config is not None and config.api_key == "sk-env"
    env = {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "https://API.openai.com/v1/"}
    config = ai_config_for(settings, env, None)
    assert config is not None and config.api_key == "sk-env" and config.base_url is None


def test_openai_never_takes_a_key_meant_for_another_server() -> None:
    settings = _settings(ai_provider="openai")
    env = {"OPENAI_API_KEY": "sk-for-openrouter", "OPENAI_BASE_URL": ROUTER}
    saved = SavedKeys({ROUTER: "sk-router-saved"})
    with pytest.raises(UsageError, match="needs an API key"):
        ai_config_for(settings, env, saved)
    with pytest.raises(UsageError, match="needs an API key"):
        ai_config_for(settings, {}, None)


def test_custom_uses_the_key_saved_for_that_url() -> None:
    saved = SavedKeys({ROUTER: "sk-router", OPENAI_ENDPOINT: "sk-openai"})
    settings = _settings(ai_provider="custom", ai_base_url=ROUTER + "/", ai_model="qwen-vl")
    config = ai_config_for(settings, {"OPENAI_API_KEY": "sk-env"}, saved)
    assert config is not None
    assert (config.base_url, config.api_key, config.model) == (ROUTER + "/", "sk-router", "qwen-vl")


def test_a_key_for_endpoint_a_is_never_used_for_endpoint_b() -> None:
    a, b = "https://a.example/v1", "https://b.example/v1"
    settings_b = _settings(ai_provider="custom", ai_base_url=b)
    # Saved for A (and for OpenAI) only: B gets no key.
    saved = SavedKeys({a: "sk-a", OPENAI_ENDPOINT: "sk-openai"})
    config = ai_config_for(settings_b, {}, saved)
    assert config is not None and config.base_url == b and config.api_key is None
    # The environment's key belongs to OPENAI_BASE_URL = A: B still gets none.
    env = {"OPENAI_API_KEY": "sk-env-a", "OPENAI_BASE_URL": a}
    config = ai_config_for(settings_b, env, saved)
    assert config is not None and config.api_key is None
    # An environment key without a base URL is OpenAI's: not for B either.
    config = ai_config_for(settings_b, {"OPENAI_API_KEY": "sk-openai-env"}, None)
    assert config is not None and config.api_key is None
    # Only when OPENAI_BASE_URL is B itself (spelled differently) does B get it.
    env = {"OPENAI_API_KEY": "sk-env-b", "OPENAI_BASE_URL": "HTTPS://B.example/v1/"}
    config = ai_config_for(settings_b, env, saved)
    assert config is not None and config.api_key == "sk-env-b"
    # And a saved key for B wins over the environment.
    config = ai_config_for(settings_b, env, SavedKeys({b: "sk-b"}))
    assert config is not None and config.api_key == "sk-b"


def test_custom_local_server_is_keyless() -> None:
    settings = _settings(ai_provider="custom", ai_base_url=OLLAMA, ai_model="llava")
    config = ai_config_for(settings, {}, SavedKeys())
    assert config is not None
    assert (config.base_url, config.api_key, config.model) == (OLLAMA, None, "llava")


def test_custom_without_a_url_is_a_usage_error() -> None:
    settings = _settings(ai_provider="custom", ai_base_url="")
    with pytest.raises(UsageError, match="URL"):
        ai_config_for(settings, {"OPENAI_API_KEY": "sk-env"}, None)


def test_errors_of_the_secret_store_propagate() -> None:
    class LockedKeyring:
        def get(self, endpoint: str) -> str | None:
            raise HuewallError("cannot read the API key: the keyring is locked")

    settings = _settings(ai_provider="custom", ai_base_url=OLLAMA)
    with pytest.raises(HuewallError, match="locked"):
        ai_config_for(settings, {}, LockedKeyring())


def test_endpoint_spelling() -> None:
    assert normalise_endpoint(" HTTPS://Api.OpenAI.com/v1/ ") == "https://api.openai.com/v1"
    assert normalise_endpoint("http://localhost:11434/v1#x") == "http://localhost:11434/v1"
    assert normalise_endpoint("") == ""
    assert normalise_endpoint("https://a.example/v1") != normalise_endpoint("https://b.example/v1")
    assert endpoint_label("https://user:secret@host.example:8443/v1/") == (
        "https://host.example:8443/v1"
    )
    assert endpoint_label("not a url") == "an endpoint"
