"""What every adapter reads or writes the same way: SSE streams, error bodies, compact JSON, JSON type names."""

from __future__ import annotations

import json
import re
from typing import Any

from durable_llm.providers.base import MalformedBody

JSON_TYPES: dict[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}
"""How `MalformedBody` problems name the JSON type of a decoded value ("expected an object, got null")."""

# Only CR, LF and CRLF end an SSE line: `str.splitlines` would also cut JSON text at U+2028 and kin.
_LINE_END = re.compile(r"\r\n|\r|\n")


def json_type(value: Any) -> str:
    """The JSON type of a decoded value, as `MalformedBody` problems name it."""
    return JSON_TYPES.get(type(value), type(value).__name__)


def pop(extras: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """Take `extras[key]` out if it has the type its neutral field needs; else leave it for replay."""
    value = extras.get(key)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        del extras[key]
        return value
    return None


def need(extras: dict[str, Any], key: str, kind: type, at: str) -> Any:
    """Take a required key out, or say which one is missing or has the wrong type."""
    if key not in extras:
        raise MalformedBody(f"{at}.{key}", "missing")
    value = extras.pop(key)
    if not isinstance(value, kind):
        raise MalformedBody(f"{at}.{key}", f"expected {JSON_TYPES[kind]}, got {json_type(value)}")
    return value


def sse_events(text: str) -> list[dict[str, Any]]:
    """The JSON object each server-sent event of `text` carries, in order.

    An event's `data:` lines are joined by newlines, as the SSE spec says; events without data
    and OpenAI's closing `[DONE]` carry nothing. Data that is not one JSON object raises
    `MalformedBody` naming `events[i]`, the event's place among those returned.
    """
    events: list[dict[str, Any]] = []
    data: list[str] = []
    for line in [*_LINE_END.split(text), ""]:  # the final "" ends an event the text did not close
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif not line and data:
            joined, data = "\n".join(data), []
            if joined != "[DONE]":
                events.append(_event(joined, f"events[{len(events)}]"))
    return events


def _event(data: str, path: str) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError as exc:
        raise MalformedBody(path, f"data is not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedBody(path, f"expected an object, got {json_type(event)}")
    return event


STREAM_PIECE_CHARS = 24
"""Characters per text delta of an encoded stream: a few tokens' worth, so consumers see the text grow."""


def stream_pieces(text: str) -> list[str]:
    """`text` cut into the deltas an encoded stream sends it in (`STREAM_PIECE_CHARS` each)."""
    return [text[start : start + STREAM_PIECE_CHARS] for start in range(0, len(text), STREAM_PIECE_CHARS)]


def compact_json(value: Any) -> str:
    """`value` as JSON text without spaces, non-ASCII kept: the form models write tool arguments in."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def error_json(body: bytes) -> tuple[str, Any]:
    """The text of an error answer and its JSON, or None for a body that is not JSON (an HTML page, nothing)."""
    text = body.decode("utf-8", errors="replace")
    try:
        return text, json.loads(text)
    except ValueError:
        return text, None
