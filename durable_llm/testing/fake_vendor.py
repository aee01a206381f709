"""A fake OpenAI (Responses or Chat Completions), Anthropic or Gemini API on loopback, speaking its real wire format.

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
from durable_llm.providers.base import get_adapter

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

_PATHS = {
    "openai": re.compile(r"/v1/responses"),
    # Any prefix: /v1 (OpenAI, Ollama, vLLM), /api/v1 (OpenRouter), /openai/deployments/<name> (Azure), ...
    "openai_chat": re.compile(r"(?:/[^?]*)?/chat/completions"),
    "anthropic": re.compile(r"/v1/messages"),
    "gemini": re.compile(
        r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)"
    ),
}


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
    adapter could decode; a Gemini request gets the model named in its URL), `calls` (the
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
        self._adapter = get_adapter(provider)
        self._wire = self._adapter.name  # "ollama", "groq", ... speak "openai_chat"
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
        if self._wire == "openai_chat":
            return self._chat_env()
        if self.provider == "openai":
            return {"OPENAI_BASE_URL": f"{self.base_url}/v1", "OPENAI_API_KEY": "sk-fake-vendor-key"}
        if self.provider == "anthropic":
            return {"ANTHROPIC_BASE_URL": self.base_url, "ANTHROPIC_API_KEY": "sk-ant-fake-vendor-key"}
        return {"GOOGLE_GEMINI_BASE_URL": self.base_url, "GEMINI_API_KEY": "fake-vendor-key"}

    def _chat_env(self) -> dict[str, str]:
        """The variables of the Chat Completions service this server stands in for ("openai_chat", "ollama", ...)."""
        from durable_llm.providers.openai_chat.endpoints import ENDPOINTS

        if self.provider == "azure":
            return {"AZURE_OPENAI_ENDPOINT": self.base_url, "AZURE_OPENAI_API_KEY": "fake-vendor-key"}
        endpoint = ENDPOINTS[self.provider]
        env: dict[str, str] = {}
        if endpoint.base_url_variable:
            env[endpoint.base_url_variable] = self.base_url if self.provider == "ollama" else f"{self.base_url}/v1"
        if endpoint.api_key_variable:
            env[endpoint.api_key_variable] = "sk-fake-vendor-key"
        return env

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
        """Answer with HTTP `status` and, unless `body` is given, the vendor's error JSON for it.

        A Gemini 429 with a `Retry-After` header also carries the delay in the body's
        `RetryInfo`, where Gemini puts it.
        """
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
        route = _PATHS[self._wire].fullmatch(path.split("?", 1)[0])
        if route is None:
            return self._refuse(404, f"no {self.provider} endpoint at POST {path}")
        if not isinstance(body, dict):
            return self._refuse(400, "the request body is not a JSON object")
        if self.provider == "gemini":
            stream = route["method"] == "streamGenerateContent"
        else:
            stream = body.get("stream") is True
            body = {key: value for key, value in body.items() if key != "stream"}
        if self.provider == "anthropic" and (betas := kept.get("anthropic-beta")):
            # The transport sends `provider_options["anthropic"]["betas"]` as this header.
            body = {**body, "betas": betas.split(",")}
        try:
            request = self._adapter.decode_request(body)
        except ValueError as exc:
            return self._refuse(400, f"the adapter could not decode the request: {exc}")
        if request.model is None and "model" in route.groupdict():
            request = request.model_copy(update={"model": route["model"]})
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
        update: dict[str, Any] = {"provider": self._wire}
        if response.model is None:
            update["model"] = request.model
        if response.id is None:
            update["id"] = _new_id(self._wire)
        response = response.model_copy(update=update)
        try:
            if stream:
                body = self._adapter.encode_stream(response).encode()
            else:
                body = _json_bytes(self._adapter.encode_response(response))
        except ValueError as exc:
            return self._refuse(400, f"the adapter could not encode the scripted response: {exc}")
        with self._lock:
            self._served.append(response)
        content_type = {"Content-Type": "text/event-stream"} if stream else {}
        return _Answer(200, body, {**_request_id_header(self._wire), **content_type})

    def _fault_answer(self, fault: _Fault) -> _Answer:
        if fault.action == "drop":
            return _Answer(0, b"", {}, drop=True)
        if fault.action == "malformed":
            return _Answer(200, _BROKEN_BODY, _request_id_header(self._wire))
        body = fault.body
        if body is None:
            body = _error_body(self._wire, fault.status, None, fault.headers)
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else _json_bytes(body)
        return _Answer(fault.status, raw, {**_request_id_header(self._wire), **fault.headers})

    def _refuse(self, status: int, problem: str) -> _Answer:
        message = f"FakeVendorServer({self.provider!r}): {problem}"
        with self._lock:
            self._errors.append(message)
        return _Answer(status, _json_bytes(_error_body(self._wire, status, message, {})), {})


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


def _new_id(provider: str) -> str:
    if provider == "openai":
        return f"resp_{secrets.token_hex(24)}"
    if provider == "openai_chat":
        return f"chatcmpl-{secrets.token_hex(12)}"
    if provider == "anthropic":
        return f"msg_01{secrets.token_urlsafe(16).replace('-', 'A').replace('_', 'B')}"
    return secrets.token_urlsafe(16)


def _request_id_header(provider: str) -> dict[str, str]:
    name = {"openai": "x-request-id", "openai_chat": "x-request-id", "anthropic": "request-id"}.get(provider)
    return {name: f"req_{secrets.token_hex(12)}"} if name else {}


def _in_order(responses: Sequence[ModelResponse]) -> Callable[[ModelRequest], ModelResponse]:
    pending = deque(responses)
    total = len(pending)

    def next_response(request: ModelRequest) -> ModelResponse:
        try:
            return pending.popleft()
        except IndexError:
            raise LookupError(f"all {total} scripted responses were already served") from None

    return next_response


# Error bodies as each vendor's API reference documents them, by HTTP status.
_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", "model_not_found", "The requested model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM). Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}
_GEMINI_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


def _error_body(provider: str, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
    """The vendor's JSON error body for `status`, with its typical message unless `message` is given."""
    server_side = status >= 500
    if provider in ("openai", "openai_chat"):
        kind, code, typical = _OPENAI_ERRORS.get(
            status, ("server_error" if server_side else "invalid_request_error", None, f"HTTP {status}")
        )
        return {"error": {"message": message or typical, "type": kind, "param": None, "code": code}}
    if provider == "anthropic":
        kind, typical = _ANTHROPIC_ERRORS.get(
            status, ("api_error" if server_side else "invalid_request_error", f"HTTP {status}")
        )
        return {
            "type": "error",
            "error": {"type": kind, "message": message or typical},
            "request_id": f"req_{secrets.token_hex(12)}",
        }
    kind, typical = _GEMINI_ERRORS.get(status, ("INTERNAL" if server_side else "FAILED_PRECONDITION", f"HTTP {status}"))
    error: dict[str, Any] = {"code": status, "message": message or typical, "status": kind}
    retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
    if status == 429 and retry_after.isdigit():
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
    return {"error": error}
