"""The AI palette through the service and the CLI, with the local palette as the fallback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from desktop_app.core.models import DaysAgo
from desktop_app.core.palette.ai import AIAnalyser, AIConfig
from desktop_app.core.service import WallpaperService
from tests.conftest import TEST_KEY
from tests.support.bing_server import BingStandIn
from tests.support.openai_server import FakeOpenAIServer

Make = Callable[..., WallpaperService]
RES = "1366x768"


def _ai(server: FakeOpenAIServer, **overrides: float) -> AIAnalyser:
    config = AIConfig(
        base_url=server.base_url,
        api_key=TEST_KEY,
        model="test-vision",
        timeout=overrides.get("timeout", 5.0),
        deadline=overrides.get("deadline", 10.0),
    )
    return AIAnalyser(config)


def test_the_ai_palette_is_made_once_and_kept(
    bing: BingStandIn, openai_server: FakeOpenAIServer, make_service: Make
) -> None:
    answer = make_service(analyser=_ai(openai_server)).get("en-US", DaysAgo(0), RES)
    assert answer.palette.source == "ai"
    assert answer.palette.palette.to_dict() == {
        "gradient_from": "#3a7bd5",
        "gradient_to": "#d4793a",
        "gradient_angle": 135,
    }
    assert make_service(analyser=_ai(openai_server)).get("en-US", DaysAgo(0), RES) == answer
    assert openai_server.count == 1
    assert openai_server.last_body["model"] == "test-vision"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("500", "HTTP 500"),
        ("garbage", "not a valid palette"),
        ("invalid_colour", "not a valid palette"),
        ("401", "rejected the API key"),
    ],
)
def test_a_failed_ai_call_falls_back_to_the_local_palette_and_is_asked_again(
    bing: BingStandIn,
    openai_server: FakeOpenAIServer,
    make_service: Make,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    reason: str,
) -> None:
    openai_server.mode = mode
    service = make_service(analyser=_ai(openai_server))
    with caplog.at_level(logging.WARNING, logger="huewall"):
        fallback = service.get("en-US", DaysAgo(0), RES)
    assert fallback.palette.source == "local"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and reason in warnings[0]
    assert "using the local palette" in warnings[0]
    assert TEST_KEY not in caplog.text
    failed_calls = openai_server.count
    # The fallback is not kept as if it were the AI's answer: the next get asks again.
    assert service.store.load_palette(fallback.stored.sha256, service.analyser.identity) is None
    openai_server.mode = "ok"
    answer = service.get("en-US", DaysAgo(0), RES)
    assert answer.palette.source == "ai"
    assert openai_server.count == failed_calls + 1
    assert answer.image_path == fallback.image_path


@pytest.mark.timeout(60)
def test_a_silent_ai_server_ends_in_the_local_palette_within_its_deadline(
    bing: BingStandIn, openai_server: FakeOpenAIServer, make_service: Make
) -> None:
    openai_server.mode = "hang"
    try:
        answer = make_service(analyser=_ai(openai_server, timeout=1.0, deadline=2.0)).get(
            "en-US", DaysAgo(0), RES
        )
    finally:
        openai_server.release()
    assert answer.palette.source == "local"


def test_cli_uses_the_ai_from_the_environment(
    bing: BingStandIn, openai_server: FakeOpenAIServer
) -> None:
    run = [sys.executable, "-m", "desktop_app", "fetch", "-r", RES, "--json"]
    result = subprocess.run(
        run, capture_output=True, text=True, timeout=60, env=os.environ, check=False
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["palette_source"] == "ai" and data["colors"]["gradient_from"] == "#3a7bd5"
    assert openai_server.last_headers["authorization"] == f"Bearer {TEST_KEY}"

    openai_server.mode = "401"
    result = subprocess.run(
        [*run, "--days-ago", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["palette_source"] == "local"
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("huewall: warning: AI palette failed")
    assert "rejected the API key" in result.stderr and TEST_KEY not in result.stderr
