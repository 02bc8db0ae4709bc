"""The AI analyser: the real ``openai`` client against the loopback stand-in server."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, ImageDraw

from desktop_app.core.errors import PaletteError, UsageError
from desktop_app.core.palette import ai
from desktop_app.core.palette.ai import (
    PROMPT_VERSION,
    AIAnalyser,
    AIConfig,
    is_loopback_host,
    parse_palette_answer,
    warn_if_key_unencrypted,
)
from desktop_app.core.palette.base import Palette, PaletteAnalyser
from tests.support.openai_server import FakeOpenAIServer

KEY = "sk-test-S3CRET-0123456789"
EXPECTED = Palette("#3a7bd5", "#d4793a", 135)


_OUTSIDE_SETTINGS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_CUSTOM_HEADERS",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing from the environment may route requests elsewhere or add headers."""
    for name in _OUTSIDE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.fixture
def picture(tmp_path: Path) -> Path:
    """A 1920x1080 JPEG: blue sky over orange sand."""
    image = Image.new("RGB", (1920, 1080), (90, 160, 230))
    ImageDraw.Draw(image).rectangle([0, 540, 1920, 1080], fill=(225, 140, 60))
    path = tmp_path / "wallpaper.jpg"
    image.save(path, quality=90)
    return path


def analyser(
    server: FakeOpenAIServer, *, timeout: float = 5.0, deadline: float = 10.0, max_retries: int = 1
) -> AIAnalyser:
    config = AIConfig(
        base_url=server.base_url,
        api_key=KEY,
        model="vision-test",
        timeout=timeout,
        deadline=deadline,
        max_retries=max_retries,
    )
    return AIAnalyser(config)


# -- configuration ------------------------------------------------------------------------


def test_from_env_without_key_or_url_means_local() -> None:
    assert AIConfig.from_env({}) is None
    assert AIConfig.from_env({"OPENAI_API_KEY": " ", "HUEWALL_AI_MODEL": "x"}) is None


def test_from_env_reads_the_three_variables() -> None:
    config = AIConfig.from_env(
        {
            "OPENAI_API_KEY": KEY,
            "OPENAI_BASE_URL": "https://llm.example/v1",
            "HUEWALL_AI_MODEL": "m",
        }
    )
    assert config == AIConfig(base_url="https://llm.example/v1", api_key=KEY, model="m")
    assert AIConfig.from_env({"OPENAI_API_KEY": KEY}) == AIConfig(None, KEY, "gpt-4o-mini")
    keyless = AIConfig.from_env({"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert keyless == AIConfig("http://localhost:11434/v1", None)


@pytest.mark.parametrize(
    "url", ["ftp://llm.example/v1", "llm.example/v1", "file:///tmp/x", "http://"]
)
def test_from_env_rejects_a_base_url_that_is_not_http(url: str) -> None:
    with pytest.raises(UsageError, match="OPENAI_BASE_URL must be an http") as info:
        AIConfig.from_env({"OPENAI_BASE_URL": url, "OPENAI_API_KEY": KEY})
    assert "\n" not in str(info.value)


def test_defaults_and_repr_hides_the_key() -> None:
    config = AIConfig(base_url=None, api_key=KEY)
    assert (config.model, config.timeout, config.max_retries, config.deadline) == (
        "gpt-4o-mini",
        45.0,
        1,
        110.0,
    )
    assert config.deadline < 120
    assert KEY not in repr(config)


def test_identity_and_source() -> None:
    default: PaletteAnalyser = AIAnalyser(AIConfig(base_url=None, api_key=KEY))
    assert default.identity == f"ai|https://api.openai.com/v1|gpt-4o-mini|{PROMPT_VERSION}"
    assert PROMPT_VERSION == "prompt-v1"
    assert default.source == "ai"
    local = AIAnalyser(AIConfig("http://127.0.0.1:8080/v1", None, "llava"))
    assert local.identity == "ai|http://127.0.0.1:8080/v1|llava|prompt-v1"


def test_importing_the_module_does_not_import_openai() -> None:
    code = "import sys, desktop_app.core.palette.ai; print('openai' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


# -- answers ------------------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_ok_sends_the_picture_and_returns_the_palette(
    server: FakeOpenAIServer, picture: Path
) -> None:
    server.gradient_from = "#3A7BD5"  # upper case is accepted and normalised
    assert analyser(server).analyse(picture) == EXPECTED
    assert server.count == 1
    body = server.last_body
    assert body["model"] == "vision-test"
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]
    assert schema["strict"] is True
    assert set(schema["schema"]["required"]) == {"gradient_from", "gradient_to", "gradient_angle"}
    (image,) = server.sent_images()
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (1024, 576)
    prompt = str(body["messages"])
    assert "black text" in prompt and "JSON" in prompt
    assert server.last_headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.timeout(30)
