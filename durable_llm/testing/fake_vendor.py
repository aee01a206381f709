"""A fake vendor API on loopback, speaking the vendor's real wire format (each provider's `server` module).

Point the vendor's own SDK at it (`server.env()`) and your agent runs unchanged, in this
process or in a separate worker process: every request is decoded into a neutral
`ModelRequest` and recorded, every answer is a scripted neutral `ModelResponse` encoded the
way the vendor would send it (as a server-sent event stream when the call asks to stream),
and faults (429s, dropped connections, slow or broken answers) can be queued for chosen calls.

    server = FakeVendorServer("anthropic", responses=[
        call_tools(("get_weather", {"city": "Paris"})),
        reply("It is sunny in Paris."),
    ])
    server.fail(429, headers={"Retry-After": "7"})   # the first call is rate limited
    with server:
        os.environ.update(server.env())
        ...                                           # run the agent
    assert server.requests[-1].messages[-1].role == "tool"
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast

from durable_llm.conversation import Message, ModelRequest, ModelResponse, TextPart, ToolCallPart, Usage
from durable_llm.providers._serving import get_server

Script = Sequence[ModelResponse] | Callable[[ModelRequest], ModelResponse]
"""The answers a fake server gives: served in order, or computed from each decoded request."""

SCRIPTED = "scripted"
"""The `provider` of responses built by `reply` and `call_tools`; the server puts its own in."""


def reply(text: str, *, usage: Usage | None = None) -> ModelResponse:
    """A final answer: one assistant text part, stop reason `end_turn`."""
    return ModelResponse(
        provider=SCRIPTED,
        message=Message(role="assistant", parts=(TextPart(text=text),)),
        usage=usage or Usage(),
        stop_reason="end_turn",
    )


def call_tools(
    *calls: tuple[str, Any] | ToolCallPart, text: str | None = None, usage: Usage | None = None
) -> ModelResponse:
    """The model asking for tools, in order: each call is `(name, arguments)` or a `ToolCallPart`.

    Calls get fresh ids valid for every vendor (`call_` + 24 hex digits); `text`, if given,
    comes before the calls, as models often say what they are about to do.
    """
    parts: list[TextPart | ToolCallPart] = [TextPart(text=text)] if text is not None else []
    for call in calls:
        if isinstance(call, ToolCallPart):
            parts.append(call)
            continue
        name, arguments = call
        parts.append(
            ToolCallPart(
                id=f"call_{secrets.token_hex(12)}",
                name=name,
                arguments_raw=json.dumps(arguments, separators=(",", ":")),
                arguments=arguments,
            )
        )
    return ModelResponse(
        provider=SCRIPTED,
        message=Message(role="assistant", parts=tuple(parts)),
        usage=usage or Usage(),
        stop_reason="tool_calls",
    )


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request as the fake server received it (authentication headers removed from `headers`)."""

    path: str
    headers: dict[str, str]
    body: Any
    api_key: str | None = None
    """The credential it carried (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key` or `api-key`)."""


@dataclass(frozen=True)
class _Fault:
    action: Literal["fail", "delay", "drop", "malformed"]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0


_AUTH_HEADERS = frozenset({"authorization", "x-api-key", "x-goog-api-key", "api-key"})


def _api_key(headers: Mapping[str, str]) -> str | None:
    found = {k.lower(): v for k, v in headers.items() if k.lower() in _AUTH_HEADERS}
    for name in ("x-api-key", "x-goog-api-key", "api-key"):
        if name in found:
            return found[name]
    return found["authorization"].removeprefix("Bearer ") if "authorization" in found else None


_BROKEN_BODY = b'{"id": "cut_short", "output": [{"type": "message", "content": [{"type": "output_te'


