"""The OpenAI Responses adapter against recorded traffic (../shared/corpus/openai_responses) and our fixtures.

Chains: the history decoded from request n plus the message of response n, encoded again, must
start request n+1. The recording libraries rewrite some history before resending it, so a chain
that is not exact is compared again after this normalisation of BOTH sides, and nothing else:

1. an item's "status" is dropped (pydantic-ai and mirascope resend items without it);
2. an output_text part's "logprobs" is dropped (pydantic-ai resends output text without it);
3. an assistant message item counts as its role and its text (pydantic-ai resends some
   assistant messages as `{"role": "assistant", "content": text}`, without id or type);
4. curly quotes and dashes count as their ASCII forms (pydantic-ai's recorder rewrites them in
   JSON bodies but not in raw SSE text, see the corpus README).

Chains still different after that are the libraries' own rewrites, each listed with its reason in
fixtures/openai/chain_rewrites.json and run as strict xfail.
"""

from __future__ import annotations

import copy
import itertools
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from corpus import chains, corpus_params
from pydantic import TypeAdapter, ValidationError
from sdk_validation import validate_openai

from durable_llm.conversation import (
    Citation,
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    ProviderPart,
    ProviderTool,
    ReasoningPart,
    ReasoningToken,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    Usage,
    project,
    strict_schema,
)
from durable_llm.providers import Adapter, MalformedBody, ProviderError, get_adapter
from durable_llm.providers._wire import sse_events
from durable_llm.providers.openai import ADAPTER, OpenAIOptions

API = "openai_responses"
FIXTURES = Path(__file__).parent / "fixtures" / "openai"


def _final_response(sse: str) -> dict[str, Any]:
    """The response object of the stream's last response.completed / response.incomplete event."""
    final = None
    for line in sse.splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:])
            if event.get("type") in ("response.completed", "response.incomplete"):
                final = event["response"]
    assert final is not None, "no final response event in the recording"
    return final


def _response_of(exchange: dict[str, Any]) -> ModelResponse:
    response = exchange["response"]
    if response["sse"]:
        return ADAPTER.decode_stream(response["sse"])
    return ADAPTER.decode_response(response["body"])


# --- corpus round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", corpus_params(API))
def test_request_round_trips_exactly(exchange):
    body = exchange["request"]["body"]
    request = ADAPTER.decode_request(body)
    assert ADAPTER.encode_request(request) == body
    assert ModelRequest.model_validate_json(request.model_dump_json()) == request


@pytest.mark.parametrize(
    "exchange",
    corpus_params(API, lambda ex: ex["response"]["status"] == 200 and isinstance(ex["response"]["body"], dict)),
)
def test_response_round_trips_exactly(exchange):
    body = exchange["response"]["body"]
    response = ADAPTER.decode_response(body)
    assert ADAPTER.encode_response(response) == body
    assert ModelResponse.model_validate_json(response.model_dump_json()) == response


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["sse"] is not None))
def test_stream_folds_into_the_completed_response(exchange):
    sse = exchange["response"]["sse"]
    folded = ADAPTER.decode_stream(sse)
    assert folded == ADAPTER.decode_response(_final_response(sse))
    assert ADAPTER.decode_response(ADAPTER.encode_response(folded)) == folded
    assert ModelResponse.model_validate_json(folded.model_dump_json()) == folded


@pytest.mark.parametrize(
    "exchange", corpus_params(API, lambda ex: isinstance((ex["response"]["body"] or {}).get("usage"), dict))
)
def test_usage_reads_cached_and_reasoning_tokens(exchange):
    raw = exchange["response"]["body"]["usage"]
    usage = ADAPTER.decode_response(exchange["response"]["body"]).usage
    assert (usage.input_tokens, usage.output_tokens) == (raw["input_tokens"], raw["output_tokens"])
    assert usage.cached_input_tokens == raw["input_tokens_details"]["cached_tokens"]
    assert usage.reasoning_tokens == raw["output_tokens_details"]["reasoning_tokens"]