def test_small_pictures_are_not_enlarged_and_rgba_is_sent_as_rgb(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    path = tmp_path / "small.png"
    Image.new("RGBA", (300, 200), (10, 200, 90, 128)).save(path)
    analyser(server).analyse(path)
    (image,) = server.sent_images()
    assert image.size == (300, 200) and image.mode == "RGB"


@pytest.mark.timeout(30)
def test_a_keyless_server_gets_a_dummy_key(server: FakeOpenAIServer, picture: Path) -> None:
    AIAnalyser(AIConfig(base_url=server.base_url, api_key=None)).analyse(picture)
    assert server.last_headers["authorization"] == "Bearer not-needed"
    assert server.last_body["model"] == "gpt-4o-mini"


@pytest.mark.timeout(30)
def test_rejected_response_format_is_retried_once_without_it(
    server: FakeOpenAIServer, picture: Path
) -> None:
    server.mode = "reject_response_format"
    assert analyser(server).analyse(picture) == EXPECTED
    assert server.count == 2
    first, second = server.bodies
    assert "response_format" in first and "response_format" not in second
    assert first["messages"] == second["messages"]


@pytest.mark.timeout(30)
def test_a_400_without_response_format_is_final(server: FakeOpenAIServer, picture: Path) -> None:
    server.mode = "400"
    with pytest.raises(PaletteError, match=r"refused the request \(HTTP 400: Invalid") as info:
        analyser(server).analyse(picture)
    assert server.count == 2  # with response_format, then once without
    assert "for key <api key>." in str(info.value)  # the server echoed the key; we do not


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["prose", "fence"])
def test_json_inside_text_is_found(server: FakeOpenAIServer, picture: Path, mode: str) -> None:
    server.mode = mode
    assert analyser(server).analyse(picture) == EXPECTED
    assert server.count == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("mode", "detail"),
    [("garbage", "no JSON object"), ("invalid_colour", "gradient_from"), ("bad_angle", "400")],
)
def test_invalid_answers(server: FakeOpenAIServer, picture: Path, mode: str, detail: str) -> None:
    server.mode = mode
    with pytest.raises(PaletteError, match=r"^the AI answer was not a valid palette") as info:
        analyser(server).analyse(picture)
    assert detail in str(info.value)
    assert server.count == 1


ACCEPTED = [
    ('{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": 135}', EXPECTED),
    ('{"gradient_from":"#3A7BD5","gradient_to":"#D4793A","gradient_angle":135.0}', EXPECTED),
    (
        '```json\n{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": 0}\n```',
        Palette("#3a7bd5", "#d4793a", 0),
    ),
    (
        'Sure {not json} here: {"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", '
        '"gradient_angle": 359, "why": "a {brace} in a string"} Enjoy!',
        Palette("#3a7bd5", "#d4793a", 359),
    ),
]


@pytest.mark.parametrize(("text", "palette"), ACCEPTED)
def test_parse_accepts(text: str, palette: Palette) -> None:
    assert parse_palette_answer(text) == palette


@pytest.mark.parametrize(
    "text",
    [
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": 400}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": -5}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": "abc"}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": true}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": 135.5}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a", "gradient_angle": null}',
        '{"gradient_from": "#3a7bd5", "gradient_to": "#d4793a"}',
        '{"gradient_from": "#3a7bd", "gradient_to": "#d4793a", "gradient_angle": 90}',
        '{"gradient_from": "3a7bd5", "gradient_to": "#d4793a", "gradient_angle": 90}',
        '{"gradient_from": "#3a7bd5", "gradient_to": 12, "gradient_angle": 90}',
        '["#3a7bd5", "#d4793a", 90]',
        "",
        "{",
        "I like turtles.",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(PaletteError, match=r"^the AI answer was not a valid palette") as info:
        parse_palette_answer(text)
    assert "\n" not in str(info.value)


