"""The neutral model: frozen, JSON-stable, Temporal-convertible; and `project` across vendors."""

import json

import pytest
from pydantic import ValidationError
from temporalio.contrib.pydantic import pydantic_data_converter

from durable_llm.agent import Agent, ToolOptions
from durable_llm.conversation import (
    SCHEMA_VERSION,
    Citation,
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    OutputSchema,
    ProviderPart,
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
)
from durable_llm.conversation.projection import token_is_valid_for
from durable_llm.providers.gemini.rules import SKIP_SIGNATURE as GEMINI_SKIP_SIGNATURE

OPENAI_TOKEN = ReasoningToken(provider="openai", api="responses", model="gpt-5-2025-08-07", value="gAAAA-enc")
CLAUDE_TOKEN = ReasoningToken(provider="anthropic", api="messages", model="claude-sonnet-4-5", value="EqQBsig")


def rich_history() -> tuple[Message, ...]:
    return (
        Message(
            role="user",
            parts=(
                TextPart(text="What is in this picture, and the weather in Paris and Oslo?"),
                MediaPart(media_type="image", mime_type="image/png", data="iVBORw0KGgo="),
                MediaPart(media_type="image", url="https://example.com/cat.jpg"),
            ),
        ),
        Message(
            role="assistant",
            parts=(
                ReasoningPart(text="Two cities: call both.", token=OPENAI_TOKEN),
                ToolCallPart(
                    id="call_a|fc_123",
                    name="get_weather",
                    arguments_raw='{"city":"Paris"}',
                    arguments={"city": "Paris"},
                ),
                ToolCallPart(id=None, name="get_weather", arguments_raw='{"city":"Oslo"}', arguments={"city": "Oslo"}),
                ProviderPart(provider="openai", body={"type": "web_search_call", "id": "ws_1", "status": "completed"}),
            ),
        ),
        Message(
            role="tool",
            parts=(
                ToolResultPart(call_id="call_a|fc_123", name="get_weather", content=(TextPart(text="18C"),)),
                ToolResultPart(
                    call_id=None, name="get_weather", content=(TextPart(text="no such city"),), is_error=True
                ),
            ),
        ),
        Message(
            role="assistant",
            parts=(
                TextPart(text="Paris is 18C.", citations=(Citation(url="https://met.no", title="MET"),)),
                RefusalPart(text="I cannot see Oslo."),
            ),
        ),
    )


def test_every_model_round_trips_through_json():
    request = ModelRequest(
        model="gpt-5",
        instructions="Be brief.",
        messages=rich_history(),
        tools=(
            ToolSpec(name="get_weather", parameters={"type": "object", "properties": {"city": {"type": "string"}}}),
        ),
        tool_choice=ToolChoice(mode="tool", name="get_weather"),
        temperature=0.2,
        max_output_tokens=100,
        top_p=0.9,
        stop=("END",),
        seed=7,
        output_schema=OutputSchema(name="answer", json_schema={"type": "object"}),
        provider_options={"openai": {"store": False, "include": ["reasoning.encrypted_content"]}},
    )
    assert ModelRequest.model_validate_json(request.model_dump_json()) == request
    response = ModelResponse(
        provider="anthropic",
        message=rich_history()[1],
        usage=Usage(input_tokens=3),
        stop_reason="tool_calls",
        raw_stop_reason="tool_use",
    )
    assert ModelResponse.model_validate_json(response.model_dump_json()) == response
    assert request.schema_version == response.schema_version == SCHEMA_VERSION


def test_json_leaves_out_empty_fields_and_reads_them_back():
    response = ModelResponse(provider="test", message=Message(role="assistant", parts=(TextPart(text="hi"),)))
    zero = {"input_tokens": 0, "output_tokens": 0, "cached_input_tokens": 0, "cache_write_tokens": 0}
    assert json.loads(response.model_dump_json()) == {
        "schema_version": SCHEMA_VERSION,
        "provider": "test",
        "message": {"role": "assistant", "parts": [{"kind": "text", "text": "hi"}]},
        "usage": {**zero, "reasoning_tokens": 0},
    }
    # What durable_llm 0.1 wrote, every field spelled out (from a recorded workflow history), reads the same.
    written_by_0_1 = {
        "schema_version": 1,
        "id": None,
        "model": None,
        "provider": "test",
        "message": {
            "role": "assistant",
            "parts": [{"kind": "text", "text": "hi", "citations": [], "provider_details": {}}],
            "provider_details": {},
        },
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "reasoning_tokens": 0,
            "provider_details": {},
        },
        "stop_reason": None,
        "raw_stop_reason": None,
        "provider_details": {},
    }
    assert ModelResponse.model_validate(written_by_0_1) == response


def test_falsy_values_that_are_not_the_default_are_written():
    call = ToolCallPart(id=None, name="f", arguments_raw="{}", arguments={})
    request = ModelRequest(temperature=0.0, stop=(), messages=(Message(role="assistant", parts=(call,)),))
    written = json.loads(request.model_dump_json())
    assert (
        written["temperature"] == 0.0
        and written["stop"] == []
        and written["messages"][0]["parts"][0]["arguments"] == {}
    )
    assert written["messages"][0]["parts"][0]["id"] is None  # required, so always written
    assert ModelRequest.model_validate(written) == request


def test_defaults_with_a_value_are_written_so_a_history_keeps_what_a_run_used():
    written = json.loads(Agent(model="test:m", tools=["t"], tool_options={"t": ToolOptions()}).model_dump_json())
    assert written["max_turns"] == 10 and written["model_retry"]["maximum_attempts"] == 6
    assert written["tool_options"]["t"]["requires_approval"] is False
    assert "instructions" not in written and "temperature" not in written  # empty: nothing to keep