@pytest.mark.parametrize(
    "exchange", corpus_params(API, lambda ex: ex["response"]["status"] == 200 and ex["response"]["body"] is not None)
)
def test_stop_reason_follows_status_and_tool_calls(exchange):
    body = exchange["response"]["body"]
    response = ADAPTER.decode_response(body)
    kinds = {item["type"] for item in body["output"]}
    kinds |= {part["type"] for item in body["output"] if item["type"] == "message" for part in item["content"]}
    if body["status"] == "completed":
        expected = "tool_calls" if "function_call" in kinds else "refusal" if "refusal" in kinds else "end_turn"
        assert (response.stop_reason, response.raw_stop_reason) == (expected, "completed")
    elif body["status"] == "incomplete":
        reason = body["incomplete_details"]["reason"]
        expected = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}.get(reason, "other")
        assert (response.stop_reason, response.raw_stop_reason) == (expected, reason)
    else:
        assert (response.stop_reason, response.raw_stop_reason) == ("other", body["status"])


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: "tool_result" in ex["tags"]))
def test_function_call_outputs_carry_the_name_of_their_call(exchange):
    request = ADAPTER.decode_request(exchange["request"]["body"])
    calls = {p.id: p.name for m in request.messages for p in m.parts if isinstance(p, ToolCallPart)}
    results = [p for m in request.messages for p in m.parts if isinstance(p, ToolResultPart)]
    assert all(result.name == calls.get(result.call_id) for result in results)
    assert any(result.name is not None for result in results) or not calls


# --- chains ------------------------------------------------------------------------------------


_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "--"})


def _ascii(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_ASCII)
    if isinstance(value, dict):
        return {key: _ascii(nested) for key, nested in value.items()}
    if isinstance(value, list):
        return [_ascii(nested) for nested in value]
    return value


def _normalise(items: list[Any]) -> list[Any]:
    out = []
    for item in copy.deepcopy(items):
        item.pop("status", None)
        content = item.get("content")
        if isinstance(content, list):
            for part in content:
                part.pop("logprobs", None)
        if item.get("role") == "assistant" and item.get("type", "message") == "message":
            texts = [content] if isinstance(content, str) else [p.get("text", p.get("refusal")) for p in content]
            item = {"role": "assistant", "text": "".join(texts)}
        out.append(_ascii(item))
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
    history = ModelRequest(model=request.model, messages=(*request.messages, _response_of(previous).message))
    ours = ADAPTER.encode_request(history)["input"]
    theirs = following["request"]["body"]["input"]
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
    print(f"\nOpenAI chains: {counts}")
    assert counts["library rewrite"] == len(_chain_rewrites())


# --- streams -----------------------------------------------------------------------------------


def test_stream_error_event_raises_retryable_overloaded():
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream((FIXTURES / "stream_error_event.sse").read_text())
    assert caught.value.kind == "overloaded"
    assert caught.value.retryable


def test_stream_failed_response_raises_its_classified_error():
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream((FIXTURES / "stream_failed.sse").read_text())
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 2.0


def test_stream_cut_before_completion_raises_retryable_error():
    with pytest.raises(ProviderError) as caught:
        ADAPTER.decode_stream((FIXTURES / "stream_truncated.sse").read_text())
    assert caught.value.kind == "server_error"
    assert caught.value.retryable


def test_stream_output_comes_from_done_items_when_final_output_is_empty():
    response = ADAPTER.decode_stream((FIXTURES / "stream_output_from_items.sse").read_text())
    (call,) = response.message.tool_calls
    assert (call.id, call.name, call.arguments) == ("call_fixture_4", "get_weather", {"city": "Paris"})
    assert response.stop_reason == "tool_calls"
    assert response.usage.input_tokens == 40


# --- errors ------------------------------------------------------------------------------------

_CORPUS_ERROR_KINDS = {"invalid_api_key": "authentication", "model_not_found": "not_found"}


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["status"] >= 400))
def test_recorded_errors_are_classified(exchange):
    body = exchange["response"]["body"]
    error = ADAPTER.decode_error(exchange["response"]["status"], {}, json.dumps(body).encode())
    assert error.kind == _CORPUS_ERROR_KINDS.get(body["error"]["code"], "bad_request")
    assert not error.retryable
    assert body["error"]["message"] in error.message


