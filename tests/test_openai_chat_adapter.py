"""The Chat Completions adapter against recorded traffic (../shared/corpus/openai_chat_completions) and our fixtures.

Chains: the history decoded from request n plus the message of response n, encoded again, must
start request n+1. Clients rewrite some history before resending it, so a chain that is not
exact is compared again after this normalisation of BOTH sides, and nothing else:

1. an assistant message without text counts the same whether its content is null, "", [] or absent,
   and without tool calls whether `tool_calls` is [] or absent;
2. reasoning keys on assistant messages are dropped: a client chooses whether to send the server's
   reasoning back (we do not by default, as DeepSeek refuses it);
3. Mistral's request-only `prefix: false`, a tool call's `index` and a response's `annotations` are
   dropped (some libraries copy them into the history, others do not);
4. curly quotes and dashes count as their ASCII forms (pydantic-ai's recorder rewrites them in JSON
   bodies but not in raw SSE text, see the corpus README).

Chains still different after that are the libraries' own rewrites, each listed with its reason in
fixtures/openai_chat/chain_rewrites.json and run as strict xfail.
"""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from corpus import chains, corpus_params, exchanges
from sdk_validation import validate_openai_chat, validate_request
from test_cross_vendor import WEATHER as CROSS_WEATHER
from test_cross_vendor import conversation_on

from durable_llm.conversation import (
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    ProviderPart,
    ReasoningPart,
    ReasoningToken,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Usage,
    project,
)
from durable_llm.providers import MalformedBody, ProviderError, get_adapter
from durable_llm.providers._wire import sse_events
from durable_llm.providers.openai_chat import ADAPTER, ChatCompletionsOptions

API = "openai_chat_completions"
FIXTURES = Path(__file__).parent / "fixtures" / "openai_chat"


def _response_of(exchange: dict[str, Any]) -> ModelResponse:
    response = exchange["response"]
    if response["sse"]:
        return ADAPTER.decode_stream(response["sse"])
    return ADAPTER.decode_response(response["body"])


def _answered(ex: dict[str, Any]) -> bool:
    """A recorded answer: a completion body, or a stream without an error chunk."""
    response = ex["response"]
    if response["status"] != 200:
        return False
    if response["sse"] is not None:
        return not any(event.get("error") for event in sse_events(response["sse"]))
    return isinstance(response["body"], dict) and "choices" in response["body"]


def _chunks(ex: dict[str, Any]) -> list[dict[str, Any]]:
    return sse_events(ex["response"]["sse"])


# --- corpus round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", corpus_params(API))
def test_request_round_trips_exactly(exchange):
    body = exchange["request"]["body"]
    request = ADAPTER.decode_request(body)
    assert ADAPTER.encode_request(request) == body
    assert ModelRequest.model_validate_json(request.model_dump_json()) == request


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: _answered(ex) and ex["response"]["sse"] is None))
def test_response_round_trips_exactly(exchange):
    body = exchange["response"]["body"]
    response = ADAPTER.decode_response(body)
    assert ADAPTER.encode_response(response) == body
    assert ModelResponse.model_validate_json(response.model_dump_json()) == response


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["sse"] is not None and _answered(ex)))
def test_stream_folds_into_the_recorded_answer(exchange):
    """The folded response says what the chunks said: text, reasoning, tool calls, finish reason, usage."""
    chunks = _chunks(exchange)
    folded = ADAPTER.decode_stream(exchange["response"]["sse"])
    deltas = [c["delta"] for chunk in chunks for c in chunk.get("choices") or () if c.get("index", 0) == 0]
    text = "".join(d.get("content") or "" for d in deltas)
    assert folded.message.text == text
    for field in ("reasoning_content", "reasoning"):
        if any(isinstance(d.get(field), str) for d in deltas):
            (reasoning,) = [p for p in folded.message.parts if isinstance(p, ReasoningPart)]
            assert reasoning.text == "".join(d.get(field) or "" for d in deltas)
            break
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas:
        for call in delta.get("tool_calls") or ():
            into = calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
            into["id"] = call.get("id") or into["id"]
            into["name"] = (call.get("function") or {}).get("name") or into["name"]
            into["arguments"] += (call.get("function") or {}).get("arguments") or ""
    assert [(c.id, c.name, c.arguments_raw) for c in folded.message.tool_calls] == [
        (c["id"], c["name"], c["arguments"]) for _, c in sorted(calls.items())
    ]
    finishes = [c["finish_reason"] for chunk in chunks for c in chunk.get("choices") or () if c.get("finish_reason")]
    assert folded.raw_stop_reason == (finishes[-1] if finishes else None)
    usages = [chunk["usage"] for chunk in chunks if isinstance(chunk.get("usage"), dict)]
    if usages:
        assert (folded.usage.input_tokens, folded.usage.output_tokens) == (
            usages[-1]["prompt_tokens"],
            usages[-1]["completion_tokens"],
        )
    assert ADAPTER.decode_response(ADAPTER.encode_response(folded)) == folded
    assert ADAPTER.decode_stream(ADAPTER.encode_stream(folded)) == folded


