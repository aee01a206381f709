"""What every HTTP provider shares: post the adapter's body, read the answer or its stream, classify failures.

The body on the wire is exactly what the adapter encodes: each provider posts it through its
SDK's generic raw call (or plain httpx2), and the raw answer goes to the adapter's decoder. SDK
retries are off, so the caller (the Temporal activity's retry policy) is the only retry layer,
and every failure arrives as a classified `ProviderError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import weakref
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Hashable
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.conversation.projection import HistoryRules
from durable_llm.providers._wire import sse_events
from durable_llm.providers.base import Adapter, DeltaListener, MalformedBody
from durable_llm.providers.errors import AuthenticationFailed, ProviderError, ServerError, Timeout

DEFAULT_TIMEOUT = 600.0
"""Seconds to wait for a vendor's whole answer (streamed or not): reasoning models think for minutes."""

CONNECT_TIMEOUT = 10.0
"""Seconds to open the connection: a vendor that cannot be reached fails fast and is retried."""

_T = TypeVar("_T")

# An SSE event ends with an empty line; a line ends with CRLF, LF or CR.
_EVENT_END = re.compile(r"(?:\r\n|\r(?!\n)|\n){2}")


class HttpProvider(ABC):
    """A `Provider` that posts JSON over HTTP: subclasses say how to make a client and post with it.

    Clients hold connection pools bound to the event loop that first used them, so each loop
    (a worker has one; pytest may make several) gets its own, dropped with the loop; a client is
    made anew when the account (e.g. an environment variable it reads) changes.
    """

    adapter: Adapter
    rules: HistoryRules
    environment: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, Any]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def name(self) -> str:
        """The API family it speaks (its adapter's name)."""
        return self.adapter.name

    @abstractmethod
    def account(self) -> Hashable:
        """Credentials (hashed) and endpoint, as the next call would use them."""

    def credentials_missing(self) -> str | None:
        """The environment variable to set (or argument to give) when it has no credentials; None when it has."""
        return None if self._credentials() else self._credentials_hint

    _credentials_hint: str = "an API key"

    @abstractmethod
    def _credentials(self) -> str | None:
        """The credential the next call would use (None: none)."""

    @abstractmethod
    def _new_client(self) -> Any:
        """A new SDK (or HTTP) client for the current account; `AuthenticationFailed` without credentials."""

    @abstractmethod
    async def _post(
        self, client: Any, request: ModelRequest, body: dict[str, Any], timeout: float, stream: bool
    ) -> Any:
        """Post `body` (streamed when `stream`) and return the unread httpx2 response."""

    def _error_types(self) -> tuple[tuple[type[BaseException], ...], ...]:
        """The SDK's (status error, timeout, connection error) classes; imported only once a client exists."""
        return ((), (), ())

    def client(self) -> Any:
        """This loop's client for the current account."""
        per_loop = self._clients.setdefault(asyncio.get_running_loop(), {})
        key = self.account()
        if key not in per_loop:
            per_loop[key] = self._new_client()
        return per_loop[key]

    async def complete(
        self, request: ModelRequest, *, timeout: float = DEFAULT_TIMEOUT, on_delta: DeltaListener | None = None
    ) -> ModelResponse:
        """Send `request`, return the decoded answer; every failure is a classified `ProviderError`."""
        body = self.adapter.encode_request(request)
        try:
            if on_delta is not None:
                return await self._streamed(self._opened(request, body, timeout), timeout, on_delta)
            async with asyncio.timeout(timeout):
                response = await self._post(self.client(), request, body, timeout, stream=False)
                raw = await response.aread()
        except ProviderError:
            raise
        except TimeoutError:
            raise Timeout(f"no answer in {timeout:g} s", provider=self.name) from None
        except Exception as exc:
            if (error := self._classify(exc)) is None:
                raise
            raise error from exc
        if not 200 <= response.status_code < 300:
            raise self.adapter.decode_error(response.status_code, response.headers, raw)
        return _decode(self.adapter, raw)

    async def _opened(self, request: ModelRequest, body: dict[str, Any], timeout: float) -> AsyncGenerator[str]:
        response = await self._post(self.client(), request, body, timeout, stream=True)
        if not 200 <= response.status_code < 300:
            try:
                raw = await response.aread()
            finally:
                await response.aclose()
            raise self.adapter.decode_error(response.status_code, response.headers, raw)
        return _text_of(response)

    async def _streamed(
        self, opening: Awaitable[AsyncGenerator[str]], timeout: float, on_delta: DeltaListener
    ) -> ModelResponse:
        """Send the call (`opening`), then read its streamed answer, handing its deltas to `on_delta`
        event by event; all within `timeout` seconds. The connection is released however reading ends."""
        received: list[str] = []
        events: list[dict[str, Any]] = []
        splitter = _EventSplitter()
        adapter = self.adapter
        try:
            async with asyncio.timeout(timeout):
                pieces = await opening
                async with contextlib.aclosing(pieces):
                    async for piece in pieces:
                        received.append(piece)
                        # Each event is decoded once: its deltas go out now, and it is folded at the end.
                        arrived = _checked(adapter, partial(sse_events, splitter.feed(piece)), received)
                        events += arrived
                        for event in arrived:
                            for delta in _checked(adapter, partial(adapter.stream_deltas, event), received):
                                on_delta(delta)
        except TimeoutError:
            raise Timeout(f"the streamed answer took longer than {timeout:g} s", provider=self.name) from None
        rest = _checked(adapter, partial(sse_events, splitter.rest()), received)
        return _checked(adapter, partial(adapter.decode_events, events + rest), received)

    def _classify(self, exc: Exception) -> ProviderError | None:
        """The `ProviderError` an SDK or HTTP-client exception stands for, or None if it is neither."""
        import httpx2

        status_errors, timeouts, connection_errors = self._error_types()
        response = getattr(exc, "response", None)
        if status_errors and isinstance(exc, status_errors) and response is not None:
            return self.adapter.decode_error(response.status_code, response.headers, response.content)
        if isinstance(exc, (*timeouts, httpx2.TimeoutException)):
            return Timeout(f"no answer in time ({type(exc).__name__})", provider=self.name)
        if isinstance(exc, (*connection_errors, httpx2.TransportError)):
            cause = exc.__cause__ or exc
            return ServerError(f"connection failed or dropped: {type(cause).__name__}: {cause}", provider=self.name)
        return None


def credential_id(secret: str | None) -> str | None:
    """A short digest standing for a credential in an account key (the key itself is never kept there)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16] if secret else None


def httpx_timeout(seconds: float) -> Any:
    """An httpx2 timeout of `seconds` in all, at most `CONNECT_TIMEOUT` of it to connect."""
    import httpx2

    return httpx2.Timeout(seconds, connect=min(seconds, CONNECT_TIMEOUT))


def missing_credentials(provider: HttpProvider) -> AuthenticationFailed:
    """The error of a provider without credentials, saying where to give them."""
    return AuthenticationFailed(
        f"no API key: pass {type(provider).__name__}(api_key=...) or set {provider.credentials_missing()} "
        "in the environment of the worker that calls the model",
        provider=provider.name,
    )


async def _text_of(response: Any) -> AsyncGenerator[str]:
    """The text of an unread httpx response as it arrives; the connection is released at the end."""
    try:
        async for text in response.aiter_text():
            yield text
    finally:
        await response.aclose()


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

    def rest(self) -> str:
        """What came after the last complete event (a final event without its empty line)."""
        return "".join(self._pending)


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
