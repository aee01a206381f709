"""Send a neutral `ModelRequest` to a vendor through its official async SDK and read the answer back.

The body on the wire is exactly what the provider's adapter encodes: each SDK's generic raw
call posts it unchanged (no SDK model drops or renames a field), and the raw response bytes
go to the adapter's `decode_response`. SDK retries are off, so the caller (the Temporal
activity's retry policy) is the only retry layer, and every failure arrives as a classified
`ProviderError`.

Given an `on_text` listener, the call streams instead (each vendor's server-sent events): the
listener gets the answer text as it arrives, and the events fold into the same `ModelResponse`.

Credentials and base URLs come only from the worker's environment, through each SDK's
standard variables: `OPENAI_API_KEY` / `OPENAI_BASE_URL`, `ANTHROPIC_API_KEY` (or
`ANTHROPIC_AUTH_TOKEN`) / `ANTHROPIC_BASE_URL`, `GEMINI_API_KEY` or `GOOGLE_API_KEY` /
`GOOGLE_GEMINI_BASE_URL` (and `GOOGLE_GENAI_API_VERSION`). Vendor SDKs are imported on first
use, never at module import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from durable_llm.backoff import VENDOR_BACKOFF
from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers._wire import sse_events
from durable_llm.providers.base import Adapter, MalformedBody, get_adapter
from durable_llm.providers.errors import AuthenticationFailed, ProviderError, ServerError, Timeout

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for a vendor's whole answer (streamed or not): reasoning models think for minutes."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open the connection: a vendor that cannot be reached fails fast and is retried."""

ENVIRONMENT: dict[str, tuple[str, ...]] = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"),
    "gemini": ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION"),
}
"""The environment variables each vendor's SDK client is configured from; a change makes a new client."""


async def call_vendor(
    request: ModelRequest,
    *,
    provider: str,
    timeout: float = DEFAULT_TIMEOUT,
    on_text: Callable[[str], None] | None = None,
) -> ModelResponse:
    """Send `request` to `provider` ("openai", "anthropic" or "gemini") and decode its answer.

    With `on_text`, the answer streams in and `on_text` gets each piece of its text on arrival;
    the response returned is the one a call without it would give.

    Waits first while the vendor has asked this account to wait for this model
    (`durable_llm.backoff`). Raises a `ProviderError` subclass for every failure: the vendor's
    classified error (`RateLimited` with `retry_after`, `AuthenticationFailed`, ...), `Timeout`
    when the call took longer than `timeout` seconds, `ServerError` when the connection dropped or the
    vendor answered a body the adapter cannot read, and `AuthenticationFailed` naming the
    environment variable to set when the worker has no API key.
    """
    adapter = get_adapter(provider)
    body = adapter.encode_request(request)
    send = _SENDERS[provider]
    account = (*_account(provider), request.model or "")
    await VENDOR_BACKOFF.wait(account, provider)
    try:
        if on_text is not None:
            return await _streamed(adapter, _STREAMERS[provider](request, body, timeout), timeout, on_text)
        raw = await send(request, body, timeout)
    except ProviderError as error:
        VENDOR_BACKOFF.note(account, error)
        raise
    except Exception as exc:
        if (error := _classify(adapter, exc)) is None:
            raise
        VENDOR_BACKOFF.note(account, error)
        raise error from exc
    return _decode(adapter, raw)


_T = TypeVar("_T")

# An SSE event ends with an empty line; a line ends with CRLF, LF or CR.
_EVENT_END = re.compile(r"(?:\r\n|\r(?!\n)|\n){2}")


async def _streamed(
    adapter: Adapter, opening: Awaitable[AsyncGenerator[str]], timeout: float, on_text: Callable[[str], None]
) -> ModelResponse:
    """Send the call (`opening`), then read its streamed answer, handing its text to `on_text` event by
    event; all within `timeout` seconds. The connection is released however the reading ends."""
    received: list[str] = []
    splitter = _EventSplitter()
    try:
        async with asyncio.timeout(timeout):
            pieces = await opening
            async with contextlib.aclosing(pieces):
                async for piece in pieces:
                    received.append(piece)
                    for text in _checked(adapter, partial(_answer_text, adapter, splitter.feed(piece)), received):
                        on_text(text)
    except TimeoutError:
        raise Timeout(f"the streamed answer took longer than {timeout:g} s", provider=adapter.name) from None
    return _checked(adapter, partial(adapter.decode_stream, "".join(received)), received)


def _answer_text(adapter: Adapter, events: str) -> list[str]:
    """The pieces of answer text in complete server-sent `events`."""
    return [text for event in sse_events(events) if (text := adapter.stream_text(event))]


class _EventSplitter:
    """Cuts streamed text into complete server-sent events as it arrives, looking at each piece once."""

    def __init__(self) -> None:
        self._pending: list[str] = []  # the text after the last complete event
        self._tail = ""  # its last 3 characters: an event end may start there and finish in the next piece

    def feed(self, piece: str) -> str:
        """The text of the events `piece` completes ("" if none)."""
        ends = [match.end() for match in _EVENT_END.finditer(self._tail + piece)]
        cut = ends[-1] - len(self._tail) if ends else 0
        if cut <= 0:
            self._pending.append(piece)
            self._tail = (self._tail + piece)[-3:]
            return ""
        complete = "".join(self._pending) + piece[:cut]
        self._pending, self._tail = [piece[cut:]], piece[cut:][-3:]
        return complete