def _without_call_index(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    for choice in body["choices"]:
        for call in choice["message"].get("tool_calls") or ():
            call.pop("index", None)
    return body


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: _answered(ex) and ex["response"]["sse"] is None))
def test_response_streams_and_folds_back_unchanged(exchange):
    """What a fake server streams folds back into the response (a tool call's `index` is the stream's own)."""
    response = ADAPTER.decode_response(exchange["response"]["body"])
    folded = ADAPTER.decode_stream(ADAPTER.encode_stream(response))
    assert _without_call_index(ADAPTER.encode_response(folded)) == _without_call_index(
        ADAPTER.encode_response(response)
    )


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: _answered(ex) and "tool_call" in ex["tags"]))
def test_every_recorded_tool_call_is_a_tool_call_part(exchange):
    response = _response_of(exchange)
    if exchange["response"]["sse"]:
        deltas = [c["delta"] for chunk in _chunks(exchange) for c in chunk["choices"] if c.get("index", 0) == 0]
        recorded = [c for d in deltas for c in d.get("tool_calls") or () if (c.get("function") or {}).get("name")]
    else:
        message = exchange["response"]["body"]["choices"][0]["message"]
        legacy = message.get("function_call") or {}
        recorded = message.get("tool_calls") or ([{"function": legacy}] if legacy.get("name") else [])
    assert len(response.message.tool_calls) == len(recorded)
    for part, call in zip(response.message.tool_calls, recorded, strict=True):
        assert isinstance(part, ToolCallPart)
        assert (part.id, part.name) == (call.get("id"), call["function"]["name"])
        if part.arguments_raw.strip():
            assert part.arguments == json.loads(part.arguments_raw)
    if recorded:
        assert response.stop_reason == "tool_calls" or response.raw_stop_reason not in ("stop", "tool_calls")


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: "tool_result" in ex["tags"]))
def test_tool_results_answer_the_calls_before_them(exchange):
    request = ADAPTER.decode_request(exchange["request"]["body"])
    calls = {p.id: p.name for m in request.messages for p in m.parts if isinstance(p, ToolCallPart)}
    results = [p for m in request.messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert results
    for result in results:
        if result.call_id in calls:
            assert result.name == calls[result.call_id]


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: _answered(ex) and ex["response"]["sse"] is None))
def test_usage_reads_prompt_output_and_cached_tokens(exchange):
    raw = exchange["response"]["body"].get("usage") or {}
    usage = ADAPTER.decode_response(exchange["response"]["body"]).usage
    assert (usage.input_tokens, usage.output_tokens) == (raw.get("prompt_tokens", 0), raw.get("completion_tokens", 0))
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    for elsewhere in ("prompt_cache_hit_tokens", "num_cached_tokens", "cached_tokens"):
        cached = cached or raw.get(elsewhere) or 0
    assert usage.cached_input_tokens == cached
    assert usage.reasoning_tokens == ((raw.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0)


# --- chains ------------------------------------------------------------------------------------


_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "--"})
_REASONING_KEYS = ("reasoning", "reasoning_content", "reasoning_details")


def _ascii(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_ASCII)
    if isinstance(value, dict):
        return {key: _ascii(nested) for key, nested in value.items()}
    if isinstance(value, list):
        return [_ascii(nested) for nested in value]
    return value


def _normalise(messages: list[Any]) -> list[Any]:
    out = []
    for message in copy.deepcopy(messages):
        if message.get("role") == "assistant":
            if message.get("content") in (None, "", []):
                message.pop("content", None)
            for key in _REASONING_KEYS:
                message.pop(key, None)
            if message.get("prefix") is False:
                del message["prefix"]
            if message.get("tool_calls") == []:
                del message["tool_calls"]
            message.pop("annotations", None)
            for call in message.get("tool_calls") or ():
                call.pop("index", None)
        out.append(_ascii(message))
    return out


@cache
def _chain_rewrites() -> dict[str, str]:
    return json.loads((FIXTURES / "chain_rewrites.json").read_text())


