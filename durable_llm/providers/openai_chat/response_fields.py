"""Response fields besides the message, both directions: usage and finish reasons."""

from __future__ import annotations

from typing import Any

from durable_llm.conversation import Part, StopReason, ToolCallPart, Usage
from durable_llm.providers.openai_chat._common import details_of, pd, pop, restore

_FINISH: dict[str, StopReason] = {
    "stop": "end_turn",
    "eos": "end_turn",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "max_tokens",
    "model_length": "max_tokens",
    "content_filter": "content_filter",
    "error": "error",
}
_FINISH_OF: dict[str, str] = {
    "tool_calls": "tool_calls",
    "max_tokens": "length",
    "content_filter": "content_filter",
    "error": "error",
}
CACHED_ELSEWHERE = ("prompt_cache_hit_tokens", "num_cached_tokens", "cached_tokens")
"""Where servers other than OpenAI count cached prompt tokens: DeepSeek, Mistral, Together / Hugging Face."""


def stop_reason(finish: str | None, parts: list[Part]) -> StopReason | None:
    """The neutral stop reason: tool calls win (some servers finish a call turn with "stop")."""
    if finish is None:
        return None
    if any(isinstance(part, ToolCallPart) for part in parts) and _FINISH.get(finish, "end_turn") == "end_turn":
        return "tool_calls"
    return _FINISH.get(finish, "other")


def finish_reason(raw: str | None, stop: StopReason | None) -> str:
    return raw if raw is not None else _FINISH_OF.get(stop or "", "stop")


def decode_usage(raw: dict[str, Any]) -> Usage:
    """Token counts, cached ones wherever the server puts them; everything else kept verbatim."""
    extras = dict(raw)
    absent: list[str] = []
    counts: dict[str, int] = {}
    for key, field in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens")):
        value = pop(extras, key, int)
        if value is None and key not in raw:
            absent.append(key)
        counts[field] = value or 0
    for key, field, count in (
        ("prompt_tokens_details", "cached_input_tokens", "cached_tokens"),
        ("completion_tokens_details", "reasoning_tokens", "reasoning_tokens"),
    ):
        nested = extras.get(key)
        if not isinstance(nested, dict):
            if key not in raw:
                absent.append(key)
            continue
        nested = dict(nested)
        value = nested.get(count)
        elsewhere = (
            [extras[k] for k in CACHED_ELSEWHERE if type(extras.get(k)) is int] if count == "cached_tokens" else []
        )
        if elsewhere and not value:
            value = elsewhere[0]  # the server's own count (left in place): its OpenAI-shaped one says 0
        elif type(value) is int:
            del nested[count]
        elif count not in nested:
            absent.append(f"{key}.{count}")
        counts[field] = value if type(value) is int else 0
        if count == "cached_tokens" and type(nested.get("cache_write_tokens")) is int and nested["cache_write_tokens"]:
            counts["cache_write_tokens"] = nested.pop("cache_write_tokens")
        if nested:
            extras[key] = nested
        else:
            del extras[key]
    if "cached_input_tokens" not in counts:
        counts["cached_input_tokens"] = next((extras[k] for k in CACHED_ELSEWHERE if type(extras.get(k)) is int), 0)
    if extras.get("total_tokens") == counts["input_tokens"] + counts["output_tokens"]:
        del extras["total_tokens"]
    elif "total_tokens" not in raw:
        absent.append("total_tokens")
    if absent:
        extras["absent"] = absent
    return Usage(**counts, provider_details=pd(extras))


def encode_usage(usage: Usage) -> dict[str, Any]:
    details = details_of(usage)
    cached: dict[str, Any] = {"cached_tokens": usage.cached_input_tokens}
    if usage.cache_write_tokens:
        cached["cache_write_tokens"] = usage.cache_write_tokens
    out: dict[str, Any] = {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": cached,
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }
    return restore(out, details)