def _checked(adapter: Adapter, read: Callable[[], _T], received: list[str]) -> _T:
    """`read()`; a stream it cannot read is a retryable `ServerError` (a vendor's own error event raises as is)."""
    try:
        return read()
    except (MalformedBody, ValidationError) as exc:
        raise ServerError(
            f"the streamed answer is not a well-formed {adapter.name} stream: {exc}",
            provider=adapter.name,
            status=200,
            body="".join(received)[:2000],
        ) from exc


async def _send_openai(request: ModelRequest, body: dict[str, Any], timeout: float) -> bytes:
    import httpx2

    client = _client("openai", _new_openai_client)
    response = await client.post(
        "/responses", body=body, cast_to=httpx2.Response, options={"timeout": _httpx_timeout(timeout)}
    )
    return response.content


async def _stream_openai(request: ModelRequest, body: dict[str, Any], timeout: float) -> AsyncGenerator[str]:
    import httpx2

    client = _client("openai", _new_openai_client)
    response = await client.post(
        "/responses",
        body={**body, "stream": True},
        cast_to=httpx2.Response,
        options={"timeout": _httpx_timeout(timeout)},
        stream=True,
    )
    return _text_of(response)


async def _send_anthropic(request: ModelRequest, body: dict[str, Any], timeout: float) -> bytes:
    import httpx2

    body, options = _anthropic_post(body, timeout)
    client = _client("anthropic", _new_anthropic_client)
    response = await client.post("/v1/messages", body=body, cast_to=httpx2.Response, options=options)
    return response.content


async def _stream_anthropic(request: ModelRequest, body: dict[str, Any], timeout: float) -> AsyncGenerator[str]:
    import httpx2

    body, options = _anthropic_post(body, timeout)
    client = _client("anthropic", _new_anthropic_client)
    response = await client.post(
        "/v1/messages", body={**body, "stream": True}, cast_to=httpx2.Response, options=options, stream=True
    )
    return _text_of(response)


