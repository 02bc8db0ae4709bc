"""The AI analyser: asks an OpenAI-compatible vision model for the palette.

Works with OpenAI itself and with compatible servers (Ollama, LM Studio, llama.cpp,
vLLM, OpenRouter...) through ``OPENAI_BASE_URL``. The ``openai`` package is imported
only when a client is built, so importing this module stays cheap for the CLI.

Every failure ends in a one-line ``PaletteError``, and the whole analysis, all tries
included, ends within ``AIConfig.deadline`` seconds.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from desktop_app.core.config import is_loopback_host
from desktop_app.core.errors import PaletteError, UsageError
from desktop_app.core.palette.base import Palette
from desktop_app.core.palette.local import load_picture

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
    from openai.types.shared_params import ResponseFormatJSONSchema

log = logging.getLogger("huewall.palette")

PROMPT_VERSION = "prompt-v1"
"""Part of the identity: change it whenever the prompt or the schema changes."""

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
KEYLESS_API_KEY = "not-needed"
"""Sent to servers that need no key (Ollama...): the client insists on having one."""

MAX_IMAGE_SIDE = 1024
"""Long side, in pixels, of the JPEG sent to the model."""

_BACKOFF_START = 0.5  # seconds before the first retry without Retry-After; doubles, capped
_BACKOFF_MAX = 8.0

SYSTEM_PROMPT = (
    "You are a UI designer. You choose colours for a desktop whose wallpaper is the "
    "picture you are shown."
)
USER_PROMPT = """\
Choose a two-colour gradient for the border of the focused window, matching this wallpaper.
- gradient_from sits near the top of the screen (for example a bar) and must work as a \
background for black text: light enough for at least 4.5:1 contrast with #000000.
- gradient_to sits near the bottom of the screen.
- Both colours are vivid rather than grey or muddy, taken from or inspired by the picture, \
and harmonious with it without clashing.
- gradient_angle is a CSS angle in whole degrees, 0 to 359, that follows the picture's \
composition: 135 = top-left to bottom-right, 180 = top to bottom, 90 = left to right.
Reply with JSON only, no other text, in exactly this shape:
{"gradient_from": "#rrggbb", "gradient_to": "#rrggbb", "gradient_angle": 180}"""

PALETTE_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {
        "gradient_from": {
            "type": "string",
            "description": "#rrggbb, near the top, background for black text",
        },
        "gradient_to": {"type": "string", "description": "#rrggbb, near the bottom"},
        "gradient_angle": {"type": "integer", "description": "CSS angle in degrees, 0..359"},
    },
    "required": ["gradient_from", "gradient_to", "gradient_angle"],
    "additionalProperties": False,
}


@dataclass(frozen=True)
class AIConfig:
    """Where and how to ask. ``base_url`` None means OpenAI; ``api_key`` None means keyless."""

    base_url: str | None
    api_key: str | None = field(repr=False)
    model: str = DEFAULT_MODEL
    timeout: float = 45.0
    """Seconds for one request (connect, send, each read)."""
    max_retries: int = 1
    """Extra tries after a timeout, a lost connection, HTTP 429 or 5xx."""
    deadline: float = 110.0
    """Seconds for the whole analysis, every try and wait included."""

    def __post_init__(self) -> None:
        if self.base_url is not None:
            _check_base_url(self.base_url)
        if not self.model:
            raise UsageError("the AI model name must not be empty")
        if self.timeout <= 0 or self.deadline <= 0 or self.max_retries < 0:
            raise UsageError("AI timeout and deadline must be positive, max_retries not negative")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AIConfig | None:
        """Read ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` and ``HUEWALL_AI_MODEL``.

        Returns None when neither a key nor a base URL is set: Huewall then computes the
        palette locally. Empty values count as unset.
        """
        api_key = env.get("OPENAI_API_KEY", "").strip() or None
        base_url = env.get("OPENAI_BASE_URL", "").strip() or None
        if api_key is None and base_url is None:
            return None
        model = env.get("HUEWALL_AI_MODEL", "").strip() or DEFAULT_MODEL
        return cls(base_url=base_url, api_key=api_key, model=model)

    @property
    def endpoint(self) -> str:
        return self.base_url or DEFAULT_BASE_URL


def _check_base_url(base_url: str) -> None:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # Show the scheme only: a URL may carry credentials.
        shown = f"{parts.scheme}://..." if parts.scheme else "a URL without http(s)://"
        raise UsageError(f"OPENAI_BASE_URL must be an http:// or https:// URL, not {shown}")


def _host_label(base_url: str) -> str:
    """``host`` or ``host:port`` of a URL, without any user name or password."""
    parts = urlsplit(base_url)
    host = parts.hostname or base_url
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


_warned_unencrypted = False
_warned_lock = threading.Lock()


def warn_if_key_unencrypted(base_url: str | None, api_key: str | None) -> bool:
    """Log, once per process, that an API key goes over plain http to another machine.

    Silent for https, for loopback hosts and when there is no key. Returns whether it
    logged now. Never logs the key.
    """
    global _warned_unencrypted
    if base_url is None or api_key is None:
        return False
    parts = urlsplit(base_url)
    if parts.scheme != "http" or is_loopback_host(parts.hostname or ""):
        return False
    with _warned_lock:
        if _warned_unencrypted:
            return False
        _warned_unencrypted = True
    log.warning(
        "the API key is sent unencrypted over plain http to %s; use https for this endpoint",
        _host_label(base_url),
    )
    return True


def parse_palette_answer(text: str) -> Palette:
    """The palette in a model's answer: plain JSON, JSON in a code fence, or the first
    JSON object inside prose. Raises ``PaletteError`` for anything else.
    """
    answer = _first_json_object(text)
    if answer is None:
        raise PaletteError(
            f"the AI answer was not a valid palette: no JSON object in {_clip(text)}"
        )
    return palette_from_json(answer)


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first ``{...}`` in ``text`` that parses as a JSON object (covers code fences too)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def palette_from_json(answer: Mapping[str, Any]) -> Palette:
    """Validate a decoded answer: two ``#rrggbb`` colours (any case) and an angle 0..359."""
    invalid = "the AI answer was not a valid palette"
    colours: list[str] = []
    for name in ("gradient_from", "gradient_to"):
        value = answer.get(name)
        if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value.strip()):
            raise PaletteError(f"{invalid}: {name} is {_clip(repr(value))}, not #rrggbb")
        colours.append(value.strip().lower())
    angle = answer.get("gradient_angle")
    if isinstance(angle, float) and angle.is_integer():
        angle = int(angle)
    if isinstance(angle, bool) or not isinstance(angle, int) or not 0 <= angle <= 359:
        raise PaletteError(
            f"{invalid}: gradient_angle is {_clip(repr(angle))}, not an integer 0..359"
        )
    return Palette(colours[0], colours[1], angle)


def _clip(text: str, limit: int = 120) -> str:
    """One line, at most ``limit`` characters, for an error message."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def encode_picture(image_path: Path) -> str:
    """The picture as a ``data:image/jpeg;base64,...`` URL, long side at most 1024 px."""
    image = load_picture(image_path, MAX_IMAGE_SIDE)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


_T = TypeVar("_T")


class _DeadlinePassed(Exception):
    """A request was still running when the analysis deadline came."""


def _call_before(deadline: float, call: Callable[[], _T]) -> _T:
    """Run ``call`` in a helper thread; raise ``_DeadlinePassed`` if it is not done by
    ``deadline`` (a ``time.monotonic()`` value).

    httpx timeouts apply to each phase (connect, each read) rather than to the whole
    request, so a server that trickles bytes could otherwise overrun the deadline. The
    abandoned thread ends on its own at its next timeout.
    """
    done = threading.Event()
    result: list[_T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            result.append(call())
        except BaseException as exc:  # handed over to the caller below
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="huewall-ai-request", daemon=True).start()
    if not done.wait(max(0.0, deadline - time.monotonic())):
        raise _DeadlinePassed
    if failure:
        raise failure[0]
    return result[0]


class AIAnalyser:
    """Palette from an OpenAI-compatible vision model (Chat Completions)."""

    def __init__(self, config: AIConfig) -> None:
        self._config = config
        self._host = _host_label(config.endpoint)
        warn_if_key_unencrypted(config.base_url, config.api_key)

    @property
    def identity(self) -> str:
        return f"ai|{self._config.endpoint}|{self._config.model}|{PROMPT_VERSION}"

    @property
    def source(self) -> str:
        return "ai"

    @property
    def config(self) -> AIConfig:
        return self._config

    def analyse(self, image_path: Path) -> Palette:
        deadline = time.monotonic() + self._config.deadline
        image_url = encode_picture(image_path)
        client = self._make_client()
        abandoned = False
        try:
            completion = self._ask(client, image_url, deadline)
        except _DeadlinePassed:
            # A request thread still uses the client; closing its socket under it could
            # hand the descriptor number to someone else. It is closed when collected.
            abandoned = True
            raise self._timed_out() from None
        finally:
            if not abandoned:
                client.close()
        return parse_palette_answer(self._content(completion))

    def _make_client(self) -> OpenAI:
        """The one place that builds the client: endpoint, key, timeout and retries explicit.

        The client's own retries are off (``max_retries=0``): it would wait out a
        ``Retry-After`` of up to two minutes, past our deadline. ``_ask`` retries instead.
        """
        import openai  # lazy: importing it costs about a second

        return openai.OpenAI(
            base_url=self._config.endpoint,
            api_key=self._config.api_key or KEYLESS_API_KEY,
            timeout=self._config.timeout,
            max_retries=0,
        )

    def _ask(self, client: OpenAI, image_url: str, deadline: float) -> ChatCompletion:
        """Send the request, retrying within the deadline; map every failure to PaletteError."""
        import openai

        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": USER_PROMPT},
                    {"type": "image_url", "image_url": {"url": image_url, "detail": "low"}},
                ],
            },
        ]
        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": "palette", "strict": True, "schema": PALETTE_SCHEMA},
        }
        use_response_format = True
        retries_left = self._config.max_retries
        tries = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._timed_out()
            request = functools.partial(
                client.chat.completions.create,
                model=self._config.model,
                messages=messages,
                response_format=response_format if use_response_format else openai.omit,
                timeout=min(self._config.timeout, remaining),
            )
            tries += 1
            try:
                return _call_before(deadline, request)
            except openai.BadRequestError as exc:
                if use_response_format:
                    # Many compatible servers (and some models) reject json_schema; the
                    # prompt asks for JSON anyway, so try once without it.
                    log.info(
                        "%s rejected response_format (HTTP 400); retrying without it",
                        self._host,
                    )
                    use_response_format = False
                    continue
                raise self._error(exc) from None
            except (openai.APIConnectionError, openai.APIStatusError) as exc:
                wait = self._retry_wait(exc, tries)
                if wait is None or retries_left <= 0 or time.monotonic() + wait >= deadline:
                    raise self._error(exc, wait) from None
                retries_left -= 1
                log.info("%s; retrying in %.1f s", self._error(exc), wait)
                time.sleep(wait)
            except openai.OpenAIError as exc:
                raise self._error(exc) from None

    @staticmethod
    def _retry_wait(exc: Exception, tries: int) -> float | None:
        """Seconds to wait before trying again, or None if this failure is final."""
        import openai

        if isinstance(exc, openai.APIStatusError):
            if exc.status_code != 429 and exc.status_code < 500:
                return None
            if exc.code == "insufficient_quota":  # OpenAI: retrying will not help
                return None
            retry_after = _retry_after(exc.response.headers)
            if retry_after is not None:
                return retry_after
        return min(_BACKOFF_START * 2.0 ** (tries - 1), _BACKOFF_MAX)

    def _timed_out(self) -> PaletteError:
        return PaletteError(
            f"the AI endpoint {self._host} did not answer in time "
            f"(timeout {self._config.timeout:g} s, deadline {self._config.deadline:g} s)"
        )

    def _error(self, exc: Exception, wait: float | None = None) -> PaletteError:
        """A one-line, key-free message for a failed request."""
        import openai

        host = self._host
        if isinstance(exc, openai.APITimeoutError):
            return self._timed_out()
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__
            reason = _clip(str(cause) or type(cause).__name__) if cause else "connection error"
            return PaletteError(f"cannot connect to the AI endpoint {host}: {self._redact(reason)}")
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            detail = self._server_message(exc)
            if status in (401, 403):
                return PaletteError(
                    f"the AI endpoint {host} rejected the API key (HTTP {status}); "
                    "check OPENAI_API_KEY"
                )
            if status == 429:
                if exc.code == "insufficient_quota":
                    return PaletteError(
                        f"the AI endpoint {host} says the API key has no quota left"
                    )
                after = f", asks to wait {wait:g} s" if wait is not None else ""
                return PaletteError(
                    f"the AI endpoint {host} is rate limiting requests (HTTP 429{after}); "
                    "try again later"
                )
            if status >= 500:
                return PaletteError(f"the AI endpoint {host} had a server error (HTTP {status})")
            if status == 404:
                return PaletteError(
                    f"the AI endpoint {host} answered HTTP 404: unknown model "
                    f"{self._config.model!r} (set HUEWALL_AI_MODEL) or wrong OPENAI_BASE_URL"
                )
            return PaletteError(
                f"the AI endpoint {host} refused the request (HTTP {status}{detail})"
            )
        return PaletteError(f"the AI request to {host} failed: {type(exc).__name__}")

    def _server_message(self, exc: Exception) -> str:
        """``": <the server's message>"``, clipped and without the key, or ``""``."""
        body = getattr(exc, "body", None)
        message = body.get("message") if isinstance(body, dict) else body
        if not isinstance(message, str) or not message.strip():
            return ""
        return ": " + self._redact(_clip(message))

    def _redact(self, text: str) -> str:
        key = self._config.api_key
        return text.replace(key, "<api key>") if key else text

    def _content(self, completion: ChatCompletion) -> str:
        """The text of the first choice; a refusal or an odd shape is an invalid answer."""
        try:
            message = completion.choices[0].message
        except (AttributeError, IndexError, TypeError):
            raise PaletteError(
                f"the AI answer was not a valid palette: {self._host} sent no choices"
            ) from None
        content = getattr(message, "content", None)
        if not isinstance(content, str) or not content.strip():
            refusal = getattr(message, "refusal", None)
            why = f"the model refused: {_clip(refusal)}" if refusal else "the answer was empty"
            raise PaletteError(f"the AI answer was not a valid palette: {why}")
        return content


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds; HTTP dates are ignored)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            continue
        if seconds >= 0 and seconds == seconds and seconds != float("inf"):
            return seconds
    return None
