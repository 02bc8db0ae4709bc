"""An OpenAI-compatible stand-in for tests: Chat Completions on a loopback port.

Answers in the real Chat Completions shape, so the real ``openai`` client parses it.
``mode`` decides the answer (see ``MODES``); ``queue_modes`` scripts the next few.
Everything it receives is kept for assertions.

    with FakeOpenAIServer(mode="prose") as server:
        AIAnalyser(AIConfig(base_url=server.base_url, api_key="k")).analyse(path)
        assert server.count == 1
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

MODES = (
    "ok",  # a valid palette as strict JSON
    "reject_response_format",  # HTTP 400 when the body has response_format, else "ok"
    "prose",  # the JSON inside chatty text (after a brace that is not JSON)
    "fence",  # the JSON in a ```json code fence
    "garbage",  # text with no JSON at all
    "invalid_colour",  # gradient_from is "blue"
    "bad_angle",  # gradient_angle is 400
    "400",  # HTTP 400 whatever the body; the message echoes the key, as some gateways do
    "401",  # invalid API key (the body echoes the key, as some servers do)
    "429",  # rate limited, with Retry-After: ``retry_after`` unless that is None
    "500",  # server error
    "hang",  # never answers until release() or stop()
    "trickle",  # sends headers, then a byte now and then, never finishing, until stop()
)


class FakeOpenAIServer:
    """``POST /v1/chat/completions`` on 127.0.0.1, a random port, in a daemon thread."""

    def __init__(
        self,
        mode: str = "ok",
        *,
        gradient_from: str = "#3a7bd5",
        gradient_to: str = "#d4793a",
        gradient_angle: int = 135,
        retry_after: str | None = "1",
    ) -> None:
        self.mode = mode
        self.gradient_from = gradient_from
        self.gradient_to = gradient_to
        self.gradient_angle = gradient_angle
        self.retry_after = retry_after
        self.request_arrived = threading.Event()
        """Set when a request arrives (wait on it instead of sleeping)."""
        self._lock = threading.Lock()
        self._queued: list[str] = []
        self._bodies: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._release = threading.Event()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            # A short poll interval makes stop() quick.
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging requests are let go (without an answer) first."""
        self._stopping.set()
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()  # joins the request threads, none of which waits now
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def release(self) -> None:
        """Let hanging requests go on and answer (as in mode "ok")."""
        self._release.set()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    # -- scripting and inspection --------------------------------------------------------

    def queue_modes(self, *modes: str) -> None:
        """Answer the next requests in these modes, then go back to ``mode``."""
        for mode in modes:
            _check_mode(mode)
        with self._lock:
            self._queued.extend(modes)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._bodies)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._bodies)

    @property
    def headers(self) -> list[dict[str, str]]:
        """Request headers, names in lower case."""
        with self._lock:
            return list(self._headers)

    @property
    def last_body(self) -> dict[str, Any]:
        return self.bodies[-1]

    @property
    def last_headers(self) -> dict[str, str]:
        return self.headers[-1]

    def sent_images(self, index: int = -1) -> Iterator[Image.Image]:
        """Decode every ``data:`` image URL in request ``index``."""
        for message in self.bodies[index].get("messages", []):
            content = message.get("content")
            if not isinstance(content, list):
                continue
            for part in content:
                if part.get("type") != "image_url":
                    continue
                url = part["image_url"]["url"]
                header, _, data = url.partition(",")
                assert header == "data:image/jpeg;base64", header
                image = Image.open(io.BytesIO(base64.b64decode(data)))
                image.load()
                yield image

    # -- answering -------------------------------------------------------------------------

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> str:
        with self._lock:
            self._bodies.append(body)
            self._headers.append(headers)
            mode = self._queued.pop(0) if self._queued else self.mode
        self.request_arrived.set()
        return mode

    def _palette_json(self, **changes: object) -> str:
        palette: dict[str, object] = {
            "gradient_from": self.gradient_from,
            "gradient_to": self.gradient_to,
            "gradient_angle": self.gradient_angle,
        }
        palette.update(changes)
        return json.dumps(palette)

    def _answer(
        self, mode: str, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict[str, Any]] | None:
        """(status, extra headers, JSON body) for a request, or None to answer nothing."""
        _check_mode(mode)
        if mode == "hang":
            self._release.wait()
            if self._stopping.is_set():
                return None
            mode = "ok"
        if mode == "trickle":
            return None  # the handler trickles (see Handler.do_POST)
        if mode == "reject_response_format":
            if "response_format" in body:
                return (
                    400,
                    {},
                    _error(
                        "Invalid parameter: 'response_format' of type 'json_schema' is not "
                        "supported with this model.",
                        "invalid_request_error",
                        param="response_format",
                    ),
                )
            mode = "ok"
        key = headers.get("authorization", "").removeprefix("Bearer ")
        if mode == "400":
            return (
                400,
                {},
                _error(
                    f"Invalid content type for key {key}. image_url is only supported by "
                    "certain models.",
                    "invalid_request_error",
                    param="messages",
                ),
            )
        if mode == "401":
            return (
                401,
                {},
                _error(
                    f"Incorrect API key provided: {key}.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        if mode == "429":
            extra = {} if self.retry_after is None else {"Retry-After": self.retry_after}
            return 429, extra, _error("Rate limit reached.", "requests", "rate_limit_exceeded")
        if mode == "500":
            return 500, {}, _error("The server had an error.", "server_error")
        content = {
            "ok": self._palette_json(),
            "prose": (
                "Looking at the picture {a calm beach} I would pick this palette: "
                f"{self._palette_json()} It follows the horizon."
            ),
            "fence": f"Here you go:\n```json\n{self._palette_json()}\n```\n",
            "garbage": "I like turtles.",
            "invalid_colour": self._palette_json(gradient_from="blue"),
            "bad_angle": self._palette_json(gradient_angle=400),
        }[mode]
        return 200, {}, _completion(str(body.get("model", "")), content)


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; one of {', '.join(MODES)}")


def _error(
    message: str, kind: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _completion(model: str, content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def _handler_for(fake: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no thread idles on a kept-alive socket.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {}, _error(f"no route {self.path}", "invalid_request_error"))
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, {}, _error("body is not JSON", "invalid_request_error"))
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            mode = fake._record(body, headers)
            if mode == "trickle":
                self._trickle()
                return
            answer = fake._answer(mode, body, headers)
            if answer is not None:
                self._send(*answer)

        def _trickle(self) -> None:
            """Keep each read well inside any timeout without ever finishing the body."""
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                while not fake._stopping.wait(0.05):
                    self.wfile.write(b" ")
                    self.wfile.flush()
            except OSError:
                pass

        def _send(self, status: int, extra: dict[str, str], payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout test): nothing to tell it

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