def _chain_params() -> list[Any]:
    params = []
    for turns in chains(API).values():
        for previous, following in itertools.pairwise(turns):
            if following["chain"]["continues_previous"]:
                reason = _chain_rewrites().get(following["file"])
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                params.append(pytest.param(previous, following, id=following["file"], marks=marks))
    return params or [pytest.param(None, None, marks=pytest.mark.skip(reason="recorded corpus not found"))]


def _chain_parts(previous: dict[str, Any], following: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    request = ADAPTER.decode_request(previous["request"]["body"])
    history = ModelRequest(
        model=request.model,
        instructions=request.instructions,
        messages=(*request.messages, _response_of(previous).message),
    )
    ours = ADAPTER.encode_request(history)["messages"]
    theirs = following["request"]["body"]["messages"]
    return ours, theirs[: len(ours)]


@pytest.mark.parametrize(("previous", "following"), _chain_params())
def test_response_carries_into_the_next_request(previous, following):
    ours, theirs = _chain_parts(previous, following)
    assert ours == theirs or _normalise(ours) == _normalise(theirs)


def test_chain_figures():
    """How many chains match exactly, after normalisation, or not at all (printed with -s)."""
    counts = {"exact": 0, "normalised": 0, "library rewrite": 0}
    for param in _chain_params():
        previous, following = param.values
        if previous is None:
            pytest.skip("recorded corpus not found")
        ours, theirs = _chain_parts(previous, following)
        if ours == theirs:
            counts["exact"] += 1
        elif _normalise(ours) == _normalise(theirs):
            counts["normalised"] += 1
        else:
            counts["library rewrite"] += 1
            assert following["file"] in _chain_rewrites(), f"{following['file']} is not a known library rewrite"
    print(f"\nChat Completions chains: {counts}")
    assert counts["library rewrite"] == len(_chain_rewrites())


# --- errors ------------------------------------------------------------------------------------

_CORPUS_ERROR_KINDS = {"invalid_api_key": "authentication", "model_not_found": "not_found"}


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["status"] >= 400))
def test_recorded_errors_are_classified(exchange):
    body = exchange["response"]["body"]
    error = ADAPTER.decode_error(exchange["response"]["status"], {}, json.dumps(body).encode())
    assert error.kind == _CORPUS_ERROR_KINDS.get(body["error"]["code"], "bad_request")
    assert not error.retryable
    assert body["error"]["message"] in error.message
    assert error.provider == "openai_chat"


@pytest.mark.parametrize(
    "exchange", corpus_params(API, lambda ex: ex["response"]["sse"] is not None and not _answered(ex))
)
def test_recorded_stream_errors_raise_their_classified_error(exchange):
    (error_chunk,) = [chunk for chunk in _chunks(exchange) if chunk.get("error")]
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream(exchange["response"]["sse"])
    assert error_chunk["error"]["message"] in caught.value.message


def test_openrouter_error_chunk_keeps_its_http_status():
    (exchange,) = [ex for ex in exchanges(API) if "test_openrouter_stream_error" in ex["file"]] or [None]
    if exchange is None:
        pytest.skip("recorded corpus not found")
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream(exchange["response"]["sse"])
    assert (caught.value.kind, caught.value.status) == ("bad_request", 400)


@pytest.mark.parametrize("case", json.loads((FIXTURES / "errors.json").read_text()), ids=lambda case: case["name"])
def test_errors_are_classified(case):
    error = ADAPTER.decode_error(case["status"], case["headers"], case["body"].encode())
    assert (error.kind, error.retryable) == (case["kind"], case["retryable"])
    assert error.retry_after == pytest.approx(case["retry_after"])
    assert error.provider == "openai_chat"
    assert error.status == case["status"]


def test_error_message_says_what_to_do():
    error = ADAPTER.decode_error(
        404, {}, b'{"error": {"message": "model \\"llama3.2\\" not found, try pulling it first"}}'
    )
    assert 'model "llama3.2" not found' in str(error)
    assert "is it pulled or served there?" in str(error)


# --- streams -----------------------------------------------------------------------------------


def _sse(*chunks: dict[str, Any], done: bool = True) -> str:
    text = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks)
    return text + ("data: [DONE]\n\n" if done else "")


def _chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "llama3.2",
        **top,
        "choices": [choice],
    }