@pytest.mark.parametrize("case", json.loads((FIXTURES / "errors.json").read_text()), ids=lambda case: case["name"])
def test_errors_are_classified(case):
    error = ADAPTER.decode_error(case["status"], case["headers"], case["body"].encode())
    assert (error.kind, error.retryable) == (case["kind"], case["retryable"])
    assert error.retry_after == pytest.approx(case["retry_after"])
    assert error.provider == "openai"
    assert error.status == case["status"]


def test_error_message_says_what_to_do():
    error = ADAPTER.decode_error(
        429,
        {},
        b'{"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota",'
        b' "code": "insufficient_quota"}}',
    )
    assert "You exceeded your current quota." in str(error)
    assert "retrying will not help" in str(error)


# --- hand-built conversations ------------------------------------------------------------------


def _hand_built_request() -> ModelRequest:
    weather = ToolSpec(
        name="get_weather",
        description="Current weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
            "required": ["city"],
        },
    )
    return ModelRequest(
        model="gpt-5",
        instructions="You are a concise weather assistant.",
        messages=(
            Message(
                role="user",
                parts=(
                    TextPart(text="What's the weather in Paris and Rome? Here is a photo and a map."),
                    MediaPart(media_type="image", url="https://example.com/paris.jpg"),
                    MediaPart(media_type="image", mime_type="image/png", data="iVBORw0KGgoAAAANSUhEUg=="),
                ),
            ),
            Message(
                role="assistant",
                parts=(
                    ReasoningPart(
                        summary=("Both cities are needed; call the tool twice.",),
                        token=ReasoningToken(provider="openai", api="responses", model="gpt-5", value="gAAAAB-opaque"),
                        provider_details={"openai": {"id": "rs_hand_built_1"}},
                    ),
                    ToolCallPart(id="call_paris", name="get_weather", arguments_raw='{"city":"Paris"}'),
                    ToolCallPart(id="call_rome", name="get_weather", arguments_raw='{"city":"Rome"}'),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id="call_paris", name="get_weather", content=(TextPart(text="18 C, sunny"),)),
                    ToolResultPart(
                        call_id="call_rome",
                        name="get_weather",
                        content=(TextPart(text="error: the weather service is unavailable"),),
                        is_error=True,
                    ),
                ),
            ),
            Message(role="assistant", parts=(TextPart(text="Paris: 18 C and sunny. Rome: unavailable right now."),)),
            Message(role="user", parts=(TextPart(text="Thanks!"),)),
        ),
        tools=(weather,),
        tool_choice=ToolChoice(mode="auto"),
        max_output_tokens=800,
        provider_options={
            "openai": {
                "store": False,
                "include": ["reasoning.encrypted_content"],
                "reasoning": {"effort": "low", "summary": "auto"},
            }
        },
    )


def test_hand_built_request_matches_golden_file():
    golden = json.loads((FIXTURES / "hand_built_request.json").read_text())
    assert ADAPTER.encode_request(_hand_built_request()) == golden


def test_hand_built_request_is_accepted_by_the_sdk_types():
    validate_openai(ADAPTER.encode_request(_hand_built_request()))


@pytest.mark.parametrize(
    "break_body",
    [
        lambda body: body["input"][0]["content"][0].update(type="text"),
        lambda body: body["input"][1].pop("id"),
        lambda body: body["input"][2].pop("call_id"),
        lambda body: body["input"][0].update(bogus=1),
    ],
    ids=["unknown content type", "reasoning without id", "call without call_id", "unknown key"],
)
def test_sdk_types_reject_a_malformed_body(break_body):
    body = ADAPTER.encode_request(_hand_built_request())
    break_body(body)
    with pytest.raises(ValidationError):
        validate_openai(body)


