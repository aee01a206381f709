"""`call_vendor` through the real vendor SDKs, over loopback, against the wire-level fake servers."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from durable_llm.conversation import Message, ModelRequest, ModelResponse, ProviderPart, TextPart, ToolSpec, Usage
from durable_llm.providers import (
    AnthropicProvider,
    AuthenticationFailed,
    BadRequest,
    GeminiProvider,
    OpenAIProvider,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
    Timeout,
    get_adapter,
)
from durable_llm.providers.errors import MAX_RETRY_AFTER
from durable_llm.testing import FakeVendorServer, call_tools, reply
from durable_llm.transport import call_vendor

ENVIRONMENT = {p.adapter.name: p.environment for p in (OpenAIProvider, AnthropicProvider, GeminiProvider)}

PROVIDERS = ["openai", "anthropic", "gemini", "openai_chat"]
MODELS = {
    "openai": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-4-5",
    "gemini": "gemini-2.5-flash",
    "openai_chat": "gpt-4o-mini",
}
USAGE = Usage(input_tokens=31, output_tokens=12)


def weather_request(provider: str) -> ModelRequest:
    """A first turn with instructions and one tool, in the form each adapter decodes back unchanged."""
    return ModelRequest(
        model=MODELS[provider],
        instructions="You answer questions about the weather.",
        messages=(Message(role="user", parts=(TextPart(text="What is the weather in Paris?"),)),),
        tools=(
            ToolSpec(
                name="get_weather",
                description="The current weather in a city.",
                parameters={
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
                strict=True if provider in ("openai", "openai_chat") else None,
            ),
        ),
        max_output_tokens=256,
    )


@pytest.fixture(params=PROVIDERS)
def provider(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    # Nothing from the developer's own environment may reach a vendor or change which key is used.
    for names in ENVIRONMENT.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)
    return request.param


@pytest.fixture
def serve(provider: str, monkeypatch: pytest.MonkeyPatch):
    """Start a fake server for `provider` with a script, and point the SDK at it."""
    servers: list[FakeVendorServer] = []

    def start(*responses: ModelResponse) -> FakeVendorServer:
        server = FakeVendorServer(provider, responses=list(responses)).start()
        servers.append(server)
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        return server

    yield start
    for server in servers:
        server.close()


def without_item_envelope(message: Message) -> Message:
    """The message minus what the Responses API adds to every output item (its id and status).

    The OpenAI adapter's `encode_response` gives each item the id and status a real answer has,
    and `decode_response` keeps them in the part's `provider_details["openai"]`; the scripted
    parts of these tests carry no vendor details.
    """
    parts = []
    for part in message.parts:
        if not isinstance(part, ProviderPart):
            kept = {k: v for k, v in part.provider_details.items() if k != "openai"}
            part = part.model_copy(update={"provider_details": kept})
        parts.append(part)
    return message.model_copy(update={"parts": tuple(parts)})


def assert_arrived_as_served(result: ModelResponse, server: FakeVendorServer) -> None:
    (served,) = server.served
    assert result.provider == served.provider
    assert result.id == served.id
    assert result.model == served.model
    assert without_item_envelope(result.message) == served.message
    assert result.usage == served.usage
    assert result.stop_reason == served.stop_reason


async def test_text_reply_arrives_as_scripted(provider: str, serve) -> None:
    server = serve(reply("It is sunny in Paris.", usage=USAGE))

    result = await call_vendor(weather_request(provider), provider=provider)

    assert_arrived_as_served(result, server)
    assert result.message.text == "It is sunny in Paris."
    assert result.stop_reason == "end_turn"


async def test_tool_call_reply_arrives_as_scripted(provider: str, serve) -> None:
    server = serve(call_tools(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Lyon"}), usage=USAGE))

    result = await call_vendor(weather_request(provider), provider=provider)

    assert_arrived_as_served(result, server)
    assert [(c.name, c.arguments) for c in result.message.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Lyon"}),
    ]
    assert result.stop_reason == "tool_calls"


async def test_server_sees_exactly_the_encoded_request(provider: str, serve) -> None:
    server = serve(reply("ok"))
    request = weather_request(provider)

    await call_vendor(request, provider=provider)

    assert server.calls == 1
    assert server.requests == [request]
    assert server.raw_requests[0].body == get_adapter(provider).encode_request(request)


async def test_requests_carry_no_credentials_in_the_record(provider: str, serve) -> None:
    server = serve(reply("ok"))

    await call_vendor(weather_request(provider), provider=provider)

    headers = server.raw_requests[0].headers
    assert not {"authorization", "x-api-key", "x-goog-api-key"} & set(headers)
    assert headers["content-type"] == "application/json"


async def test_rate_limit_raises_rate_limited_after_one_request(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(429, headers={"Retry-After": "7"})

    with pytest.raises(RateLimited) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retry_after == 7
    assert caught.value.retryable
    assert server.calls == 1  # the SDK did not retry on its own


async def test_after_a_429_every_call_to_that_vendor_waits_out_its_retry_after(provider: str, serve) -> None:
    server = serve(reply("after the wait"))
    server.fail(429, headers={"Retry-After": "1"})
    started = time.monotonic()
    with pytest.raises(RateLimited):
        await call_vendor(weather_request(provider), provider=provider)

    # Another conversation's call: it is not sent until the vendor's delay is over.
    result = await call_vendor(weather_request(provider), provider=provider)

    assert result.message.text == "after the wait"
    assert time.monotonic() - started >= 0.99  # the delay counts from the 429, which came after `started`
    assert server.calls == 2


async def test_a_long_retry_after_fails_later_calls_at_once_without_sending_them(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(429, headers={"Retry-After": "120"})
    with pytest.raises(RateLimited):
        await call_vendor(weather_request(provider), provider=provider)

    started = time.monotonic()
    with pytest.raises(RateLimited) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert time.monotonic() - started < 10  # not the 120 s asked for, nor MAX_WAIT_IN_PLACE
    assert caught.value.retry_after is not None and 115 < caught.value.retry_after <= 120
    assert server.calls == 1
    # Another model of the same account has limits of its own: it is not held back.
    other_model = weather_request(provider).model_copy(update={"model": "another-model"})
    assert (await call_vendor(other_model, provider=provider)).message.text == "never sent"
    assert server.calls == 2
    # Nor is another account (here: another endpoint).
    other = serve(reply("from the other account"))
    assert (await call_vendor(weather_request(provider), provider=provider)).message.text == "from the other account"
    assert other.calls == 1


def test_a_retry_delay_that_is_not_a_sane_number_is_capped_or_ignored() -> None:
    def delay(value: float) -> float | None:
        return RateLimited("slow down", provider="openai", retry_after=value).retry_after

    assert (delay(2.5), delay(-3), delay(1e12)) == (2.5, 0.0, MAX_RETRY_AFTER)
    assert delay(float("inf")) is None and delay(float("nan")) is None


async def test_bad_api_key_raises_authentication_failed(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(401)

    with pytest.raises(AuthenticationFailed) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert not caught.value.retryable
    assert caught.value.status == 401
    assert server.calls == 1


async def test_server_error_is_retryable(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(500)

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retryable
    assert caught.value.status == 500
    assert server.calls == 1


async def test_dropped_connection_is_a_retryable_server_error(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.drop_connection()

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retryable
    assert "connection" in caught.value.message
    assert server.calls == 1


async def test_slow_answer_raises_retryable_timeout(provider: str, serve) -> None:
    server = serve(reply("too late"))
    server.delay(5)

    with pytest.raises(Timeout) as caught:
        await call_vendor(weather_request(provider), provider=provider, timeout=0.3)

    assert caught.value.retryable
    assert server.calls == 1


async def test_malformed_body_is_a_clear_retryable_error(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.malformed()

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retryable
    assert "not JSON" in caught.value.message
    assert server.calls == 1


async def test_body_of_the_wrong_shape_is_a_clear_retryable_error(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(200, body={"output": 42, "content": 42, "candidates": 42})

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retryable
    assert f"shape of a {provider} response" in caught.value.message


async def test_missing_api_key_names_the_variable_to_set(provider: str, serve, monkeypatch) -> None:
    server = serve(reply("never sent"))
    key = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}.get(
        provider, "OPENAI_API_KEY"
    )
    monkeypatch.delenv(key)

    with pytest.raises(AuthenticationFailed) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert key in str(caught.value)
    assert server.calls == 0


async def test_a_failed_call_leaves_the_script_for_the_retry(provider: str, serve) -> None:
    server = serve(reply("after the retry"))
    server.fail(503)

    with pytest.raises(ProviderError):
        await call_vendor(weather_request(provider), provider=provider)
    result = await call_vendor(weather_request(provider), provider=provider)

    assert result.message.text == "after the retry"
    assert server.calls == 2
    assert len(server.requests) == 2


async def test_script_run_dry_fails_without_retry(provider: str, serve) -> None:
    server = serve()

    with pytest.raises(BadRequest) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert "already served" in str(caught.value)
    assert len(server.errors) == 1


async def test_new_environment_reaches_the_new_server(provider: str, serve) -> None:
    first = serve(reply("first"))
    assert (await call_vendor(weather_request(provider), provider=provider)).message.text == "first"
    second = serve(reply("second"))

    result = await call_vendor(weather_request(provider), provider=provider)

    assert result.message.text == "second"
    assert (first.calls, second.calls) == (1, 1)


@pytest.mark.parametrize("provider", ["anthropic"], indirect=True)
async def test_anthropic_overloaded_529_is_retryable(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(529)

    with pytest.raises(Overloaded) as caught:
        await call_vendor(weather_request(provider), provider=provider)

    assert caught.value.retryable


@pytest.mark.parametrize("provider", ["anthropic"], indirect=True)
async def test_anthropic_betas_travel_as_the_beta_header(provider: str, serve) -> None:
    server = serve(reply("ok"))
    base = weather_request(provider)
    request = base.model_copy(update={"provider_options": {"anthropic": {"betas": ["context-management-2025-06-27"]}}})

    await call_vendor(request, provider=provider)

    (raw,) = server.raw_requests
    assert raw.headers["anthropic-beta"] == "context-management-2025-06-27"
    assert "betas" not in raw.body
    assert server.requests == [request]


@pytest.mark.parametrize("provider", ["gemini"], indirect=True)
async def test_gemini_model_travels_in_the_url(provider: str, serve) -> None:
    server = serve(reply("ok"))

    await call_vendor(weather_request(provider), provider=provider)

    assert server.raw_requests[0].path.endswith("/models/gemini-2.5-flash:generateContent")


# -- the fake server itself ----------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai"], indirect=True)
async def test_faults_can_target_a_given_call(provider: str, serve) -> None:
    server = serve(reply("one"), reply("two"))
    server.fail(500, at=2, times=2)
    request = weather_request(provider)

    first = await call_vendor(request, provider=provider)
    for _ in range(2):
        with pytest.raises(ServerError):
            await call_vendor(request, provider=provider)
    last = await call_vendor(request, provider=provider)

    assert (first.message.text, last.message.text) == ("one", "two")
    assert server.calls == 4


@pytest.mark.parametrize("provider", ["anthropic"], indirect=True)
async def test_script_function_answers_from_the_request(provider: str, monkeypatch) -> None:
    def echo(request: ModelRequest) -> ModelResponse:
        return reply(f"you said: {request.messages[-1].text}")

    async with FakeVendorServer(provider, responses=echo) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        result = await call_vendor(weather_request(provider), provider=provider)

    assert result.message.text == "you said: What is the weather in Paris?"


def test_server_is_reachable_from_another_process(tmp_path) -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from durable_llm.conversation import Message, ModelRequest, TextPart
        from durable_llm.transport import call_vendor

        request = ModelRequest(model="gpt-4.1-mini", messages=(Message(role="user", parts=(TextPart(text="hi"),)),))
        print(asyncio.run(call_vendor(request, provider="openai")).message.text)
        """
    )
    with FakeVendorServer("openai", responses=[reply("hello from the fake")]) as server:
        env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT["openai"]} | server.env()
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "hello from the fake"
    assert server.calls == 1