def test_streamed_tool_call_arguments_arrive_in_pieces_and_fold_into_one_call():
    sse = _sse(
        _chunk({"role": "assistant", "content": None}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"ci'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"Paris"}'}}]}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                    }
                ]
            }
        ),
        _chunk({}, "tool_calls"),
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "llama3.2",
            "choices": [],
            "usage": {
                "prompt_tokens": 30,
                "completion_tokens": 12,
                "total_tokens": 42,
                "prompt_tokens_details": {"cached_tokens": 16},
            },
        },
    )
    response = ADAPTER.decode_stream(sse)
    assert [(c.id, c.arguments) for c in response.message.tool_calls] == [
        ("call_1", {"city": "Paris"}),
        ("call_2", {"city": "Rome"}),
    ]
    assert response.stop_reason == "tool_calls"
    assert (response.usage.input_tokens, response.usage.cached_input_tokens) == (30, 16)


def test_streamed_reasoning_and_text_fold_into_their_parts():
    sse = _sse(
        _chunk({"role": "assistant", "reasoning_content": "The user "}),
        _chunk({"reasoning_content": "greets me."}),
        _chunk({"content": "Hel"}),
        _chunk({"content": "lo!"}, "stop"),
    )
    response = ADAPTER.decode_stream(sse)
    reasoning, text = response.message.parts
    assert isinstance(reasoning, ReasoningPart) and reasoning.text == "The user greets me."
    assert isinstance(text, TextPart) and text.text == "Hello!"
    assert response.stop_reason == "end_turn"


def test_stream_text_is_the_content_of_the_first_choice_only():
    assert ADAPTER.stream_text(_chunk({"content": "Hi"})) == "Hi"
    assert ADAPTER.stream_text(_chunk({"reasoning": "hmm"})) == ""
    assert ADAPTER.stream_text({"choices": [], "usage": {"prompt_tokens": 1}}) == ""


def test_openrouter_comment_lines_are_ignored():
    sse = ": OPENROUTER PROCESSING\n\n" + _sse(_chunk({"role": "assistant", "content": "ok"}, "stop"))
    assert ADAPTER.decode_stream(sse).message.text == "ok"


def test_stream_cut_before_its_end_raises_retryable_error():
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream(_sse(_chunk({"role": "assistant", "content": "Hel"}), done=False))
    assert caught.value.kind == "server_error"
    assert caught.value.retryable


def test_encoded_stream_sends_text_and_arguments_in_several_chunks():
    response = ModelResponse(
        provider="openai_chat",
        model="llama3.2",
        message=Message(
            role="assistant",
            parts=(
                TextPart(text="Let me look that up for you, one moment please."),
                ToolCallPart(id="call_1", name="get_weather", arguments_raw='{"city":"Paris","unit":"celsius"}'),
            ),
        ),
        stop_reason="tool_calls",
        usage=Usage(input_tokens=10, output_tokens=5),
    )
    chunks = sse_events(ADAPTER.encode_stream(response))
    texts = [ADAPTER.stream_text(chunk) for chunk in chunks if ADAPTER.stream_text(chunk)]
    pieces = [c for chunk in chunks for ch in chunk["choices"] for c in ch["delta"].get("tool_calls") or ()]
    assert len(texts) > 1 and "".join(texts) == response.message.text
    assert len(pieces) > 1 and all(p["index"] == 0 for p in pieces)
    assert ADAPTER.decode_stream(ADAPTER.encode_stream(response)) == ADAPTER.decode_response(
        ADAPTER.encode_response(response)
    )


def test_stream_chunks_parse_with_the_sdk():
    from openai.types.chat import ChatCompletionChunk

    response = ADAPTER.decode_response(_hand_built_response())
    for chunk in sse_events(ADAPTER.encode_stream(response)):
        ChatCompletionChunk.model_validate(chunk)


# --- meaning -----------------------------------------------------------------------------------


def _usage(**raw: Any) -> Usage:
    return ADAPTER.decode_response({"id": "x", "model": "m", "choices": [], "usage": raw}).usage


def test_cached_tokens_are_read_where_each_server_counts_them():
    openai = _usage(
        prompt_tokens=2006,
        completion_tokens=300,
        total_tokens=2306,
        prompt_tokens_details={"cached_tokens": 1920},
        completion_tokens_details={"reasoning_tokens": 192},
    )
    assert (openai.input_tokens, openai.cached_input_tokens, openai.reasoning_tokens) == (2006, 1920, 192)
    deepseek = _usage(
        prompt_tokens=100,
        completion_tokens=5,
        total_tokens=105,
        prompt_cache_hit_tokens=64,
        prompt_cache_miss_tokens=36,
        prompt_tokens_details={"cached_tokens": 0},
    )
    assert deepseek.cached_input_tokens == 64
    mistral = _usage(prompt_tokens=50, completion_tokens=5, total_tokens=55, num_cached_tokens=32)
    assert mistral.cached_input_tokens == 32
    assert (_usage(prompt_tokens=1, completion_tokens=1).cached_input_tokens) == 0