# -- failures -----------------------------------------------------------------------------


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["401", "400", "500", "garbage"])
def test_the_key_never_shows(
    server: FakeOpenAIServer, picture: Path, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the openai client's included
    server.mode = mode
    with pytest.raises(PaletteError) as info:
        analyser(server, max_retries=0).analyse(picture)
    assert KEY not in str(info.value)
    assert KEY not in caplog.text
    assert caplog.records  # the capture did see the client's logging


@pytest.mark.timeout(30)
def test_a_rejected_key(server: FakeOpenAIServer, picture: Path) -> None:
    server.mode = "401"
    with pytest.raises(PaletteError) as info:
        analyser(server).analyse(picture)
    port = urlsplit(server.base_url).port
    assert str(info.value) == (
        f"the AI endpoint 127.0.0.1:{port} rejected the API key (HTTP 401); check OPENAI_API_KEY"
    )
    assert server.count == 1  # not retried


@pytest.mark.timeout(30)
def test_retry_after_is_honoured(server: FakeOpenAIServer, picture: Path) -> None:
    server.retry_after = "1"  # longer than the 0.5 s back-off used without Retry-After
    server.queue_modes("429")
    start = time.monotonic()
    assert analyser(server).analyse(picture) == EXPECTED
    assert time.monotonic() - start >= 1.0
    assert server.count == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize("retries", [0, 2])
def test_rate_limited_to_the_end(server: FakeOpenAIServer, picture: Path, retries: int) -> None:
    server.mode, server.retry_after = "429", "0.05"
    with pytest.raises(PaletteError, match=r"is rate limiting requests \(HTTP 429"):
        analyser(server, max_retries=retries).analyse(picture)
    assert server.count == 1 + retries


@pytest.mark.timeout(30)
def test_retry_after_beyond_the_deadline_fails_at_once(
    server: FakeOpenAIServer, picture: Path
) -> None:
    server.mode, server.retry_after = "429", "3600"
    start = time.monotonic()
    with pytest.raises(PaletteError, match="asks to wait 3600 s"):
        analyser(server, deadline=5.0).analyse(picture)
    assert time.monotonic() - start < 2.0
    assert server.count == 1


@pytest.mark.timeout(30)
@pytest.mark.parametrize("retries", [0, 1])
def test_server_errors(server: FakeOpenAIServer, picture: Path, retries: int) -> None:
    server.mode = "500"
    with pytest.raises(PaletteError, match=r"had a server error \(HTTP 500\)$"):
        analyser(server, max_retries=retries).analyse(picture)
    assert server.count == 1 + retries


@pytest.mark.timeout(30)
def test_a_server_error_then_success(server: FakeOpenAIServer, picture: Path) -> None:
    server.queue_modes("500")
    assert analyser(server).analyse(picture) == EXPECTED
    assert server.count == 2


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("timeout", "deadline"), [(0.3, 1.0), (30.0, 0.8)])
def test_a_hanging_server_ends_within_the_deadline(
    server: FakeOpenAIServer, picture: Path, timeout: float, deadline: float
) -> None:
    server.mode = "hang"
    start = time.monotonic()
    with pytest.raises(PaletteError, match=r"^the AI endpoint 127\.0\.0\.1:\d+ did not answer"):
        analyser(server, timeout=timeout, deadline=deadline).analyse(picture)
    elapsed = time.monotonic() - start
    assert deadline * 0.5 <= elapsed < deadline + 0.5
    assert 1 <= server.count <= 2


@pytest.mark.timeout(30)
def test_a_trickling_server_ends_within_the_deadline(
    server: FakeOpenAIServer, picture: Path
) -> None:
    """Each read arrives within the timeout, so only the overall deadline can end it."""
    server.mode = "trickle"
    start = time.monotonic()
    with pytest.raises(PaletteError, match="did not answer in time"):
        analyser(server, timeout=0.3, deadline=1.0).analyse(picture)
    assert time.monotonic() - start < 1.5
    assert server.count == 1


@pytest.mark.timeout(30)
def test_a_hanging_request_answers_once_released(server: FakeOpenAIServer, picture: Path) -> None:
    server.mode = "hang"
    results: list[Palette] = []
    worker = threading.Thread(target=lambda: results.append(analyser(server).analyse(picture)))
    worker.start()
    assert server.request_arrived.wait(10)
    assert not results
    server.release()
    worker.join(10)
    assert results == [EXPECTED]


@pytest.mark.timeout(30)
def test_nobody_listening(picture: Path) -> None:
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = AIConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(PaletteError, match=f"^cannot connect to the AI endpoint 127.0.0.1:{port}"):
        AIAnalyser(config).analyse(picture)


@pytest.mark.timeout(30)
def test_an_unreadable_picture_sends_nothing(server: FakeOpenAIServer, tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"\xff\xd8 not really")
    with pytest.raises(PaletteError, match=r"^cannot read the picture"):
        analyser(server).analyse(path)
    assert server.count == 0


# -- plain http warning (nothing here connects anywhere) ----------------------------------


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ai, "_warned_unencrypted", False)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == "huewall.palette" and r.levelno == logging.WARNING
    ]


@pytest.mark.usefixtures("fresh_warning")
def test_plain_http_to_another_host_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="huewall.palette")
    config = AIConfig(base_url="http://192.0.2.1:9/v1", api_key=KEY)
    AIAnalyser(config)  # constructing it warns; it never connects
    AIAnalyser(config)
    assert not warn_if_key_unencrypted("http://192.0.2.7/v1", KEY)
    (record,) = _warnings(caplog)
    assert "unencrypted" in record.getMessage() and "192.0.2.1:9" in record.getMessage()
    assert KEY not in caplog.text


@pytest.mark.usefixtures("fresh_warning")
@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://127.0.0.1:11434/v1", KEY),
        ("http://127.8.9.10/v1", KEY),
        ("http://[::1]:8080/v1", KEY),
        ("http://localhost:1234/v1", KEY),
        ("http://LOCALHOST./v1", KEY),
        ("https://192.0.2.1/v1", KEY),
        ("http://192.0.2.1/v1", None),
        (None, KEY),
    ],
)
def test_no_warning_for_loopback_https_or_no_key(
    caplog: pytest.LogCaptureFixture, url: str | None, key: str | None
) -> None:
    caplog.set_level(logging.DEBUG, logger="huewall.palette")
    assert not warn_if_key_unencrypted(url, key)
    assert not _warnings(caplog)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.255.0.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("128.0.0.1", False),
        ("192.0.2.1", False),
        ("localhost.example", False),
        ("::2", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
