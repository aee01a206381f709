"""Every recorded history with tool calls, projected to each other vendor: the body passes the target
SDK's request types and the vendor's own rules (no empty text to Claude, no audio or video as an
OpenAI `input_file`, no orphan tool results, no foreign reasoning)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from corpus import exchanges, requires_corpus
from sdk_validation import validate_request

from durable_llm.conversation import (
    Message,
    ModelRequest,
    ReasoningPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    project,
)
from durable_llm.providers import get_adapter

APIS = {
    "openai": "openai_responses",
    "anthropic": "anthropic_messages",
    "gemini": "gemini_generate_content",
    "openai_chat": "openai_chat_completions",
}
MODELS = {"openai": "gpt-5", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash", "openai_chat": "gpt-4o"}
PAIRS = [(source, target) for source in APIS for target in APIS if source != target]


def histories_with_tool_calls(source: str) -> list[tuple[str, ModelRequest]]:
    """(file, decoded request) of every recorded request of `source` whose history holds a tool call."""
    adapter = get_adapter(source)
    found = []
    for exchange in exchanges(APIS[source]):
        body = exchange["request"]["body"]
        if not isinstance(body, dict):
            continue
        request = adapter.decode_request({k: v for k, v in body.items() if k != "stream"})
        if any(isinstance(p, ToolCallPart) for m in request.messages for p in m.parts):
            found.append((exchange["file"], request))
    return found


def rule_breaks(target: str, body: dict[str, Any], messages: tuple[Message, ...]) -> list[str]:
    """What in a projected history and its body the target vendor refuses though its SDK types let it pass."""
    problems = []
    call_ids = {p.id for m in messages for p in m.parts if isinstance(p, ToolCallPart)}
    for message in messages:
        for part in message.parts:
            if isinstance(part, ToolResultPart) and part.call_id is not None and part.call_id not in call_ids:
                problems.append(f"orphan tool result {part.call_id!r}")
            if isinstance(part, ReasoningPart) and part.token is not None and part.token.provider != target:
                problems.append(f"{part.token.provider} reasoning")
    if target == "anthropic":
        blocks = [b for m in body["messages"] if isinstance(m["content"], list) for b in m["content"]]
        blocks += [c for b in blocks if isinstance(b.get("content"), list) for c in b["content"]]
        if any(m["content"] == "" for m in body["messages"]) or any(
            b.get("type") == "text" and not b.get("text") for b in blocks
        ):
            problems.append("empty text")
    if target == "openai":
        for item in json.dumps(body["input"]).split('"type": "input_file"')[1:]:
            if '"data:audio/' in item[:200] or '"data:video/' in item[:200]:
                problems.append("audio or video as input_file")
    return problems


@requires_corpus
@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_every_recorded_history_with_tool_calls_continues_on_another_vendor(source: str, target: str):
    adapter = get_adapter(target)
    histories = histories_with_tool_calls(source)
    failures = []
    for file, recorded in histories:
        messages, _report = project(recorded.messages, target, MODELS[target])
        tools = tuple(t for t in recorded.tools if isinstance(t, ToolSpec))
        try:
            body = adapter.encode_request(
                ModelRequest(model=MODELS[target], instructions=recorded.instructions, messages=messages, tools=tools)
            )
            validate_request(target, body)
            if problems := rule_breaks(target, body, messages):
                raise AssertionError(", ".join(sorted(set(problems))))
        except Exception as exc:  # every failure is listed, not only the first
            failures.append(f"{file}: {type(exc).__name__}: {str(exc)[:200]}")
    assert histories
    assert not failures, f"{len(failures)} of {len(histories)} fail:\n" + "\n".join(failures)