def test_tool_results_say_which_call_they_answer():
    request = ADAPTER.decode_request(
        {
            "model": "llama3.2",
            "messages": [
                {"role": "user", "content": "Weather in Paris and Rome?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_a",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        },
                        {
                            "id": "call_b",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": '{"city":"Rome"}'},
                        },
                    ],
                },
                {"role": "tool", "tool_call_id": "call_b", "content": "14:00"},
                {"role": "tool", "tool_call_id": "call_a", "content": "Sunny"},
            ],
        }
    )
    _user, assistant, tool = request.messages
    assert [c.arguments for c in assistant.tool_calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert [(r.call_id, r.name, r.text) for r in tool.parts if isinstance(r, ToolResultPart)] == [
        ("call_b", "get_time", "14:00"),
        ("call_a", "get_weather", "Sunny"),
    ]


def test_finish_stop_with_tool_calls_still_means_tool_calls():
    """Some servers (Ollama) finish a turn that calls tools with "stop"."""
    response = ADAPTER.decode_response(
        {
            "id": "x",
            "model": "llama3.2",
            "object": "chat.completion",
            "created": 1,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [
                            {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                        ],
                    },
                }
            ],
        }
    )
    assert (response.stop_reason, response.raw_stop_reason) == ("tool_calls", "stop")


def test_reasoning_of_a_response_is_not_sent_back_but_a_clients_own_is():
    response = ADAPTER.decode_response(
        {
            "id": "x",
            "model": "deepseek-reasoner",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2 is 4."},
                }
            ],
        }
    )
    (reasoning, _text) = response.message.parts
    assert isinstance(reasoning, ReasoningPart) and reasoning.text == "2+2 is 4."
    body = ADAPTER.encode_request(ModelRequest(model="deepseek-reasoner", messages=(response.message,)))
    assert body["messages"] == [{"role": "assistant", "content": "4"}]
    sent_back = {"role": "assistant", "content": "4", "reasoning": "2+2 is 4."}
    request = ADAPTER.decode_request({"model": "m", "messages": [sent_back]})
    assert ADAPTER.encode_request(request)["messages"] == [sent_back]


# --- hand-built conversations ------------------------------------------------------------------


WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"], "default": "C"}},
        "required": ["city"],
    },
)
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="


def _hand_built_request() -> ModelRequest:
    from durable_llm.conversation import OutputSchema, ToolChoice

    return ModelRequest(
        model="llama3.2",
        instructions="You are a concise weather assistant.",
        messages=(
            Message(
                role="user",
                parts=(
                    TextPart(text="Weather in Paris and Rome? Here is the sky and a recording."),
                    MediaPart(media_type="image", mime_type="image/png", data=PIXEL),
                    MediaPart(media_type="image", url="https://example.com/sky.jpg"),
                    MediaPart(media_type="audio", mime_type="audio/wav", data="UklGRg=="),
                ),
            ),
            Message(
                role="assistant",
                parts=(
                    ToolCallPart(id="call_paris", name="get_weather", arguments_raw='{"city":"Paris","unit":null}'),
                    ToolCallPart(id="call_rome", name="get_weather", arguments_raw='{"city":"Rome","unit":"C"}'),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id="call_paris", name="get_weather", content=(TextPart(text="12C, grey"),)),
                    ToolResultPart(
                        call_id="call_rome", name="get_weather", content=(TextPart(text="down"),), is_error=True
                    ),
                ),
            ),
        ),
        tools=(WEATHER,),
        tool_choice=ToolChoice(mode="auto"),
        temperature=0.2,
        max_output_tokens=500,
        stop=("\n\n\n",),
        seed=7,
        output_schema=OutputSchema(
            name="forecast",
            json_schema={
                "type": "object",
                "properties": {"summary": {"type": "string"}},
                "required": ["summary"],
                "additionalProperties": False,
            },
            strict=True,
        ),
        provider_options={"openai_chat": {"reasoning_effort": "low", "parallel_tool_calls": True}},
    )