def test_hand_built_request_decodes_back_to_the_same_conversation():
    request = _hand_built_request()
    decoded = ADAPTER.decode_request(ADAPTER.encode_request(request))
    assert ADAPTER.encode_request(decoded) == ADAPTER.encode_request(request)
    assert [m.role for m in decoded.messages] == [m.role for m in request.messages]
    assert [len(m.parts) for m in decoded.messages] == [len(m.parts) for m in request.messages]
    assert decoded.messages[1].tool_calls[1].arguments == {"city": "Rome"}


def test_hand_built_response_parses_with_the_sdk():
    from openai.types.responses import Response

    response = ModelResponse(
        provider="openai",
        model="gpt-5",
        message=Message(
            role="assistant",
            parts=(
                ReasoningPart(summary=("Looked it up.",)),
                TextPart(
                    text="Paris is sunny.",
                    citations=(Citation(url="https://example.com/w", title="Weather", start_index=0, end_index=15),),
                ),
                ToolCallPart(id="call_1", name="get_weather", arguments_raw='{"city":"Rome"}'),
            ),
        ),
        usage=Usage(input_tokens=30, output_tokens=20, cached_input_tokens=10, reasoning_tokens=5),
        stop_reason="tool_calls",
    )
    body = ADAPTER.encode_response(response)
    parsed = Response.model_validate(body)
    assert [item.type for item in parsed.output] == ["reasoning", "message", "function_call"]
    assert parsed.output_text == "Paris is sunny."
    assert parsed.usage is not None and parsed.usage.input_tokens_details.cached_tokens == 10
    decoded = ADAPTER.decode_response(body)
    assert decoded.message.text == "Paris is sunny."
    assert decoded.message.tool_calls[0].arguments == {"city": "Rome"}
    assert (decoded.usage.input_tokens, decoded.usage.reasoning_tokens) == (30, 5)
    assert decoded.stop_reason == "tool_calls"


def test_sdk_client_sends_our_body_unchanged_and_reads_our_response():
    import httpx2  # the HTTP client the openai SDK is built on
    import openai

    sent: list[Any] = []
    answer = ModelResponse(
        provider="openai", model="gpt-5", message=Message(role="assistant", parts=(TextPart(text="You're welcome."),))
    )

    def vendor(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.content))
        return httpx2.Response(200, json=ADAPTER.encode_response(answer))

    transport = httpx2.Client(transport=httpx2.MockTransport(vendor))
    client = openai.OpenAI(api_key="sk-test", base_url="http://vendor.test/v1", http_client=transport, max_retries=0)
    body = ADAPTER.encode_request(_hand_built_request())
    result = client.responses.create(**body)
    assert sent == [body]
    assert result.output_text == "You're welcome."


def test_hand_built_refusal_and_max_tokens_encode_as_the_vendor_does():
    response = ModelResponse(
        provider="openai",
        model="gpt-5",
        message=Message(role="assistant", parts=(RefusalPart(text="I can't help with that."),)),
        stop_reason="max_tokens",
    )
    body = ADAPTER.encode_response(response)
    assert (body["status"], body["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})
    assert body["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]


def test_foreign_parts_tools_and_tokens_are_left_out():
    request = ModelRequest(
        model="gpt-5",
        messages=(
            Message(role="user", parts=(TextPart(text="hi"),)),
            Message(
                role="assistant",
                parts=(
                    ReasoningPart(
                        text="thinking", token=ReasoningToken(provider="anthropic", api="messages", value="sig")
                    ),
                    ProviderPart(provider="anthropic", body={"type": "server_tool_use", "id": "srvtoolu_1"}),
                    TextPart(text="hello"),
                ),
            ),
        ),
        tools=(ProviderTool(provider="gemini", body={"googleSearch": {}}),),
    )
    body = ADAPTER.encode_request(request)
    assert body == {
        "model": "gpt-5",
        "input": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    }


def test_a_structured_tool_result_from_gemini_is_sent_as_compact_json():
    gemini_body = json.loads((FIXTURES.parent / "gemini" / "tool_turn_request.json").read_text())
    messages, _report = project(get_adapter("gemini").decode_request(gemini_body).messages, "openai", "gpt-5")
    body = ADAPTER.encode_request(ModelRequest(model="gpt-5", messages=messages))
    assert body["input"][-1] == {
        "type": "function_call_output",
        "call_id": body["input"][-2]["call_id"],
        "output": '{"sky":"dégagé","temp_c":21}',
    }


def test_tool_spec_is_strict_whenever_its_schema_allows():
    parameters = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "default": 1}},
        "required": ["city"],
    }
    encoded = ADAPTER.encode_tool(ToolSpec(name="forecast", parameters=parameters))
    assert encoded["strict"] is True
    assert encoded["parameters"] == strict_schema(parameters)[0]


