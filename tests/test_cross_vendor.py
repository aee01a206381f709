"""A conversation started on one vendor and continued on another (all 9 pairs).

Each conversation is first made "as recorded" on its source vendor (encoded by that vendor's
adapter and decoded back, so it carries the vendor's details, ids and reasoning tokens), then
projected to the target and encoded; the target SDK's own request types must accept the body,
and decoding it back must keep every text, tool call and result paired by id.
"""

from __future__ import annotations

import itertools
import json

import pytest
from sdk_validation import validate_request

from durable_llm.conversation import (
    MediaPart,
    Message,
    ModelRequest,
    ReasoningPart,
    ReasoningToken,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    project,
)
from durable_llm.providers import get_adapter

VENDORS = ("openai", "anthropic", "gemini")
MODELS = {"openai": "gpt-5", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-3-pro-preview"}
API = {"openai": "responses", "anthropic": "messages", "gemini": "generate_content"}
CALL_IDS = {"openai": ("call_Xy1", "call_Xy2"), "anthropic": ("toolu_01A", "toolu_01B"), "gemini": (None, None)}
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
TOKENS = {"openai": "gAAAAABopaque-openai", "anthropic": "EqQBCkYopaque", "gemini": "b3BhcXVlLWdlbWluaQ=="}
WEATHER = ToolSpec(
    name="get_weather",
    description="Current weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def conversation_on(source: str) -> tuple[Message, ...]:
    """Text, an image, reasoning, two parallel calls (one failing), and the answer, as `source` made it."""
    first, second = CALL_IDS[source]
    token = ReasoningToken(provider=source, api=API[source], model=MODELS[source], value=TOKENS[source])
    reasoning = (
        ReasoningPart(token=token)  # Gemini: the signature sits on the first function call
        if source == "gemini"
        else ReasoningPart(
            text="Two cities, so two calls.", summary=("Two calls.",) if source == "openai" else (), token=token
        )
    )
    if source == "openai":
        reasoning = reasoning.model_copy(update={"provider_details": {"openai": {"id": "rs_1"}}})
    neutral = ModelRequest(
        model=MODELS[source],
        instructions="You are a weather assistant.",
        tools=(WEATHER,),
        messages=(
            Message(
                role="user",
                parts=(
                    TextPart(text="Is the sky in this photo like Paris or Rome today?"),
                    MediaPart(media_type="image", mime_type="image/png", data=PIXEL),
                    MediaPart(media_type="image", mime_type="image/jpeg", url="https://example.com/sky.jpg"),
                ),
            ),
            Message(
                role="assistant",
                parts=(
                    reasoning,
                    ToolCallPart(
                        id=first, name="get_weather", arguments_raw='{"city":"Paris"}', arguments={"city": "Paris"}
                    ),
                    ToolCallPart(
                        id=second, name="get_weather", arguments_raw='{"city":"Rome"}', arguments={"city": "Rome"}
                    ),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id=first, name="get_weather", content=(TextPart(text="Paris: grey, 12C"),)),
                    ToolResultPart(
                        call_id=second,
                        name="get_weather",
                        content=(TextPart(text="weather service down"),),
                        is_error=True,
                    ),
                ),
            ),
            Message(role="assistant", parts=(TextPart(text="Like Paris: grey. Rome is unknown."),)),
            Message(role="user", parts=(TextPart(text="Thanks! And tomorrow?"),)),
        ),
    )
    adapter = get_adapter(source)
    recorded = adapter.decode_request(adapter.encode_request(neutral))
    return recorded.messages


@pytest.mark.parametrize(("source", "target"), list(itertools.product(VENDORS, VENDORS)))
def test_conversation_continues_on_any_vendor(source: str, target: str):
    history = conversation_on(source)
    assert sum(isinstance(p, ReasoningPart) for m in history for p in m.parts) == 1, "reasoning must survive recording"

    messages, report = project(history, target, MODELS[target])
    adapter = get_adapter(target)
    body = adapter.encode_request(
        ModelRequest(
            model=MODELS[target], instructions="You are a weather assistant.", messages=messages, tools=(WEATHER,)
        )
    )
    validate_request(target, body)

    # The expected report: foreign reasoning dropped; ids made valid; Gemini gets its signature.
    dropped = [c.what for c in report.of("dropped")]
    assert dropped == ([] if source == target else ["reasoning"])
    added = [c.what for c in report.of("added")]
    needs_placeholder = target == "gemini" and source != "gemini"
    assert added == (["thought signature on get_weather"] if needs_placeholder else [])
    rewritten = len(report.of("rewritten"))
    assert rewritten == (4 if source == "gemini" and target != "gemini" else 0)  # two calls + two results got ids

    # Nothing the target can represent is lost, and results stay paired with their calls.
    back = adapter.decode_request(body).messages
    calls = [p for m in back for p in m.parts if isinstance(p, ToolCallPart)]
    results = [p for m in back for p in m.parts if isinstance(p, ToolResultPart)]
    texts = [p.text for m in back for p in m.parts if isinstance(p, TextPart)]
    texts += [r.text or json.dumps(r.value) for r in results]
    for expected in ("Is the sky in this photo", "Paris: grey, 12C", "weather service down", "Like Paris", "tomorrow?"):
        assert any(expected in t for t in texts), (expected, texts)
    assert [c.arguments for c in calls] == [{"city": "Paris"}, {"city": "Rome"}]
    assert len(results) == 2
    if target != "gemini":
        assert [r.call_id for r in results] == [c.id for c in calls]
        assert all(c.id for c in calls)
    media = [p for m in back for p in m.parts if isinstance(p, MediaPart)]
    assert len(media) == 2
    same_vendor_token = [p.token for m in back for p in m.parts if isinstance(p, ReasoningPart) and p.token]
    if source == target:
        assert [t.value for t in same_vendor_token] == [TOKENS[source]]
    elif target == "gemini":
        assert [t.value for t in same_vendor_token] == ["skip_thought_signature_validator"]
    else:
        assert same_vendor_token == []