def _hand_built_response() -> dict[str, Any]:
    return ADAPTER.encode_response(
        ModelResponse(
            id="chatcmpl-1",
            model="llama3.2",
            provider="openai_chat",
            message=Message(
                role="assistant",
                parts=(
                    ReasoningPart(text="Paris is grey."),
                    TextPart(text='{"summary": "Paris: 12C, grey. Rome: unknown."}'),
                    ToolCallPart(id=None, name="get_weather", arguments_raw='{"city":"Oslo"}'),
                ),
            ),
            usage=Usage(input_tokens=80, output_tokens=20, cached_input_tokens=64, reasoning_tokens=5),
            stop_reason="tool_calls",
        )
    )


def test_hand_built_request_matches_golden_file():
    golden = FIXTURES / "hand_built_request.json"
    assert ADAPTER.encode_request(_hand_built_request()) == json.loads(golden.read_text())


def test_hand_built_request_is_accepted_by_the_sdk_types():
    validate_openai_chat(ADAPTER.encode_request(_hand_built_request()))


def test_sdk_types_reject_a_malformed_body():
    body = ADAPTER.encode_request(_hand_built_request())
    body["messages"][1]["role"] = "robot"
    with pytest.raises(ValueError):
        validate_openai_chat(body)


def test_hand_built_request_decodes_back_to_the_same_conversation():
    request = _hand_built_request()
    back = ADAPTER.decode_request(ADAPTER.encode_request(request))
    assert back.instructions == request.instructions
    assert [m.role for m in back.messages] == ["user", "assistant", "tool"]
    assert [p.kind for p in back.messages[0].parts] == ["text", "media", "media", "media"]
    assert [(p.media_type, p.mime_type, p.data, p.url) for p in back.messages[0].parts if isinstance(p, MediaPart)] == [
        (p.media_type, p.mime_type, p.data, p.url) for p in request.messages[0].parts if isinstance(p, MediaPart)
    ]
    assert back.output_schema is not None and back.output_schema.json_schema == request.output_schema.json_schema
    assert (back.temperature, back.max_output_tokens, back.stop, back.seed) == (0.2, 500, ("\n\n\n",), 7)


def test_hand_built_response_parses_with_the_sdk():
    from openai.types.chat import ChatCompletion

    parsed = ChatCompletion.model_validate(_hand_built_response())
    message = parsed.choices[0].message
    assert message.tool_calls and message.tool_calls[0].id == "call_1"
    assert parsed.usage and parsed.usage.prompt_tokens_details
    assert parsed.usage.prompt_tokens_details.cached_tokens == 64


def test_tool_spec_is_strict_whenever_its_schema_allows():
    tool = ADAPTER.encode_tool(WEATHER)
    assert tool["function"]["strict"] is True
    assert tool["function"]["parameters"]["required"] == ["city", "unit"]
    loose = ADAPTER.encode_tool(WEATHER.model_copy(update={"strict": False}))
    assert (loose["function"]["strict"], loose["function"]["parameters"]) == (False, WEATHER.parameters)


def test_foreign_parts_tools_and_tokens_are_left_out():
    from durable_llm.conversation import ProviderTool

    token = ReasoningToken(provider="anthropic", api="messages", value="sig")
    request = ModelRequest(
        model="m",
        tools=(ProviderTool(provider="openai", body={"type": "web_search"}), WEATHER),
        messages=(
            Message(role="user", parts=(TextPart(text="hi"), ProviderPart(provider="anthropic", body={"type": "x"}))),
            Message(
                role="assistant",
                parts=(ReasoningPart(text="hmm", token=token), TextPart(text="hello"), RefusalPart(text="no")),
            ),
        ),
    )
    body = ADAPTER.encode_request(request)
    assert body["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello", "refusal": "no"},
    ]
    assert [tool["function"]["name"] for tool in body["tools"]] == ["get_weather"]


def test_a_structured_tool_result_and_its_media_from_another_vendor():
    request = ModelRequest(
        model="m",
        messages=(
            Message(
                role="assistant",
                parts=(
                    ToolCallPart(id="c1", name="f", arguments_raw="{}"),
                    ToolCallPart(id="c2", name="g", arguments_raw="{}"),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id="c1", name="f", value={"ok": True}),
                    ToolResultPart(
                        call_id="c2",
                        name="g",
                        content=(
                            TextPart(text="the chart:"),
                            MediaPart(media_type="image", mime_type="image/png", data=PIXEL),
                        ),
                    ),
                ),
            ),
        ),
    )
    body = ADAPTER.encode_request(request)
    validate_openai_chat(body)
    assert body["messages"][1:] == [
        {"role": "tool", "tool_call_id": "c1", "content": '{"ok":true}'},
        {"role": "tool", "tool_call_id": "c2", "content": "the chart:"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}}]},
    ]