def test_importing_transport_and_testing_loads_no_vendor_sdk() -> None:
    code = (
        "import json, sys, durable_llm.transport, durable_llm.testing; "
        "print(json.dumps([m for m in ('openai', 'anthropic', 'google.genai', 'httpx2') if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)

    assert json.loads(done.stdout) == []


def test_sync_context_manager_stops_listening() -> None:
    with FakeVendorServer("gemini") as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        socket.create_connection((host, int(port)), timeout=5).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5)


# -- streaming -----------------------------------------------------------------------------------

LONG_ANSWER = "In Paris it is sunny this afternoon, 21 degrees, with a light wind from the north-west. " * 3


async def test_a_streamed_answer_comes_in_pieces_and_folds_into_the_same_response(provider: str, serve) -> None:
    server = serve(reply(LONG_ANSWER, usage=USAGE), reply(LONG_ANSWER, usage=USAGE))
    pieces: list[str] = []

    streamed = await call_vendor(weather_request(provider), provider=provider, on_text=pieces.append)
    whole = await call_vendor(weather_request(provider), provider=provider)

    assert len(pieces) > 3 and "".join(pieces) == LONG_ANSWER
    assert streamed.model_copy(update={"id": whole.id}) == whole  # ids differ: each answer gets its own
    streamed_call, plain_call = server.raw_requests
    if provider == "gemini":
        assert streamed_call.path.split("?")[0].endswith(":streamGenerateContent")
        assert streamed_call.body == plain_call.body
    elif provider == "openai_chat":  # asks for the usage, sent in a last chunk
        assert streamed_call.body == {**plain_call.body, "stream": True, "stream_options": {"include_usage": True}}
    else:
        assert streamed_call.body == {**plain_call.body, "stream": True}


