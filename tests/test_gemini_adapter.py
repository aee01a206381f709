"""The Gemini adapter on the recorded corpus, our own fixtures, and hand-built conversations.

Chains (request n + response n == the start of request n+1) are compared exactly first. The
libraries that recorded the corpus rewrite the history they resend, so a failing chain is
compared again after these rules, applied to both sides, each undoing one library rewrite:

1. google-genai re-serialises history with snake_case keys (`function_call`, `tool_type`) and
   URL-safe base64 thought signatures: keys are camelCased (not inside `args` / `response`
   data) and signatures compared in standard base64.
2. pydantic-ai gives a function call the model sent without an id an id of its own: a
   functionCall id the response did not have is ignored.
3. mirascope resends every streamed chunk as a part of its own: adjacent text parts of one kind
   are joined (Gemini treats them as one).
4. pydantic-ai rebuilds built-in `toolCall` parts with an empty `args`: an empty `args` the
   response did not have is ignored.

One chain is xfail: pydantic-ai rebuilds a file-search `toolResponse` from groundingMetadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from corpus import chains, corpus_params
from google.genai import types
from inline_snapshot import snapshot
from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from durable_llm.conversation import (
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    OutputSchema,
    ProviderPart,
    ProviderTool,
    ReasoningPart,
    ReasoningToken,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    Usage,
)
from durable_llm.providers import MalformedBody, get_adapter
from durable_llm.providers._wire import sse_events
from durable_llm.providers.errors import Overloaded
from durable_llm.providers.gemini import ADAPTER, GeminiOptions, openapi_to_json_schema

API = "gemini_generate_content"
FIXTURES = Path(__file__).parent / "fixtures" / "gemini"
SIGNATURE = ReasoningToken(
    provider="gemini", api="generate_content", model="gemini-2.5-flash", value="CiQBcsjaZml4dHVyZQ=="
)
GIF_1X1 = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def _stream_text(exchange: dict[str, Any]) -> str:
    response = exchange["response"]
    return response["sse"] if response["sse"] else json.dumps(response["body"])


def _is_stream(exchange: dict[str, Any]) -> bool:
    response = exchange["response"]
    return response["status"] == 200 and (response["sse"] is not None or isinstance(response["body"], list))


def _chunks(exchange: dict[str, Any]) -> list[dict[str, Any]]:
    response = exchange["response"]
    if not response["sse"]:
        return response["body"]
    return [json.loads(line[5:]) for line in response["sse"].splitlines() if line.startswith("data:")]


# --- corpus round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", corpus_params(API))
def test_every_recorded_request_round_trips_exactly(exchange):
    body = exchange["request"]["body"]
    request = ADAPTER.decode_request(body)
    assert request.model is None
    assert ADAPTER.encode_request(request) == body
    assert ModelRequest.model_validate_json(request.model_dump_json()) == request
    GeminiOptions.model_validate(request.provider_options.get("gemini", {}))


@pytest.mark.parametrize(
    "exchange",
    corpus_params(API, lambda ex: ex["response"]["status"] == 200 and isinstance(ex["response"]["body"], dict)),
)
def test_every_recorded_response_round_trips_exactly(exchange):
    body = exchange["response"]["body"]
    response = ADAPTER.decode_response(body)
    assert ADAPTER.encode_response(response) == body
    assert ModelResponse.model_validate_json(response.model_dump_json()) == response
    assert response.model == body["modelVersion"] and response.id == body["responseId"]
    assert response.raw_stop_reason == body["candidates"][0].get("finishReason")


@pytest.mark.parametrize("exchange", corpus_params(API, _is_stream))
def test_every_recorded_stream_folds_into_the_parts_it_streamed(exchange):
    response = ADAPTER.decode_stream(_stream_text(exchange))
    chunks = _chunks(exchange)
    parts = [part for chunk in chunks for c in chunk.get("candidates", []) for part in c["content"].get("parts", [])]

    answer = "".join(p["text"] for p in parts if "text" in p and not p.get("thought"))
    thoughts = "".join(p["text"] for p in parts if p.get("thought"))
    assert response.message.text == answer
    assert "".join(p.text or "" for p in response.message.parts if isinstance(p, ReasoningPart)) == thoughts
    assert [(c.name, c.arguments) for c in response.message.tool_calls] == [
        (p["functionCall"]["name"], p["functionCall"]["args"]) for p in parts if "functionCall" in p
    ]
    signatures = [p["thoughtSignature"] for p in parts if "thoughtSignature" in p]
    assert [p.token.value for p in response.message.parts if isinstance(p, ReasoningPart) and p.token] == signatures
    assert response.message.parts, "a recorded stream says something"
    assert response.usage == ADAPTER.decode_response({"usageMetadata": chunks[-1]["usageMetadata"]}).usage
    assert response.usage.output_tokens > 0
    assert ADAPTER.decode_response(ADAPTER.encode_response(response)) == response
    assert ModelResponse.model_validate_json(response.model_dump_json()) == response


# Which recorded errors are which, by a piece of their file name.
RECORDED_ERRORS = {
    "test_authentication_error": "authentication",
    "wraps-api-errors-on-stream-call": "not_found",
    "test_model_name_suggestion_google": "not_found",
    "direct-url-image-google_vertex": "bad_request",
}


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["status"] >= 400))
def test_every_recorded_error_is_classified(exchange):
    (expected,) = [kind for piece, kind in RECORDED_ERRORS.items() if piece in exchange["file"]]
    response = exchange["response"]
    error = ADAPTER.decode_error(response["status"], {}, json.dumps(response["body"]).encode())
    assert (error.kind, error.retryable, error.provider, error.status) == (
        expected,
        False,
        "gemini",
        response["status"],
    )
    assert response["body"]["error"]["message"] in error.message


# --- chains -------------------------------------------------------------------------------------


def _continued_turns() -> list[Any]:
    params = []
    for turns in chains(API).values():
        by_turn = {turn["chain"]["turn"]: turn for turn in turns}
        for turn in turns:
            previous = by_turn.get(turn["chain"]["turn"] - 1)
            if not turn["chain"]["continues_previous"] or previous is None:
                continue  # the previous turn went to another vendor
            marks = []
            if "file_search_grounding_gemini_3_True" in turn["file"]:
                marks = [
                    pytest.mark.xfail(reason="pydantic-ai rebuilds toolResponse from groundingMetadata", strict=True)
                ]
            params.append(pytest.param(previous, turn, id=turn["file"], marks=marks))
    return params or [pytest.param(None, None, marks=pytest.mark.skip(reason="recorded corpus not found"))]


def _camel_keys(value: Any) -> Any:
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        key = to_camel(key) if "_" in key else key
        if key == "thoughtSignature":
            item = item.replace("-", "+").replace("_", "/")
        out[key] = item if key in ("args", "response") else _camel_keys(item)
    return out


def _join_text(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    text_keys = {"text", "thought", "thoughtSignature"}
    out: list[dict[str, Any]] = []
    for part in parts:
        last = out[-1] if out else None
        if (
            last is not None
            and "text" in part
            and "text" in last
            and part.keys() <= text_keys
            and last.keys() <= text_keys
            and bool(part.get("thought")) == bool(last.get("thought"))
            and not ("thoughtSignature" in part and "thoughtSignature" in last)
        ):
            out[-1] = {**last, **part, "text": last["text"] + part["text"]}
        else:
            out.append(part)
    return out


def _undo_library_rewrites(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> tuple[list, list]:
    ours, theirs = _camel_keys(ours), _camel_keys(theirs)
    for our_content, their_content in zip(ours, theirs, strict=True):
        their_content["parts"] = _join_text(their_content.get("parts", []))
        for our_part, their_part in zip(our_content.get("parts", []), their_content["parts"], strict=False):
            for kind, key in (("functionCall", "id"), ("toolCall", "args")):
                if (
                    kind in our_part
                    and kind in their_part
                    and key not in our_part[kind]
                    and (kind == "functionCall" or their_part[kind].get(key) == {})
                ):
                    their_part[kind].pop(key, None)
    return ours, theirs


@pytest.mark.parametrize(("previous", "turn"), _continued_turns())
def test_a_response_carried_into_the_next_request_matches_what_the_library_sent(previous, turn):
    request = ADAPTER.decode_request(previous["request"]["body"])
    if _is_stream(previous):
        response = ADAPTER.decode_stream(_stream_text(previous))
    else:
        response = ADAPTER.decode_response(previous["response"]["body"])
    history = request.model_copy(update={"messages": (*request.messages, response.message)})
    ours = ADAPTER.encode_request(history)["contents"]
    theirs = turn["request"]["body"]["contents"][: len(ours)]
    if ours != theirs:
        ours, theirs = _undo_library_rewrites(ours, theirs)
    assert ours == theirs


def test_stream_folds_into_the_body_a_non_streamed_call_would_give():
    def chunk(parts, **candidate):
        return {"candidates": [{"content": {"parts": parts, "role": "model"}, "index": 0, **candidate}]}

    chunks = [
        chunk([{"text": "Capital of", "thought": True}]),
        chunk(
            [{"text": " France?", "thought": True}, {"text": "The capital "}],
            citationMetadata={"citationSources": [{"uri": "https://a"}]},
        ),
        chunk([{"text": "is Paris."}], citationMetadata={"citationSources": [{"uri": "https://b"}]}),
        {
            **chunk([{"text": "", "thoughtSignature": "c2ln"}], finishReason="STOP"),
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6, "totalTokenCount": 11},
            "modelVersion": "gemini-2.5-flash",
            "responseId": "r1",
        },
    ]
    chunks[1]["candidates"].append({"content": {"parts": [{"text": "Paris"}], "role": "model"}, "index": 1})
    folded = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {"text": "Capital of France?", "thought": True},
                        {"text": "The capital is Paris.", "thoughtSignature": "c2ln"},
                    ],
                    "role": "model",
                },
                "finishReason": "STOP",
                "index": 0,
                "citationMetadata": {"citationSources": [{"uri": "https://a"}, {"uri": "https://b"}]},
            },
            {"content": {"parts": [{"text": "Paris"}], "role": "model"}, "index": 1},
        ],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6, "totalTokenCount": 11},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r1",
    }
    sse = "".join(f"data: {json.dumps(c)}\r\n\r\n" for c in chunks)
    assert ADAPTER.decode_stream(sse) == ADAPTER.decode_stream(json.dumps(chunks)) == ADAPTER.decode_response(folded)
    assert ADAPTER.encode_response(ADAPTER.decode_stream(sse)) == folded


# --- errors (our fixtures) ----------------------------------------------------------------------

ERROR_CASES = json.loads((FIXTURES / "errors.json").read_text())["cases"]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[case["name"] for case in ERROR_CASES])
def test_error_is_classified_with_its_retry_delay(case):
    error = ADAPTER.decode_error(case["status"], case["headers"], case["body"].encode())
    expect = case["expect"]
    assert (error.kind, error.retryable, error.retry_after) == (
        expect["kind"],
        expect["retryable"],
        expect["retry_after"],
    )
    assert error.provider == "gemini" and error.status == case["status"]
    assert error.body == (case["body"] or None)


def test_error_message_says_what_went_wrong_and_what_to_do():
    case = next(case for case in ERROR_CASES if case["name"] == "daily_quota_exhausted_is_not_retryable")
    error = ADAPTER.decode_error(case["status"], case["headers"], case["body"].encode())
    assert str(error).startswith("gemini 429 quota_exhausted: You exceeded your current quota")
    assert "wait for it to reset or raise it" in str(error)
    not_json = ADAPTER.decode_error(502, {}, b"<html><h1>Bad Gateway</h1></html>")
    assert "HTTP 502: <html><h1>Bad Gateway</h1></html>" in not_json.message
    assert "empty body" in ADAPTER.decode_error(500, {}, b"").message


def test_an_error_in_the_middle_of_a_stream_raises_a_retryable_error():
    with pytest.raises(Overloaded) as raised:
        ADAPTER.decode_stream((FIXTURES / "stream_unavailable.sse").read_text())
    assert raised.value.retryable and raised.value.status == 503
    assert "overloaded" in raised.value.message


# --- hand-built conversations -------------------------------------------------------------------


def hand_built_request() -> ModelRequest:
    """Text, an image by URL and inline, Gemini reasoning, two parallel calls, a failed tool."""
    weather = ToolSpec(
        name="get_weather",
        description="Current weather for a city.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    return ModelRequest(
        model="gemini-2.5-flash",
        instructions="You are a concise weather assistant.",
        messages=(
            Message(
                role="user",
                parts=(
                    TextPart(text="Which cities are in these photos, and what is the weather there?"),
                    MediaPart(media_type="image", mime_type="image/jpeg", url="https://example.com/paris.jpg"),
                    MediaPart(media_type="image", mime_type="image/gif", data=GIF_1X1),
                ),
            ),
            Message(
                role="assistant",
                parts=(
                    ReasoningPart(text="The photos show Paris and Rome; ask for both at once."),
                    ReasoningPart(token=SIGNATURE),
                    ToolCallPart(
                        id="call_1", name="get_weather", arguments_raw='{"city":"Paris"}', arguments={"city": "Paris"}
                    ),
                    ToolCallPart(
                        id="call_2", name="get_weather", arguments_raw='{"city":"Rome"}', arguments={"city": "Rome"}
                    ),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id="call_1", content=(TextPart(text="18°C, light rain"),)),
                    ToolResultPart(
                        call_id="call_2", content=(TextPart(text="weather service timed out"),), is_error=True
                    ),
                ),
            ),
        ),
        tools=(weather,),
        tool_choice=ToolChoice(mode="auto"),
        temperature=0.2,
        max_output_tokens=1024,
        top_p=0.9,
        stop=("END",),
        seed=7,
        provider_options={
            "gemini": {
                "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
                "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512}},
            }
        },
    )


def test_hand_built_request_is_exactly_this_json():
    assert ADAPTER.encode_request(hand_built_request()) == snapshot(
        {
            "contents": [
                {
                    "parts": [
                        {"text": "Which cities are in these photos, and what is the weather there?"},
                        {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/paris.jpg"}},
                        {
                            "inlineData": {
                                "mimeType": "image/gif",
                                "data": "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7",
                            }
                        },
                    ],
                    "role": "user",
                },
                {
                    "parts": [
                        {"text": "The photos show Paris and Rome; ask for both at once.", "thought": True},
                        {
                            "functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1"},
                            "thoughtSignature": "CiQBcsjaZml4dHVyZQ==",
                        },
                        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "call_2"}},
                    ],
                    "role": "model",
                },
                {
                    "parts": [
                        {
                            "functionResponse": {
                                "name": "get_weather",
                                "response": {"output": "18°C, light rain"},
                                "id": "call_1",
                            }
                        },
                        {
                            "functionResponse": {
                                "name": "get_weather",
                                "response": {"error": "weather service timed out"},
                                "id": "call_2",
                            }
                        },
                    ],
                    "role": "user",
                },
            ],
            "systemInstruction": {"parts": [{"text": "You are a concise weather assistant."}], "role": "user"},
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "description": "Current weather for a city.",
                            "parametersJsonSchema": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "required": ["city"],
                            },
                        }
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
            "generationConfig": {
                "temperature": 0.2,
                "topP": 0.9,
                "maxOutputTokens": 1024,
                "seed": 7,
                "stopSequences": ["END"],
                "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512},
            },
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
        }
    )


def test_hand_built_request_is_accepted_by_the_sdk_types():
    body = ADAPTER.encode_request(hand_built_request())
    contents = [types.Content.model_validate(content) for content in body["contents"]]
    types.Content.model_validate(body["systemInstruction"])
    tools = [types.Tool.model_validate(tool) for tool in body["tools"]]
    types.ToolConfig.model_validate(body["toolConfig"])
    config = types.GenerationConfig.model_validate(body["generationConfig"])
    [types.SafetySetting.model_validate(setting) for setting in body["safetySettings"]]
    # The SDK's call config is all of the body but the contents, flattened.
    types.GenerateContentConfig.model_validate(
        {
            **body["generationConfig"],
            **{key: value for key, value in body.items() if key not in ("contents", "generationConfig")},
        }
    )

    calls = [part.function_call for part in contents[1].parts or [] if part.function_call]
    assert [(call.id, call.args) for call in calls] == [("call_1", {"city": "Paris"}), ("call_2", {"city": "Rome"})]
    results = [part.function_response for part in contents[2].parts or [] if part.function_response]
    assert [(r.name, r.response) for r in results] == [
        ("get_weather", {"output": "18°C, light rain"}),
        ("get_weather", {"error": "weather service timed out"}),
    ]
    assert tools[0].function_declarations and tools[0].function_declarations[0].parameters_json_schema
    assert config.thinking_config and config.thinking_config.thinking_budget == 512


def test_sdk_types_really_reject_malformed_bodies():
    with pytest.raises(ValidationError):
        types.Content.model_validate({"role": "user", "parts": [{"text": 5}]})
    with pytest.raises(ValidationError):
        types.Content.model_validate({"role": "model", "parts": [{"functionCal": {"name": "f", "args": {}}}]})
    with pytest.raises(ValidationError):
        types.GenerationConfig.model_validate({"maxOutputTokens": "many"})


def test_hand_built_request_survives_decoding():
    request = hand_built_request()
    body = ADAPTER.encode_request(request)
    assert ADAPTER.encode_request(ADAPTER.decode_request(body)) == body


def test_hand_built_response_encodes_to_a_body_the_sdk_parses():
    response = ModelResponse(
        id="resp-1",
        model="gemini-2.5-flash",
        provider="gemini",
        message=Message(
            role="assistant",
            parts=(
                ReasoningPart(text="Need the weather first."),
                ReasoningPart(token=SIGNATURE),
                ToolCallPart(id=None, name="get_weather", arguments_raw='{"city":"Oslo"}', arguments={"city": "Oslo"}),
                TextPart(text="Checking Oslo."),
                MediaPart(media_type="image", mime_type="image/gif", data=GIF_1X1),
            ),
        ),
        usage=Usage(input_tokens=30, output_tokens=25, reasoning_tokens=10, cached_input_tokens=4),
        stop_reason="tool_calls",
    )
    body = ADAPTER.encode_response(response)
    parsed = types.GenerateContentResponse.model_validate(body)
    assert parsed.function_calls and parsed.function_calls[0].args == {"city": "Oslo"}
    assert parsed.candidates and parsed.candidates[0].finish_reason == types.FinishReason.STOP
    assert parsed.usage_metadata and parsed.usage_metadata.thoughts_token_count == 10
    assert parsed.usage_metadata.candidates_token_count == 15 and parsed.usage_metadata.total_token_count == 55
    decoded = ADAPTER.decode_response(body)
    assert decoded.message == response.message
    assert (decoded.usage, decoded.stop_reason, decoded.raw_stop_reason) == (response.usage, "tool_calls", "STOP")


# --- mapping details ----------------------------------------------------------------------------


def test_signature_on_a_function_call_becomes_reasoning_right_before_it():
    body = {
        "contents": [
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": "c2ln"}]},
        ]
    }
    (message,) = ADAPTER.decode_request(body).messages
    reasoning, call = message.parts
    assert isinstance(reasoning, ReasoningPart) and reasoning.text is None and reasoning.token
    assert reasoning.token.value == "c2ln" and reasoning.token.provider == "gemini"
    assert isinstance(call, ToolCallPart) and call.id is None and call.arguments_raw == '{"x":1}'
    assert ADAPTER.encode_request(ADAPTER.decode_request(body)) == body


def test_snake_case_keys_and_url_safe_base64_are_written_back_as_received():
    body = {
        "contents": [
            {"role": "user", "parts": [{"inline_data": {"mime_type": "image/png", "data": "iVBO-w_0"}}]},
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {}}, "thought_signature": "a-b_c"}]},
            {"role": "user", "parts": [{"function_response": {"name": "f", "response": {"output": 1}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "f", "description": "", "parameters_json_schema": {}}]}],
    }
    request = ADAPTER.decode_request(body)
    assert [m.role for m in request.messages] == ["user", "assistant", "tool"]
    media = request.messages[0].parts[0]
    assert isinstance(media, MediaPart) and (media.media_type, media.data) == ("image", "iVBO-w_0")
    assert ADAPTER.encode_request(request) == body


def test_foreign_vendor_content_is_left_out():
    request = ModelRequest(
        messages=(
            Message(role="user", parts=(TextPart(text="hi"),)),
            Message(
                role="assistant",
                parts=(
                    ReasoningPart(text="hmm", token=ReasoningToken(provider="anthropic", api="messages", value="sig")),
                    ProviderPart(provider="openai", body={"type": "web_search_call", "id": "ws_1"}),
                    TextPart(text="hello"),
                ),
            ),
            Message(role="assistant", parts=(ProviderPart(provider="openai", body={"type": "compaction"}),)),
        ),
        tools=(
            ProviderTool(provider="openai", body={"type": "web_search"}),
            ProviderTool(provider="gemini", body={"googleSearch": {}}),
        ),
    )
    body = ADAPTER.encode_request(request)
    assert body["contents"] == [
        {"parts": [{"text": "hi"}], "role": "user"},
        {"parts": [{"text": "hello"}], "role": "model"},
    ]
    assert body["tools"] == [{"googleSearch": {}}]


def test_tool_result_without_a_name_takes_the_name_of_its_call():
    call = ToolCallPart(id="call_9", name="lookup", arguments_raw='{"q":"x"}')
    request = ModelRequest(
        messages=(
            Message(role="assistant", parts=(call,)),
            Message(role="tool", parts=(ToolResultPart(call_id="call_9", content=(TextPart(text="found"),)),)),
        )
    )
    contents = ADAPTER.encode_request(request)["contents"]
    assert contents[0]["parts"] == [{"functionCall": {"name": "lookup", "args": {"q": "x"}, "id": "call_9"}}]
    assert contents[1]["parts"] == [
        {"functionResponse": {"name": "lookup", "response": {"output": "found"}, "id": "call_9"}}
    ]
    orphan = ModelRequest(messages=(Message(role="tool", parts=(ToolResultPart(call_id="nope"),)),))
    with pytest.raises(ValueError, match="no function name"):
        ADAPTER.encode_request(orphan)


@pytest.mark.parametrize(
    ("config", "choice"),
    [
        ({"mode": "AUTO"}, ToolChoice(mode="auto")),
        ({"mode": "NONE"}, ToolChoice(mode="none")),
        ({"mode": "ANY"}, ToolChoice(mode="required")),
        ({"mode": "ANY", "allowedFunctionNames": ["f"]}, ToolChoice(mode="tool", name="f")),
        (
            {"mode": "ANY", "allowedFunctionNames": ["f", "g"]},
            ToolChoice(mode="required", provider_details={"gemini": {"allowedFunctionNames": ["f", "g"]}}),
        ),
        ({"mode": "VALIDATED"}, ToolChoice(mode="auto", provider_details={"gemini": {"mode": "VALIDATED"}})),
    ],
)
def test_function_calling_config_maps_to_tool_choice(config, choice):
    body = {"contents": [], "toolConfig": {"functionCallingConfig": config}}
    request = ADAPTER.decode_request(body)
    assert request.tool_choice == choice
    assert ADAPTER.encode_request(request) == body


def test_openapi_schemas_become_json_schema_and_replay_verbatim():
    openapi = {
        "type": "OBJECT",
        "properties": {
            "n": {"type": "INTEGER", "nullable": True},
            "tags": {"type": "ARRAY", "items": {"type": "STRING"}},
        },
        "property_ordering": ["n", "tags"],
    }
    body = {
        "contents": [],
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": openapi}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseSchema": openapi},
    }
    request = ADAPTER.decode_request(body)
    expected = {
        "type": "object",
        "properties": {"n": {"type": ["integer", "null"]}, "tags": {"type": "array", "items": {"type": "string"}}},
    }
    (spec,) = request.tools
    assert isinstance(spec, ToolSpec) and spec.parameters == expected == openapi_to_json_schema(openapi)
    assert request.output_schema and request.output_schema.json_schema == expected
    assert ADAPTER.encode_request(request) == body
    changed = spec.model_copy(update={"parameters": {"type": "object", "properties": {}}})
    assert ADAPTER.encode_tool(changed) == {"name": "f", "parametersJsonSchema": {"type": "object", "properties": {}}}


def test_encode_tool_gives_a_declaration_the_sdk_accepts():
    spec = ToolSpec(
        name="get_weather",
        description="Weather.",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}},
    )
    declaration = ADAPTER.encode_tool(spec)
    assert declaration == {"name": "get_weather", "description": "Weather.", "parametersJsonSchema": spec.parameters}
    parsed = types.FunctionDeclaration.model_validate(declaration)
    assert parsed.parameters_json_schema == spec.parameters


def test_output_schema_is_written_as_a_json_schema():
    request = ModelRequest(messages=(), output_schema=OutputSchema(name="Answer", json_schema={"type": "object"}))
    assert ADAPTER.encode_request(request)["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": {"type": "object"},
    }


@pytest.mark.parametrize(
    ("candidate", "stop_reason"),
    [
        ({"content": {"parts": [{"text": "hi"}], "role": "model"}, "finishReason": "STOP"}, "end_turn"),
        (
            {
                "content": {"parts": [{"functionCall": {"name": "f", "args": {}}}], "role": "model"},
                "finishReason": "STOP",
            },
            "tool_calls",
        ),
        ({"content": {"parts": [{"text": "hi"}], "role": "model"}, "finishReason": "MAX_TOKENS"}, "max_tokens"),
        ({"content": {}, "finishReason": "SAFETY"}, "content_filter"),
        ({"content": {"role": "model"}, "finishReason": "MALFORMED_FUNCTION_CALL"}, "error"),
        ({"finishReason": "LANGUAGE"}, "other"),
    ],
)
def test_finish_reason_is_normalised_and_kept_raw(candidate, stop_reason):
    body = {"candidates": [candidate], "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}}
    response = ADAPTER.decode_response(body)
    assert (response.stop_reason, response.raw_stop_reason) == (stop_reason, candidate["finishReason"])
    assert ADAPTER.encode_response(response) == body


def test_another_vendors_raw_stop_reason_is_not_sent_as_a_finish_reason():
    call = ToolCallPart(id="toolu_1", name="f", arguments_raw="{}", arguments={})
    response = ModelResponse(
        provider="gemini",
        message=Message(role="assistant", parts=(call,)),
        stop_reason="tool_calls",
        raw_stop_reason="tool_use",
    )
    assert ADAPTER.encode_response(response)["candidates"][0]["finishReason"] == "STOP"


def test_blocked_prompt_is_a_content_filter_stop():
    body = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8},
    }
    response = ADAPTER.decode_response(body)
    assert (response.stop_reason, response.raw_stop_reason, response.message.parts) == (
        "content_filter",
        "PROHIBITED_CONTENT",
        (),
    )
    assert ADAPTER.encode_response(response) == body


def test_usage_counts_thoughts_as_output_and_reasoning():
    usage = {
        "promptTokenCount": 100,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 50,
        "cachedContentTokenCount": 60,
        "toolUsePromptTokenCount": 5,
        "totalTokenCount": 175,
    }
    response = ADAPTER.decode_response({"candidates": [], "usageMetadata": usage})
    counts = response.usage.model_copy(update={"provider_details": {}})
    assert counts == Usage(input_tokens=100, output_tokens=70, cached_input_tokens=60, reasoning_tokens=50)
    assert ADAPTER.encode_response(response)["usageMetadata"] == usage


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"contents": "hi"}, "contents"),
        ({}, "body.contents"),
        ({"contents": [{"role": "user", "parts": [{"text": 5}]}]}, "contents[0].parts[0].text"),
        ({"contents": [{"role": "system", "parts": []}]}, "contents[0].role"),
        (
            {"contents": [{}, {}, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": "{}"}}]}]},
            "contents[2].parts[0].functionCall.args",
        ),
        ({"contents": [{"parts": [{"function_call": {"args": {}}}]}]}, "contents[0].parts[0].function_call.name"),
        (
            {"contents": [{"parts": [{"functionResponse": {"name": "f"}}]}]},
            "contents[0].parts[0].functionResponse.response",
        ),
        (
            {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png"}}]}]},
            "contents[0].parts[0].inlineData.data",
        ),
        ({"contents": [], "generationConfig": {"temperature": "hot"}}, "generationConfig.temperature"),
        (
            {"contents": [], "tools": [{"functionDeclarations": [{"description": "x"}]}]},
            "tools[0].functionDeclarations[0].name",
        ),
    ],
)
def test_malformed_request_names_the_json_path(body, path):
    with pytest.raises(MalformedBody) as raised:
        ADAPTER.decode_request(body)
    assert raised.value.path == path


def test_malformed_response_names_the_json_path():
    body = {"candidates": [{"content": {"parts": [{"text": "a"}, {"text": 5}], "role": "model"}}]}
    with pytest.raises(MalformedBody, match=r"candidates\[0\]\.content\.parts\[1\]\.text: expected a string"):
        ADAPTER.decode_response(body)
    with pytest.raises(MalformedBody, match=r"events\[1\]: data is not JSON"):
        ADAPTER.decode_stream('data: {"candidates": []}\n\ndata: {oops\n\n')


def test_request_path_carries_the_model():
    request = ModelRequest(model="gemini-2.5-flash")
    assert ADAPTER.request_path(request) == "models/gemini-2.5-flash:generateContent"
    assert ADAPTER.request_path(request, stream=True) == "models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert ADAPTER.request_path(ModelRequest(model="tunedModels/mine")) == "tunedModels/mine:generateContent"
    with pytest.raises(ValueError, match="needs a model name"):
        ADAPTER.request_path(ModelRequest())


def test_provider_options_are_checked_and_merged_last():
    request = ModelRequest(
        temperature=0.5,
        provider_options={
            "gemini": {"generationConfig": {"topK": 40, "temperature": 0.9}, "cachedContent": "cachedContents/abc"}
        },
    )
    assert ADAPTER.encode_request(request) == {
        "contents": [],
        "generationConfig": {"temperature": 0.9, "topK": 40},
        "cachedContent": "cachedContents/abc",
    }
    wrong = ModelRequest(provider_options={"gemini": {"safetySettings": "BLOCK_NONE"}})
    with pytest.raises(ValidationError):
        ADAPTER.encode_request(wrong)


def test_adapter_is_registered_and_imports_no_vendor_sdk():
    assert get_adapter("gemini") is ADAPTER and (ADAPTER.name, ADAPTER.api) == ("gemini", "generate_content")
    code = "import sys, durable_llm.providers.gemini; print(any(m.startswith('google.genai') for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_200_message_history_round_trips_unchanged():
    # Its speed (goal: under 5 ms) is measured by bench/adapters.py, not asserted here.
    contents = []
    for i in range(50):
        contents += [
            {"role": "user", "parts": [{"text": f"What is the weather in city {i}? " * 5}]},
            {
                "role": "model",
                "parts": [
                    {
                        "functionCall": {"name": "get_weather", "args": {"city": f"c{i}"}, "id": f"id{i}"},
                        "thoughtSignature": "Cq0B" * 50,
                    }
                ],
            },
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"name": "get_weather", "id": f"id{i}", "response": {"output": {"temp": i}}}}
                ],
            },
            {"role": "model", "parts": [{"text": f"It is {i} degrees. " * 10}]},
        ]
    body = {"contents": contents, "systemInstruction": {"parts": [{"text": "Be brief."}], "role": "user"}}
    assert ADAPTER.encode_request(ADAPTER.decode_request(body)) == body


# --- stream encoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", corpus_params(API, lambda ex: ex["response"]["status"] == 200))
def test_every_recorded_response_streams_and_folds_back_unchanged(exchange):
    if _is_stream(exchange):
        response = ADAPTER.decode_stream(_stream_text(exchange))
    else:
        response = ADAPTER.decode_response(exchange["response"]["body"])
    expected = ADAPTER.decode_response(ADAPTER.encode_response(response))
    assert ADAPTER.decode_stream(ADAPTER.encode_stream(response)) == expected


def test_a_streamed_answer_arrives_in_pieces_that_add_up_to_its_text():
    answer = (
        "Paris is the capital of France. It sits on the Seine in the north of the country, "
        "has about two million people in the city proper, and is known for the Louvre, "
        "the Eiffel Tower and its cafes."
    )
    response = ModelResponse(
        provider="gemini",
        model="gemini-2.5-flash",
        message=Message(role="assistant", parts=(ReasoningPart(text="A geography question."), TextPart(text=answer))),
        usage=Usage(input_tokens=9, output_tokens=60),
        stop_reason="end_turn",
        raw_stop_reason="STOP",
    )
    sse = ADAPTER.encode_stream(response)
    events = sse_events(sse)
    texts = [ADAPTER.stream_text(event) for event in events]
    assert sse.startswith("data: {") and sse.count("\r\n\r\n") == len(events)
    assert texts[0] == "" and len(texts) >= 8 and all(16 <= len(text) <= 32 for text in texts[1:-1])
    assert "".join(texts) == answer
    assert [event["candidates"][0].get("finishReason") for event in events] == [None] * (len(events) - 1) + ["STOP"]
    assert all(event["modelVersion"] == "gemini-2.5-flash" and "usageMetadata" in event for event in events)
    assert ADAPTER.decode_stream(sse) == response


def test_a_streamed_function_call_comes_whole_and_folds_back_with_its_arguments():
    arguments = {"city": "Paris", "days": 3, "units": {"temperature": "celsius"}}
    call = ToolCallPart(
        id=None,
        name="get_forecast",
        arguments_raw='{"city":"Paris","days":3,"units":{"temperature":"celsius"}}',
        arguments=arguments,
    )
    response = ModelResponse(
        provider="gemini",
        model="gemini-2.5-flash",
        message=Message(
            role="assistant",
            parts=(
                TextPart(text="I will look up the forecast for the next three days."),
                ReasoningPart(token=SIGNATURE),
                call,
            ),
        ),
        stop_reason="tool_calls",
        raw_stop_reason="STOP",
    )
    events = sse_events(ADAPTER.encode_stream(response))
    (call_chunk,) = [event for event in events if "functionCall" in event["candidates"][0]["content"]["parts"][0]]
    assert call_chunk["candidates"][0]["content"]["parts"] == [
        {"functionCall": {"name": "get_forecast", "args": arguments}, "thoughtSignature": SIGNATURE.value}
    ]
    assert ADAPTER.stream_text(call_chunk) == ""
    folded = ADAPTER.decode_stream(ADAPTER.encode_stream(response))
    assert [(c.name, c.arguments) for c in folded.message.tool_calls] == [("get_forecast", arguments)]
    assert folded.message == response.message


def test_a_signed_text_part_streamed_after_another_stays_a_part_of_its_own():
    # Only one of two joined text pieces may carry a signature, so the second part's signature
    # must come with its first piece for the fold not to join that piece onto the first part.
    parts = (
        ReasoningPart(token=SIGNATURE),
        TextPart(text="First part."),
        ReasoningPart(token=SIGNATURE),
        TextPart(text="A second part, long enough to be streamed in several pieces."),
    )
    response = ModelResponse(
        provider="gemini",
        model="gemini-2.5-flash",
        message=Message(role="assistant", parts=parts),
        stop_reason="end_turn",
    )
    assert ADAPTER.decode_stream(ADAPTER.encode_stream(response)).message.parts == parts


def test_stream_text_follows_the_answer_candidate_not_the_first_in_the_chunk():
    chunk = {
        "candidates": [
            {"index": 1, "content": {"role": "model", "parts": [{"text": "B"}]}},
            {"index": 0, "content": {"role": "model", "parts": [{"text": "A"}]}},
        ]
    }
    assert ADAPTER.stream_text(chunk) == "A"
    assert ADAPTER.stream_text({"candidates": [{"index": 1, "content": {"parts": [{"text": "B"}]}}]}) == ""


WEATHER_DECLARATION = {"name": "get_weather", "parametersJsonSchema": {"type": "object", "properties": {}}}


@pytest.mark.parametrize(
    "tools_and_config",
    [
        pytest.param(
            {"tools": [{"functionDeclarations": [{**WEATHER_DECLARATION, "description": None}]}]},
            id="description-null",
        ),
        pytest.param(
            {
                "tools": [{"functionDeclarations": [WEATHER_DECLARATION]}],
                "toolConfig": {"functionCallingConfig": {"mode": "NONE", "allowedFunctionNames": []}},
            },
            id="empty-allowed-function-names",
        ),
        pytest.param({"tools": {"functionDeclarations": [WEATHER_DECLARATION]}}, id="tools-as-one-object"),
    ],
)
def test_tool_definitions_gemini_accepts_round_trip_exactly(tools_and_config):
    body = {"contents": [{"role": "user", "parts": [{"text": "Weather?"}]}], **tools_and_config}
    assert ADAPTER.encode_request(ADAPTER.decode_request(body)) == body