def test_tool_spec_stays_loose_when_its_schema_cannot_be_strict():
    parameters = {
        "type": "object",
        "properties": {"tags": {"type": "object", "additionalProperties": {"type": "string"}}},
    }
    encoded = ADAPTER.encode_tool(ToolSpec(name="tag", parameters=parameters))
    assert (encoded["strict"], encoded["parameters"]) == (False, parameters)


def test_tool_spec_with_explicit_strict_is_sent_as_given():
    parameters = {"type": "object", "properties": {"city": {"type": "string"}}}
    encoded = ADAPTER.encode_tool(ToolSpec(name="w", description=None, parameters=parameters, strict=False))
    assert encoded == {"type": "function", "name": "w", "description": None, "parameters": parameters, "strict": False}


def test_options_are_checked_against_their_types():
    with pytest.raises(ValidationError):
        ADAPTER.encode_request(ModelRequest(model="gpt-5", provider_options={"openai": {"include": "reasoning"}}))
    assert OpenAIOptions.model_validate({"store": False, "future_setting": 1}).model_extra == {"future_setting": 1}


# --- malformed bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": ["hi"]}, "input[0]"),
        (
            {
                "model": "m",
                "input": [
                    {"role": "user", "content": "a"},
                    {"role": "assistant", "content": "b"},
                    {"role": "user", "content": "c"},
                    {"role": "user", "content": [{"type": "bogus"}]},
                ],
            },
            "input[3].content[0].type",
        ),
        ({"model": "m", "input": [{"type": "function_call", "name": "f", "arguments": "{}"}]}, "input[0].call_id"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": 1}]}]},
            "input[0].content[0].text",
        ),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output"),
    ],
)
def test_malformed_request_names_the_json_path(body, path):
    with pytest.raises(MalformedBody) as caught:
        ADAPTER.decode_request(body)
    assert caught.value.path == path


def test_malformed_response_names_the_json_path():
    with pytest.raises(MalformedBody) as caught:
        ADAPTER.decode_response({"id": "resp_1", "output": [{"type": "message", "role": "assistant", "content": 5}]})
    assert caught.value.path == "output[0].content"


# --- registry and speed ------------------------------------------------------------------------


def test_registry_finds_the_adapter():
    adapter: Adapter = ADAPTER
    assert get_adapter("openai") is adapter
    assert (ADAPTER.name, ADAPTER.api) == ("openai", "responses")


def _long_history_body(turns: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for n in range(turns):
        items += [
            {"role": "user", "content": f"Question {n}: what is the weather like in city number {n}?"},
            {"type": "reasoning", "id": f"rs_{n}", "summary": [], "encrypted_content": "gAAAAB" + "x" * 400},
            {
                "type": "function_call",
                "id": f"fc_{n}",
                "call_id": f"call_{n}",
                "name": "get_weather",
                "arguments": json.dumps({"city": f"city {n}"}),
                "status": "completed",
            },
            {"type": "function_call_output", "call_id": f"call_{n}", "output": "sunny, 20 C " * 10},
            {
                "type": "message",
                "id": f"msg_{n}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "It is sunny. " * 20, "annotations": [], "logprobs": []}],
            },
        ]
    return {"model": "gpt-5", "input": items}


def test_two_hundred_message_history_round_trips_unchanged():
    # Its speed (goal: under 5 ms) is measured by bench/adapters.py, not asserted here.
    body = _long_history_body(50)  # 50 turns of user, assistant (reasoning + call), tool, assistant text
    assert len(ADAPTER.decode_request(body).messages) == 200
    assert ADAPTER.encode_request(ADAPTER.decode_request(body)) == body


# --- streaming a response ----------------------------------------------------------------------


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["status"] == 200))
def test_response_streams_and_folds_back_unchanged(exchange):
    response = _response_of(exchange)
    sse = ADAPTER.encode_stream(response)
    assert ADAPTER.decode_stream(sse) == ADAPTER.decode_response(ADAPTER.encode_response(response))
    events = sse_events(sse)
    assert [event["sequence_number"] for event in events] == list(range(len(events)))
    done_items = [event["item"] for event in events if event["type"] == "response.output_item.done"]
    assert done_items == events[-1]["response"]["output"]