class FakeVendorServer:
    """A vendor API on 127.0.0.1 (a free port), served from a background thread.

    `responses` is the script: a list of `ModelResponse` served in order (`reply(...)`,
    `call_tools(...)`), or a function from the decoded `ModelRequest` to the response.
    Each served response gets the server's provider, the request's model if it names none,
    and a vendor-style id if it has none; `served` holds them as sent.

    Records, in arrival order: `raw_requests` (every request), `requests` (every one the
    adapter could decode, with the model the URL names if the body does not), `calls` (the
    count) and `errors` (what the server refused to answer, e.g. a script run dry, which it
    answers with a 400 so the caller fails instead of retrying). Faults (`fail`, `delay`,
    `drop_connection`, `malformed`) apply to the next calls, or from call number `at`
    (1-based), for `times` calls; a faulted call consumes no scripted response. Safe to use
    from any thread. A streamed answer's events go out `event_interval` seconds apart, as a model
    writing them would send them.
    """

    def __init__(self, provider: str, responses: Script = (), *, event_interval: float = 0.0) -> None:
        self.provider = provider
        self.event_interval = event_interval
        self._server = get_server(provider)
        self._script = responses if callable(responses) else _in_order(responses)
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._faults: dict[int, _Fault] = {}
        self._calls = 0
        self._requests: list[ModelRequest] = []
        self._raw_requests: list[RawRequest] = []
        self._served: list[ModelResponse] = []
        self._errors: list[str] = []
        self._httpd: _HTTPServer | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeVendorServer:
        """Start listening (idempotent); returns the server so `FakeVendorServer(...).start()` reads well."""
        if self._httpd is None:
            self._httpd = _HTTPServer(self)
            threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-vendor", daemon=True
            ).start()
        return self

    def close(self) -> None:
        """Stop listening and wake any delayed answer; recorded requests stay readable."""
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    def __enter__(self) -> FakeVendorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> FakeVendorServer:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.close)

    # -- where it is ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, the server's root (the SDKs add the vendor's paths)."""
        if self._httpd is None:
            raise RuntimeError("the fake server is not started: use start(), `with` or `async with`")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The environment variables that point the vendor's SDK here, with a dummy API key."""
        return self._server.client_environment(self.base_url)

    # -- what happened --------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """How many HTTP requests arrived, faulted ones included."""
        with self._lock:
            return self._calls

    @property
    def requests(self) -> list[ModelRequest]:
        """The requests received, decoded by the provider's adapter."""
        with self._lock:
            return list(self._requests)

    @property
    def raw_requests(self) -> list[RawRequest]:
        """The requests received, as path, headers (no credentials) and JSON body."""
        with self._lock:
            return list(self._raw_requests)

    @property
    def served(self) -> list[ModelResponse]:
        """The scripted responses sent, as completed by the server (provider, model, id)."""
        with self._lock:
            return list(self._served)

    @property
    def errors(self) -> list[str]:
        """Why the server refused calls: unknown path, undecodable body, script run dry or raising."""
        with self._lock:
            return list(self._errors)

    # -- faults ---------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        times: int = 1,
        at: int | None = None,
    ) -> None:
        """Answer with HTTP `status` and, unless `body` is given, the vendor's error JSON for it
        (carrying a `Retry-After` delay where the vendor's body does)."""
        self._queue(_Fault("fail", status=status, headers=dict(headers or {}), body=body), times, at)

    def delay(self, seconds: float, *, times: int = 1, at: int | None = None) -> None:
        """Answer normally, but only after `seconds` (to exercise timeouts and heartbeats)."""
        self._queue(_Fault("delay", seconds=seconds), times, at)

    def drop_connection(self, *, times: int = 1, at: int | None = None) -> None:
        """Read the request, then close the socket without answering."""
        self._queue(_Fault("drop"), times, at)

    def malformed(self, *, times: int = 1, at: int | None = None) -> None:
        """Answer 200 with a JSON body cut short."""
        self._queue(_Fault("malformed"), times, at)

    def _queue(self, fault: _Fault, times: int, at: int | None) -> None:
        with self._lock:
            number = at if at is not None else self._calls + 1
            for _ in range(times):
                while at is None and number in self._faults:
                    number += 1
                self._faults[number] = fault
                number += 1

    # -- serving (called on the server's threads) -----------------------------------------

    def _answer(self, path: str, headers: Mapping[str, str], raw_body: bytes) -> _Answer:
        """What to send back for one request, after recording it."""
        try:
            body = json.loads(raw_body)
        except ValueError:
            body = raw_body.decode(errors="replace")
        kept = {k.lower(): v for k, v in headers.items() if k.lower() not in _AUTH_HEADERS}
        with self._lock:
            self._calls += 1
            fault = self._faults.pop(self._calls, None)
            self._raw_requests.append(RawRequest(path=path, headers=kept, body=body, api_key=_api_key(headers)))
        if not self._server.endpoint(path.split("?", 1)[0]):
            return self._refuse(404, f"no {self.provider} endpoint at POST {path}")
        if not isinstance(body, dict):
            return self._refuse(400, "the request body is not a JSON object")
        try:
            served = self._server.decode_request(path, kept, body)
        except ValueError as exc:
            return self._refuse(400, f"the adapter could not decode the request: {exc}")
        request, stream = served.request, served.stream
        with self._lock:
            self._requests.append(request)
        if fault is not None and fault.action != "delay":
            return self._fault_answer(fault)
        if fault is not None:
            self._closing.wait(fault.seconds)
        return self._scripted_answer(request, stream)

    def _scripted_answer(self, request: ModelRequest, stream: bool) -> _Answer:
        try:
            response = self._script(request)
        except Exception as exc:
            return self._refuse(400, f"the script gave no response: {type(exc).__name__}: {exc}")
        update: dict[str, Any] = {"provider": self._server.name}  # "ollama", "groq", ... speak "openai_chat"
        if response.model is None:
            update["model"] = request.model
        if response.id is None:
            update["id"] = self._server.new_response_id()
        response = response.model_copy(update=update)
        try:
            if stream:
                body = self._server.encode_stream(response).encode()
            else:
                body = _json_bytes(self._server.encode_response(response))
        except ValueError as exc:
            return self._refuse(400, f"the adapter could not encode the scripted response: {exc}")
        with self._lock:
            self._served.append(response)
        content_type = {"Content-Type": "text/event-stream"} if stream else {}
        return _Answer(200, body, {**self._server.answer_headers(), **content_type})

    def _fault_answer(self, fault: _Fault) -> _Answer:
        if fault.action == "drop":
            return _Answer(0, b"", {}, drop=True)
        if fault.action == "malformed":
            return _Answer(200, _BROKEN_BODY, self._server.answer_headers())
        body = fault.body
        if body is None:
            body = self._server.error_body(fault.status, None, fault.headers)
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else _json_bytes(body)
        return _Answer(fault.status, raw, {**self._server.answer_headers(), **fault.headers})

    def _refuse(self, status: int, problem: str) -> _Answer:
        message = f"FakeVendorServer({self.provider!r}): {problem}"
        with self._lock:
            self._errors.append(message)
        return _Answer(status, _json_bytes(self._server.error_body(status, message, {})), {})


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]
    drop: bool = False


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Handler threads end with their single request (no keep-alive), so none is left to join.
    block_on_close = False

    def __init__(self, fake: FakeVendorServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fake = cast(_HTTPServer, self.server).fake
        answer = fake._answer(self.path, dict(self.headers.items()), raw)
        # One request per connection: no idle keep-alive socket can outlive the server and
        # answer for it after a new server reuses the port.
        self.close_connection = True
        try:
            if answer.drop:
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(answer.status)
            for name, value in {"Content-Type": "application/json", **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            # A stream goes out event by event, so a client sees its pieces arrive one at a time.
            interval = fake.event_interval if answer.headers.get("Content-Type") == "text/event-stream" else 0
            for event in re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", answer.body):
                self.wfile.write(event)
                self.wfile.flush()
                if fake._closing.wait(interval):
                    return
        except OSError:
            pass  # the client gave up (its timeout fired during a delay): nobody to answer

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a test's output is not the place for an access log."""


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


def _in_order(responses: Sequence[ModelResponse]) -> Callable[[ModelRequest], ModelResponse]:
    pending = deque(responses)
    total = len(pending)

    def next_response(request: ModelRequest) -> ModelResponse:
        try:
            return pending.popleft()
        except IndexError:
            raise LookupError(f"all {total} scripted responses were already served") from None

    return next_response