def test_a_tool_call_without_id_asks_for_projection():
    request = ModelRequest(
        model="m", messages=(Message(role="assistant", parts=(ToolCallPart(id=None, name="f", arguments_raw="{}"),)),)
    )
    with pytest.raises(ValueError, match="project"):
        ADAPTER.encode_request(request)


def test_options_are_checked_against_their_types():
    with pytest.raises(ValueError, match="parallel_tool_calls"):
        ADAPTER.encode_request(ModelRequest(model="m", provider_options={"openai_chat": {"parallel_tool_calls": "x"}}))
    assert ChatCompletionsOptions.model_validate({"reasoning_format": "parsed"}).model_extra == {
        "reasoning_format": "parsed"
    }


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"model": "m"}, "messages"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"model": "m", "messages": [{"role": "system", "content": "s"}, 3]}, "messages[1]"),
        (
            {"model": "m", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": 3}]}]},
            "messages[0].tool_calls[0].function",
        ),
    ],
)
def test_malformed_request_names_the_json_path(body, path):
    with pytest.raises(MalformedBody) as caught:
        ADAPTER.decode_request(body)
    assert caught.value.path == path


def test_malformed_response_names_the_json_path():
    with pytest.raises(MalformedBody) as caught:
        ADAPTER.decode_response({"id": "x", "choices": [{"index": 0}]})
    assert caught.value.path == "choices[0].message"


def test_registry_finds_the_adapter():
    adapter = get_adapter("openai_chat")
    assert (adapter.name, adapter.api) == ("openai_chat", "chat_completions")
    assert adapter is ADAPTER


# --- projection ----------------------------------------------------------------------------------


def _recorded_histories() -> list[Any]:
    found = [ex for ex in exchanges(API) if "tool_result" in ex["tags"] and ex["response"]["status"] == 200]
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason="recorded corpus not found"))]
    return [pytest.param(ex, id=ex["file"]) for ex in found]


@pytest.mark.parametrize("target", ["openai", "anthropic", "gemini"])
@pytest.mark.parametrize("exchange", _recorded_histories())
def test_recorded_histories_with_tool_calls_project_to_every_vendor(exchange, target):
    """Every recorded Chat Completions history with tool results, continued on another vendor."""
    recorded = ADAPTER.decode_request(exchange["request"]["body"])
    messages, _report = project(recorded.messages, target, None)
    target_adapter = get_adapter(target)
    body = target_adapter.encode_request(
        ModelRequest(
            model="any-model",
            instructions=recorded.instructions,
            messages=messages,
            tools=tuple(t for t in recorded.tools if isinstance(t, ToolSpec)),
        )
    )
    if target == "gemini":
        body.pop("model", None)
    validate_request(target, body)
    back = target_adapter.decode_request(body).messages
    calls = [p for m in back for p in m.parts if isinstance(p, ToolCallPart)]
    results = [p for m in back for p in m.parts if isinstance(p, ToolResultPart)]
    assert len(calls) == sum(len(m.tool_calls) for m in recorded.messages)
    assert len(results) == sum(isinstance(p, ToolResultPart) for m in recorded.messages for p in m.parts)
    if target != "gemini":
        assert {r.call_id for r in results} <= {c.id for c in calls}


@pytest.mark.parametrize("source", ["openai", "anthropic", "gemini"])
def test_other_vendors_histories_project_to_chat_completions(source):
    history = conversation_on(source)
    messages, report = project(history, "openai_chat", "llama3.2")
    body = ADAPTER.encode_request(
        ModelRequest(
            model="llama3.2", instructions="You are a weather assistant.", messages=messages, tools=(CROSS_WEATHER,)
        )
    )
    validate_openai_chat(body)
    calls = [c for m in body["messages"] for c in m.get("tool_calls") or ()]
    results = [m for m in body["messages"] if m["role"] == "tool"]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert not [p for m in messages for p in m.parts if isinstance(p, ReasoningPart) and p.token]
    assert len(report.of("rewritten")) == (4 if source == "gemini" else 0)


def test_projection_makes_tool_call_ids_chat_completions_takes():
    long_id = "fc_" + "x" * 60 + "|rs_1"
    history = (
        Message(role="assistant", parts=(ToolCallPart(id=long_id, name="f", arguments_raw="{}"),)),
        Message(role="tool", parts=(ToolResultPart(call_id=long_id, name="f", content=(TextPart(text="ok"),)),)),
    )
    messages, report = project(history, "openai_chat")
    (call,) = messages[0].tool_calls
    (result,) = messages[1].parts
    assert isinstance(result, ToolResultPart) and result.call_id == call.id
    assert call.id is not None and len(call.id) <= 40 and "|" not in call.id
    assert [c.action for c in report.changes] == ["rewritten", "rewritten"]


