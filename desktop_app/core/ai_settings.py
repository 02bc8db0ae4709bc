"""Which AI endpoint, model and key the palette uses, from the settings and the environment.

The rule that matters: a key is only ever sent to the endpoint it was saved for. Keys
from the secret store are looked up by endpoint URL; ``OPENAI_API_KEY`` belongs to
``OPENAI_BASE_URL`` (or to OpenAI when that is unset) and goes nowhere else.

The core does not import the platform layer: anything with ``get(endpoint) -> key`` does
(``desktop_app.platform.secrets.KeyringSecrets`` in the app, a dict-backed fake in tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from desktop_app.core.errors import UsageError
from desktop_app.core.palette.ai import DEFAULT_BASE_URL, AIConfig
from desktop_app.core.settings import Settings

OPENAI_ENDPOINT = DEFAULT_BASE_URL
"""The endpoint URL OpenAI's key is saved under."""


class KeyLookup(Protocol):
    def get(self, endpoint: str) -> str | None:
        """The API key saved for ``endpoint``, or None."""
        ...


def normalise_endpoint(url: str) -> str:
    """One spelling per endpoint, for comparing and for naming saved keys: scheme and host
    in lower case, no trailing slash, no fragment. ``""`` for an empty URL."""
    text = url.strip()
    if not text:
        return ""
    parts = urlsplit(text)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, "")
    )


def endpoint_label(url: str) -> str:
    """The endpoint for messages: scheme, host, port and path, without any credentials."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if not parts.scheme or not host:
        return "an endpoint"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path.rstrip('/')}"


def ai_config_for(
    settings: Settings, env: Mapping[str, str], secrets: KeyLookup | None
) -> AIConfig | None:
    """The AI configuration the palette uses, or None for the local palette.

    - ``ai_provider == "none"``: None, unless ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` are
      set in ``env`` (then ``AIConfig.from_env``, as the CLI does);
    - ``"openai"``: OpenAI with ``settings.ai_model``; the key saved for OpenAI, else
      ``OPENAI_API_KEY`` when ``OPENAI_BASE_URL`` is unset or OpenAI's;
    - ``"custom"``: ``settings.ai_base_url`` with ``settings.ai_model``; the key saved for
      that URL, else ``OPENAI_API_KEY`` only when ``OPENAI_BASE_URL`` is that same URL,
      else no key (a local server such as Ollama needs none).

    Raises ``UsageError`` when the choice cannot work (OpenAI without any key, a custom
    provider without a URL); errors of ``secrets`` (a locked keyring) propagate. Keyring
    lookups can block: call this off the GUI thread.
    """
    provider = settings.ai_provider
    if provider == "none":
        return AIConfig.from_env(env)
    env_key = env.get("OPENAI_API_KEY", "").strip() or None
    env_url = normalise_endpoint(env.get("OPENAI_BASE_URL", ""))
    if provider == "openai":
        key = _saved_key(secrets, OPENAI_ENDPOINT)
        if key is None and env_url in ("", normalise_endpoint(OPENAI_ENDPOINT)):
            key = env_key
        if key is None:
            raise UsageError(
                "the OpenAI provider needs an API key: add it in the settings or set OPENAI_API_KEY"
            )
        return AIConfig(base_url=None, api_key=key, model=settings.ai_model)
    if provider == "custom":
        url = settings.ai_base_url.strip()
        if not url:
            raise UsageError("the custom AI provider needs the server's URL (ai_base_url)")
        key = _saved_key(secrets, url)
        if key is None and env_url and env_url == normalise_endpoint(url):
            key = env_key
        return AIConfig(base_url=url, api_key=key, model=settings.ai_model)
    raise UsageError(f"unknown AI provider {provider!r}; expected none, openai or custom")


def _saved_key(secrets: KeyLookup | None, endpoint: str) -> str | None:
    if secrets is None:
        return None
    key = secrets.get(normalise_endpoint(endpoint))
    if key is None:
        return None
    return key.strip() or None