_ANSWER = (
    "Rome is warm today: 24 degrees at noon, a light westerly breeze and clear skies until the evening, "
    "when clouds come in from the sea. Tomorrow looks much the same, with a small chance of rain at night."
)
_ARGUMENTS = {"city": "Rome", "days": 3, "units": "celsius", "hourly": True, "include": ["wind", "rain"]}


def _streamed_answer() -> ModelResponse:
    """An answer with reasoning, a text of about 200 characters and a tool call, as a model streams it."""
    parts = (
        ReasoningPart(summary=("Checked the forecast.",)),
        TextPart(text=_ANSWER),
        ToolCallPart(id="call_1", name="get_weather", arguments_raw=json.dumps(_ARGUMENTS)),
    )
    return ModelResponse(provider="openai", model="gpt-5", message=Message(role="assistant", parts=parts))


def test_streamed_text_arrives_in_several_deltas():
    events = sse_events(ADAPTER.encode_stream(_streamed_answer()))
    deltas = [event for event in events if event["type"] == "response.output_text.delta"]
    assert len(deltas) >= 5
    assert "".join(ADAPTER.stream_text(event) for event in events) == _ANSWER


def test_streamed_function_call_arguments_arrive_in_pieces():
    sse = ADAPTER.encode_stream(_streamed_answer())
    events = sse_events(sse)
    pieces = [event["delta"] for event in events if event["type"] == "response.function_call_arguments.delta"]
    assert len(pieces) > 1
    assert json.loads("".join(pieces)) == _ARGUMENTS
    assert [call.arguments for call in ADAPTER.decode_stream(sse).message.tool_calls] == [_ARGUMENTS]


def test_stream_events_parse_with_the_sdk():
    from openai.types.responses import ResponseStreamEvent

    events = sse_events(ADAPTER.encode_stream(_streamed_answer()))
    parsed = [TypeAdapter(ResponseStreamEvent).validate_python(event) for event in events]
    assert [event.type for event in parsed][:2] == ["response.created", "response.in_progress"]
    assert parsed[-1].type == "response.completed"


@pytest.mark.parametrize(
    "output",
    [
        {"type": "custom_tool_call_output", "call_id": "call_1", "output": "done"},
        {"type": "shell_call_output", "call_id": "call_1", "output": [{"stdout": "ok", "stderr": ""}]},
        {"type": "tool_search_output", "call_id": "call_1", "execution": "client", "status": "completed", "tools": []},
    ],
    ids=lambda output: output["type"],
)
def test_a_client_executed_tool_output_starts_a_message_after_the_call(output):
    call = {"type": "custom_tool_call", "call_id": "call_1", "name": "apply", "input": "x"}
    user = {"role": "user", "content": "go"}
    turn = ADAPTER.decode_request({"model": "gpt-5", "input": [user, call]})
    following = ADAPTER.decode_request(
        {"model": "gpt-5", "input": [user, call, output, {"role": "assistant", "content": "Applied."}]}
    )
    # The history grows by appending: the earlier request's messages are a prefix of the next one's.
    assert following.messages[: len(turn.messages)] == turn.messages
    assert [m.role for m in following.messages] == ["user", "assistant", "tool", "assistant"]
    assert ADAPTER.encode_request(following)["input"][2] == output