async def test_a_streamed_tool_call_arrives_as_scripted_with_no_text(provider: str, serve) -> None:
    server = serve(call_tools(("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Lyon"}), usage=USAGE))
    pieces: list[str] = []

    result = await call_vendor(weather_request(provider), provider=provider, on_text=pieces.append)

    assert_arrived_as_served(result, server)
    assert [(c.name, c.arguments) for c in result.message.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Lyon"}),
    ]
    assert pieces == []


async def test_a_stream_cut_short_is_a_retryable_server_error(provider: str, serve) -> None:
    server = serve(reply(LONG_ANSWER))
    server.drop_connection()

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider, on_text=lambda text: None)

    assert caught.value.retryable


async def test_a_stream_that_ends_before_the_answer_does_is_a_retryable_server_error(provider: str, serve) -> None:
    whole = reply(LONG_ANSWER).model_copy(update={"provider": provider, "model": MODELS[provider], "id": "answer-1"})
    events = re.split(r"(?<=\n\n)|(?<=\r\n\r\n)", get_adapter(provider).encode_stream(whole))
    server = serve(reply("never sent"))
    server.fail(200, body="".join(events[: len(events) // 2]))  # the connection closes mid-answer
    pieces: list[str] = []

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider, on_text=pieces.append)

    assert caught.value.retryable
    assert pieces and LONG_ANSWER.startswith("".join(pieces))  # what came was shown; the retry starts over


async def test_a_streamed_call_refused_with_a_429_is_rate_limited_like_any_other(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(429, headers={"Retry-After": "7"})

    with pytest.raises(RateLimited) as caught:
        await call_vendor(weather_request(provider), provider=provider, on_text=lambda text: None)

    assert caught.value.retry_after == 7
    assert server.calls == 1


VENDOR_ERROR_EVENTS = {
    "openai": 'event: error\ndata: {"type":"error","code":"server_error","message":"Retry.","sequence_number":0}\n\n',
    "anthropic": 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    "gemini": 'data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}}\r\n\r\n',
    "openai_chat": 'data: {"error":{"code":503,"message":"No instances available."}}\n\n',  # as OpenRouter sends
}


async def test_an_error_the_vendor_sends_inside_a_stream_is_classified_and_retryable(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(200, body=VENDOR_ERROR_EVENTS[provider])  # the answer had begun: status 200, then an error event

    with pytest.raises(ProviderError) as caught:
        await call_vendor(weather_request(provider), provider=provider, on_text=lambda text: None)

    assert caught.value.retryable
    assert isinstance(caught.value, (ServerError, Overloaded)), repr(caught.value)


@pytest.mark.parametrize("size", [1, 2, 3, 7, 4096])
def test_events_are_cut_whole_however_the_network_splits_the_stream(provider: str, size: int) -> None:
    from durable_llm.providers._http import _EventSplitter
    from durable_llm.providers._wire import sse_events

    answer = reply(LONG_ANSWER).model_copy(update={"provider": provider, "model": MODELS[provider], "id": "answer-1"})
    stream = get_adapter(provider).encode_stream(answer)
    splitter = _EventSplitter()

    cut = [splitter.feed(stream[i : i + size]) for i in range(0, len(stream), size)]

    # Every event complete and in order; at most the last line end is held back (a CR may precede an LF).
    assert stream.startswith("".join(cut)) and not stream.removeprefix("".join(cut)).strip("\r\n")
    assert [e for text in cut for e in sse_events(text)] == sse_events(stream)


async def test_answer_text_reaches_on_text_while_the_stream_is_still_coming(provider: str, monkeypatch) -> None:
    # The events go out 20 ms apart: a transport that read the whole body first would hand out
    # every piece at the end.
    with FakeVendorServer(provider, responses=[reply(LONG_ANSWER)], event_interval=0.02) as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        arrivals: list[float] = []
        await call_vendor(
            weather_request(provider), provider=provider, on_text=lambda _: arrivals.append(time.monotonic())
        )
        finished = time.monotonic()

    assert len(arrivals) > 5
    assert finished - arrivals[0] > 0.1  # at least 5 more events were still to come


async def test_a_stream_that_is_not_the_vendors_is_a_retryable_server_error(provider: str, serve) -> None:
    server = serve(reply("never sent"))
    server.fail(200, body="data: {oops\n\n")

    with pytest.raises(ServerError) as caught:
        await call_vendor(weather_request(provider), provider=provider, on_text=lambda text: None)

    assert caught.value.retryable and caught.value.status == 200


@pytest.mark.parametrize("cut", range(1, 40))
def test_an_event_whose_data_spans_crlf_lines_is_not_cut_inside(cut: int) -> None:
    from durable_llm.providers._http import _EventSplitter
    from durable_llm.providers._wire import sse_events

    stream = 'event: x\r\ndata: {"type":\r\ndata: "ping"}\r\n\r\ndata: {"n":1}\r\n\r\n'
    splitter = _EventSplitter()

    cut_text = [splitter.feed(stream[:cut]), splitter.feed(stream[cut:])]

    assert [e for text in cut_text for e in sse_events(text)] == [{"type": "ping"}, {"n": 1}]