def _anthropic_post(body: dict[str, Any], timeout: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The body and request options to post: `betas` travels as a header."""
    options: dict[str, Any] = {"timeout": _httpx_timeout(timeout)}
    # `provider_options["anthropic"]["betas"]` is, as in the SDK's `beta.messages.create(betas=...)`,
    # a header and not a body key: the beta client sends the same path with `anthropic-beta`.
    body = dict(body)
    if betas := body.pop("betas", None):
        options["headers"] = {"anthropic-beta": ",".join(betas)}
    return body, options


async def _text_of(response: Any) -> AsyncGenerator[str]:
    """The text of an unread httpx response as it arrives; the connection is released at the end."""
    try:
        async for text in response.aiter_text():
            yield text
    finally:
        await response.aclose()


async def _send_gemini(request: ModelRequest, body: dict[str, Any], timeout: float) -> bytes:
    from google.genai import types

    from durable_llm.providers.gemini import ADAPTER as gemini

    client = _client("gemini", _new_gemini_client)
    # The SDK's own generate_content converts the body through its pydantic types, which drop
    # fields they do not know, rename keys and re-encode base64; the API client it hands the
    # converted dict to posts a dict verbatim, so that is the layer we call.
    response = await client.aio._api_client.async_request(
        "post", gemini.request_path(request), body, types.HttpOptions(timeout=round(timeout * 1000))
    )
    return response.body.encode() if isinstance(response.body, str) else b""


async def _stream_gemini(request: ModelRequest, body: dict[str, Any], timeout: float) -> AsyncGenerator[str]:
    from google.genai import types

    from durable_llm.providers.gemini import ADAPTER as gemini

    client = _client("gemini", _new_gemini_client)
    api = client.aio._api_client
    # The SDK's own stream reader parses each event and raises its own errors for error chunks and
    # for what it cannot parse; the raw answer goes to the adapter instead, like the other vendors'.
    options = types.HttpOptions(timeout=round(timeout * 1000))
    http_request = api._build_request("post", gemini.request_path(request, stream=True), body, options)
    response = await api._async_request(http_request=http_request, http_options=options, stream=True)
    return _text_of(response.response_stream)


_SENDERS: dict[str, Callable[[ModelRequest, dict[str, Any], float], Awaitable[bytes]]] = {
    "openai": _send_openai,
    "anthropic": _send_anthropic,
    "gemini": _send_gemini,
}

_STREAMERS: dict[str, Callable[[ModelRequest, dict[str, Any], float], Awaitable[AsyncGenerator[str]]]] = {
    "openai": _stream_openai,
    "anthropic": _stream_anthropic,
    "gemini": _stream_gemini,
}


def _httpx_timeout(seconds: float) -> Any:
    import httpx2

    return httpx2.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


# Clients hold connection pools bound to the event loop that first used them, so each loop
# (a worker has one; pytest may make several) gets its own, dropped with the loop.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, ...], Any]] = weakref.WeakKeyDictionary()


def _account(provider: str) -> tuple[str, ...]:
    """The vendor and the credentials and endpoint the environment gives its SDK."""
    return (provider, *(os.environ.get(name, "") for name in ENVIRONMENT[provider]))


def _client(provider: str, make: Callable[[], Any]) -> Any:
    """This loop's SDK client for `provider`, made anew whenever its environment changed."""
    per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
    key = _account(provider)
    if key not in per_loop:
        per_loop[key] = make()
    return per_loop[key]


def _new_openai_client() -> Any:
    import openai

    try:
        return openai.AsyncOpenAI(max_retries=0, timeout=_httpx_timeout(DEFAULT_TIMEOUT))
    except openai.OpenAIError as exc:
        raise _missing_credentials("openai", "OPENAI_API_KEY") from exc


def _new_anthropic_client() -> Any:
    import anthropic

    client = anthropic.AsyncAnthropic(max_retries=0, timeout=_httpx_timeout(DEFAULT_TIMEOUT))
    # The SDK only notices missing credentials when it sends; say so before anything is sent.
    if client.api_key is None and client.auth_token is None and client.credentials is None:
        raise _missing_credentials("anthropic", "ANTHROPIC_API_KEY")
    return client


def _new_gemini_client() -> Any:
    import google.genai as genai
    import httpx2
    from google.genai import types

    options = types.HttpOptions(
        timeout=round(DEFAULT_TIMEOUT * 1000),
        retry_options=types.HttpRetryOptions(attempts=1),
        # A transport of our own keeps the SDK on httpx2, like openai and anthropic, instead of
        # aiohttp whenever that happens to be installed (with its own errors and a hidden
        # connection-error retry).
        async_client_args={"transport": httpx2.AsyncHTTPTransport()},
    )
    try:
        # The Gemini Developer API: the paths we post are not Vertex AI's.
        return genai.Client(vertexai=False, http_options=options)
    except ValueError as exc:
        raise _missing_credentials("gemini", "GEMINI_API_KEY (or GOOGLE_API_KEY)") from exc


def _missing_credentials(provider: str, variable: str) -> AuthenticationFailed:
    return AuthenticationFailed(
        f"no API key: set {variable} in the environment of the worker that calls the model",
        provider=provider,
    )


def _classify(adapter: Adapter, exc: Exception) -> ProviderError | None:
    """The `ProviderError` an SDK or HTTP-client exception stands for, or None if it is neither."""
    response = getattr(exc, "response", None)
    if _is_status_error(exc) and response is not None:
        return adapter.decode_error(response.status_code, response.headers, response.content)
    if _is_timeout(exc):
        return Timeout(f"no answer in time ({type(exc).__name__})", provider=adapter.name)
    if _is_connection_error(exc):
        cause = exc.__cause__ or exc
        return ServerError(f"connection failed or dropped: {type(cause).__name__}: {cause}", provider=adapter.name)
    return None


def _is_status_error(exc: Exception) -> bool:
    return _is_instance(
        exc, ("openai", "APIStatusError"), ("anthropic", "APIStatusError"), ("google.genai", "errors.APIError")
    )


def _is_timeout(exc: Exception) -> bool:
    return _is_instance(
        exc,
        ("openai", "APITimeoutError"),
        ("anthropic", "APITimeoutError"),
        ("httpx2", "TimeoutException"),
        ("httpx", "TimeoutException"),
    )


def _is_connection_error(exc: Exception) -> bool:
    return _is_instance(
        exc,
        ("openai", "APIConnectionError"),
        ("anthropic", "APIConnectionError"),
        ("httpx2", "TransportError"),
        ("httpx", "TransportError"),
    )


def _is_instance(exc: Exception, *names: tuple[str, str]) -> bool:
    """isinstance against classes of modules already imported (one never imported raised nothing)."""
    for module_name, attribute in names:
        value: Any = sys.modules.get(module_name)
        for part in attribute.split("."):
            value = getattr(value, part, None)
        if isinstance(value, type) and isinstance(exc, value):
            return True
    return False


def _decode(adapter: Adapter, raw: bytes) -> ModelResponse:
    """The adapter's reading of a 2xx body; a body it cannot read is a retryable `ServerError`."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ServerError(
            f"the answer is not JSON ({len(raw)} bytes, starting {raw[:80]!r})",
            provider=adapter.name,
            status=200,
            body=raw[:2000].decode(errors="replace"),
        ) from None
    if not isinstance(body, dict):
        raise ServerError(f"the answer is JSON but not an object: {raw[:80]!r}", provider=adapter.name, status=200)
    try:
        return adapter.decode_response(body)
    except ValueError as exc:  # MalformedBody, or a pydantic ValidationError
        raise ServerError(
            f"the answer does not have the shape of a {adapter.name} response: {exc}",
            provider=adapter.name,
            status=200,
            body=raw[:2000].decode(errors="replace"),
        ) from exc