def test_media_chat_completions_cannot_carry_becomes_a_note_for_the_model():
    request = ModelRequest(
        model="m",
        messages=(
            Message(
                role="user",
                parts=(
                    MediaPart(media_type="image", file_id="file-abc"),
                    MediaPart(media_type="document", mime_type="application/pdf", url="https://example.com/a.pdf"),
                ),
            ),
        ),
    )
    body = ADAPTER.encode_request(request)
    validate_openai_chat(body)
    assert [part["text"] for part in body["messages"][0]["content"]] == [
        "[image file-abc: not sent, Chat Completions cannot carry it]",
        "[document https://example.com/a.pdf: not sent, Chat Completions cannot carry it]",
    ]


def test_mistral_thinking_parts_are_reasoning_and_go_back_only_as_the_client_sent_them():
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "Rivers are deep."}]}
    answer = {"role": "assistant", "content": [thinking, {"type": "text", "text": "Use a bridge."}]}
    response = ADAPTER.decode_response(
        {"id": "x", "model": "magistral", "choices": [{"index": 0, "finish_reason": "stop", "message": answer}]}
    )
    reasoning, text = response.message.parts
    assert isinstance(reasoning, ReasoningPart) and reasoning.text == "Rivers are deep."
    assert isinstance(text, TextPart) and text.text == "Use a bridge."
    assert ADAPTER.encode_request(ModelRequest(model="m", messages=(response.message,)))["messages"] == [
        {"role": "assistant", "content": "Use a bridge."}
    ]
    resent = ADAPTER.decode_request({"model": "m", "messages": [answer]})
    assert ADAPTER.encode_request(resent)["messages"] == [answer]
    assert (
        ADAPTER.stream_text(
            {"choices": [{"index": 0, "delta": {"content": [thinking, {"type": "text", "text": "Hi"}]}}]}
        )
        == "Hi"
    )


def test_a_custom_tool_call_is_a_tool_call_with_its_free_form_input():
    call = {"id": "call_1", "type": "custom", "custom": {"name": "run_sql", "input": "SELECT 1"}}
    body = {
        "model": "gpt-5",
        "messages": [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "1"},
        ],
    }
    request = ADAPTER.decode_request(body)
    (part,) = request.messages[0].tool_calls
    assert (part.id, part.name, part.arguments_raw) == ("call_1", "run_sql", "SELECT 1")
    assert ADAPTER.encode_request(request) == body
    response = ADAPTER.decode_response(
        {
            "id": "x",
            "model": "gpt-5",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": body["messages"][0]}],
        }
    )
    history = ADAPTER.encode_request(ModelRequest(model="gpt-5", messages=(response.message,)))
    assert history["messages"][0]["tool_calls"] == [call]


def test_a_tool_message_with_a_part_of_unknown_kind_is_kept_whole():
    body = {
        "model": "m",
        "messages": [
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
            },
            {
                "role": "tool",
                "tool_call_id": "c",
                "content": [{"type": "document_url", "document_url": "https://x/a.pdf"}],
            },
        ],
    }
    request = ADAPTER.decode_request(body)
    (result,) = request.messages[1].parts
    assert isinstance(result, ToolResultPart) and result.call_id == "c"
    assert ADAPTER.encode_request(request) == body


def test_url_annotations_are_citations_of_the_answer_text():
    annotation = {
        "type": "url_citation",
        "url_citation": {"url": "https://ai.pydantic.dev", "title": "Pydantic AI", "start_index": 0, "end_index": 11},
    }
    message = {"role": "assistant", "content": "Pydantic AI is an agent framework.", "annotations": [annotation]}
    body = {"id": "x", "model": "m", "choices": [{"index": 0, "finish_reason": "stop", "message": message}]}
    response = ADAPTER.decode_response(body)
    (text,) = response.message.parts
    assert isinstance(text, TextPart)
    assert [(c.kind, c.url, c.title, c.start_index, c.end_index) for c in text.citations] == [
        ("url", "https://ai.pydantic.dev", "Pydantic AI", 0, 11)
    ]
    assert ADAPTER.encode_response(response) == body
    history = ADAPTER.encode_request(ModelRequest(model="m", messages=(response.message,)))
    assert history["messages"] == [{"role": "assistant", "content": "Pydantic AI is an agent framework."}]