def test_a_model_of_yours_may_name_a_type_defined_further_down_its_module(tmp_path, monkeypatch):
    (tmp_path / "my_models.py").write_text(
        "from __future__ import annotations\n"
        "from durable_llm.conversation import FrozenModel\n"
        "class Order(FrozenModel):\n"
        "    note: Note | None = None\n"
        "    lines: tuple[Note, ...] = ()\n"
        "    priority: int = 3\n"
        "class Note(FrozenModel):\n"
        "    text: str | None = None\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from my_models import Note, Order  # type: ignore[import-not-found]

    assert json.loads(Order().model_dump_json()) == {"priority": 3}
    assert json.loads(Order(note=Note(text="hi")).model_dump_json()) == {"note": {"text": "hi"}, "priority": 3}


def test_models_round_trip_through_the_temporal_pydantic_converter():
    converter = pydantic_data_converter.payload_converter
    for value in (*rich_history(), ModelRequest(model="m", messages=rich_history())):
        payload = converter.to_payloads([value])[0]
        assert converter.from_payload(payload, type(value)) == value


def test_models_are_frozen_and_reject_unknown_fields():
    part = TextPart(text="hi")
    with pytest.raises(ValidationError):
        part.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="colour"):
        TextPart.model_validate({"kind": "text", "text": "hi", "colour": "red"})


def test_parts_are_a_discriminated_union():
    message = Message.model_validate({"role": "user", "parts": [{"kind": "refusal", "text": "no"}]})
    assert isinstance(message.parts[0], RefusalPart)
    with pytest.raises(ValidationError, match="kind"):
        Message.model_validate({"role": "user", "parts": [{"kind": "smell", "text": "no"}]})


def test_usage_adds_up():
    total = Usage(input_tokens=1, output_tokens=2, reasoning_tokens=3) + Usage(input_tokens=10, cached_input_tokens=4)
    assert (total.input_tokens, total.output_tokens, total.cached_input_tokens, total.reasoning_tokens) == (11, 2, 4, 3)


def test_projection_to_the_same_vendor_keeps_tokens_and_items_and_only_fills_missing_ids():
    history = rich_history()
    projected, report = project(history[:2], "openai", "gpt-5")
    assert projected[1].parts[0] == history[1].parts[0]  # the reasoning token survives
    assert projected[1].parts[3] == history[1].parts[3]  # so does the openai-only item
    assert [c.what for c in report.changes] == ["tool call id None"]
    assert projected[1].tool_calls[1].id == "call_2"


def test_projection_to_claude_drops_foreign_reasoning_and_items_and_rewrites_ids():
    projected, report = project(rich_history(), "anthropic", "claude-sonnet-4-5")
    calls = projected[1].tool_calls
    results = [p for p in projected[2].parts if isinstance(p, ToolResultPart)]
    assert all(c.id and c.id.replace("_", "").replace("-", "").isalnum() for c in calls)
    assert [r.call_id for r in results] == [c.id for c in calls]  # rewritten consistently, None matched by name
    assert not any(isinstance(p, ReasoningPart | ProviderPart) for p in projected[1].parts)
    assert isinstance(projected[3].parts[1], TextPart)  # refusal -> text
    actions = sorted((c.action, c.what.split(" ")[0]) for c in report.changes)
    assert ("dropped", "reasoning") in actions and ("dropped", "openai") in actions
    assert ("converted", "refusal") in actions
    assert len(report.of("rewritten")) == 4  # two calls, two results


def test_projection_keeps_reasoning_text_when_asked():
    projected, report = project(rich_history(), "gemini", "gemini-2.5-pro", keep_reasoning_text=True)
    assert projected[1].parts[0] == TextPart(text="Two cities: call both.")
    assert report.of("converted")[0].what == "reasoning"


def test_projection_to_gemini_puts_a_signature_on_the_first_call_of_each_turn():
    projected, report = project(rich_history(), "gemini", "gemini-3-pro")
    first_call_at = next(i for i, p in enumerate(projected[1].parts) if isinstance(p, ToolCallPart))
    marker = projected[1].parts[first_call_at - 1]
    assert isinstance(marker, ReasoningPart) and marker.token is not None
    assert marker.token.value == GEMINI_SKIP_SIGNATURE and marker.token.provider == "gemini"
    assert len(report.of("added")) == 1


def test_projection_drops_tokens_of_another_model_of_the_same_vendor():
    history = (Message(role="assistant", parts=(ReasoningPart(text="hm", token=CLAUDE_TOKEN), TextPart(text="ok"))),)
    projected, report = project(history, "anthropic", "claude-opus-4-1")
    assert projected[0].parts == (TextPart(text="ok"),)
    assert "claude-sonnet-4-5" in report.changes[0].detail


@pytest.mark.parametrize(
    ("made_by", "target", "valid"),
    [
        ("gpt-5-2025-08-07", "gpt-5", True),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", True),
        ("gemini-2.0-flash-001", "models/gemini-2.0-flash", True),
        ("gpt-5-mini-2025-08-07", "gpt-5", False),
        ("gpt-5", "gpt-5-mini", False),
        ("claude-sonnet-4", "claude-sonnet-4-5", False),
        ("gemini-2.5-flash", "gemini-2.5-flash-lite", False),
        ("gpt-5-2025-08-07", "gpt-5-2025-10-01", False),
    ],
)
def test_a_token_replays_to_its_own_model_or_alias_but_not_a_sibling_model(made_by, target, valid):
    token = ReasoningToken(provider="openai", api="responses", model=made_by, value="enc")
    assert token_is_valid_for(token, "openai", target) is valid
