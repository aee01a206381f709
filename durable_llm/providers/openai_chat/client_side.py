"""The client's directions: the request we send, the answer (whole or streamed) we read back."""

from __future__ import annotations

import json
import re
from typing import Any

from durable_llm.conversation import Message, ModelRequest, ModelResponse, Usage
from durable_llm.providers._wire import sse_events
from durable_llm.providers.base import MalformedBody, StreamDelta
from durable_llm.providers.errors import ServerError
from durable_llm.providers.openai_chat._common import PROVIDER, pd, pop
from durable_llm.providers.openai_chat.errors import classify
from durable_llm.providers.openai_chat.messages import REASONING_FIELDS, Reader, Writer
from durable_llm.providers.openai_chat.request_fields import (
    ChatCompletionsOptions,
    encode_any_tool,
    encode_output_schema,
    encode_tool_choice,
)
from durable_llm.providers.openai_chat.response_fields import decode_usage, stop_reason

_DONE = re.compile(r"^data: ?\[DONE\]\s*$", re.MULTILINE)
_CONCATENATED = frozenset(
    {"content", "refusal", "reasoning", "reasoning_content", "arguments", "text", "summary", "transcript"}
)
"""Keys of a streamed delta whose text comes in pieces; any other key's later value replaces the earlier."""


def encode_request(request: ModelRequest) -> dict[str, Any]:
    """The JSON body of `POST …/chat/completions` for `request`."""
    options = request.provider_options.get(PROVIDER, {})
    ChatCompletionsOptions.model_validate(options)
    body: dict[str, Any] = {}
    if request.model is not None:
        body["model"] = request.model
    writer = Writer(for_response=False)
    if request.instructions is not None:
        writer.out.append({"role": "system", "content": request.instructions})
    for message in request.messages:
        writer.message(message)
    body["messages"] = writer.out
    tools = [encoded for tool in request.tools if (encoded := encode_any_tool(tool)) is not None]
    if tools:
        body["tools"] = tools
    if request.tool_choice is not None:
        body["tool_choice"] = encode_tool_choice(request.tool_choice)
    for key in ("temperature", "top_p", "seed"):
        if (value := getattr(request, key)) is not None:
            body[key] = value
    if request.max_output_tokens is not None:
        body["max_completion_tokens"] = request.max_output_tokens
    if request.stop is not None:
        body["stop"] = list(request.stop)
    if request.output_schema is not None:
        body["response_format"] = encode_output_schema(request.output_schema)
    for key, value in options.items():
        body.setdefault(key, value)
    return body


def decode_response(body: dict[str, Any]) -> ModelResponse:
    """A `chat.completion` object as a neutral response (its first choice; any others are kept)."""
    if not isinstance(body, dict):
        raise MalformedBody("$", "expected a JSON object")
    rest = dict(body)
    choices = rest.pop("choices", None)
    if not isinstance(choices, list):
        raise MalformedBody("choices", "expected a list of choices")
    details: dict[str, Any] = {}
    message = Message(role="assistant", parts=(), provider_details={})
    raw_stop = None
    if choices:
        first = choices[0]
        if not isinstance(first, dict) or not isinstance(first.get("message"), dict):
            raise MalformedBody("choices[0].message", "expected a message object")
        choice = dict(first)
        message = Reader(in_request=False).assistant(choice.pop("message"), "choices[0].message")
        raw_stop = pop(choice, "finish_reason", str)
        if "finish_reason" not in first:
            details["absent"] = ["finish_reason"]
        details["choice"] = choice
        if len(choices) > 1:
            details["more_choices"] = choices[1:]
    else:
        details["choice"] = None  # no choice at all (an error body, a usage-only answer)
    usage = Usage()
    if isinstance(rest.get("usage"), dict):
        usage = decode_usage(rest.pop("usage"))
    elif "usage" not in rest:
        details["absent"] = [*details.get("absent", ()), "usage"]
    return ModelResponse(
        id=pop(rest, "id", str),
        model=pop(rest, "model", str),
        provider=PROVIDER,
        message=message,
        usage=usage,
        stop_reason=stop_reason(raw_stop, list(message.parts)),
        raw_stop_reason=raw_stop,
        provider_details=pd({**rest, **details}),
    )


def fold_events(events: list[dict[str, Any]], *, done: bool = False) -> dict[str, Any]:
    """The `chat.completion` object the `chat.completion.chunk` events of a stream add up to.

    Text pieces are joined, tool calls and reasoning details gathered by their `index`, and any other
    key takes the last value sent (a null never replaces a value). An `error` in a chunk raises the
    classified `ProviderError`; a stream that ends before its `[DONE]` (`done`), a finish reason or the
    usage that closes it is a retryable `ServerError`.
    """
    folded: dict[str, Any] = {}
    choices: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.get("error"):
            error = event["error"]
            raise classify(None, {}, error if isinstance(error, dict) else {"message": str(error)}, json.dumps(event))
        for key, value in event.items():
            if key == "object" and value == "chat.completion.chunk":
                value = "chat.completion"
            if key != "choices":
                _fold(folded, key, value, pieces=False)
        for choice in event.get("choices") or ():
            if not isinstance(choice, dict):
                raise MalformedBody("choices[]", "expected a choice object")
            index = choice.get("index", 0)
            into = choices.setdefault(index if isinstance(index, int) else 0, {"message": {}})
            for key, value in choice.items():
                if key == "delta":
                    if not isinstance(value, dict):
                        raise MalformedBody("choices[].delta", "expected an object")
                    for delta_key, piece in value.items():
                        _fold(into["message"], delta_key, piece, pieces=True)
                else:
                    _fold(into, key, value, pieces=True)
    finished = any(choice.get("finish_reason") for choice in choices.values()) or isinstance(folded.get("usage"), dict)
    if not (finished or done):
        raise ServerError(
            "the stream ended before the answer was finished; retry the call",
            provider=PROVIDER,
            body=json.dumps(events)[-2000:],
        )
    for choice in choices.values():
        for call in choice["message"].get("tool_calls") or ():
            if isinstance(call, dict):
                call.pop("index", None)  # the stream's bookkeeping, like `delta`: a whole message has none
    return {**folded, "choices": [choices[index] for index in sorted(choices)]}


def _fold(into: dict[str, Any], key: str, value: Any, *, pieces: bool) -> None:
    """Add `value` to `into[key]`: with `pieces` (a choice's keys), texts and lists are sent piece by piece;
    else (a chunk's envelope, repeated in every chunk) a later value replaces an earlier one."""
    existing = into.get(key)
    if key not in into or existing is None:
        into[key] = _copy(value)
    elif value is None:
        return
    elif pieces and key in _CONCATENATED and isinstance(existing, str) and isinstance(value, str):
        into[key] = existing + value
    elif isinstance(existing, dict) and isinstance(value, dict):
        for nested_key, nested in value.items():
            _fold(existing, nested_key, nested, pieces=pieces)
    elif pieces and isinstance(existing, list) and isinstance(value, list):
        for item in value:
            match = None
            if isinstance(item, dict) and "index" in item:
                match = next((e for e in existing if isinstance(e, dict) and e.get("index") == item["index"]), None)
            if match is None:
                existing.append(_copy(item))
            else:
                for nested_key, nested in item.items():
                    _fold(match, nested_key, nested, pieces=pieces)
    else:
        into[key] = _copy(value)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(nested) for key, nested in value.items()}
    if isinstance(value, list):
        return [_copy(nested) for nested in value]
    return value


def decode_stream(sse_text: str) -> ModelResponse:
    """Fold a raw `text/event-stream` of a streamed call into the response it adds up to."""
    return decode_response(fold_events(sse_events(sse_text), done=_DONE.search(sse_text) is not None))


def decode_events(events: list[dict[str, Any]]) -> ModelResponse:
    """`decode_stream` for the events already decoded from a stream, in order."""
    return decode_response(fold_events(events))


def stream_deltas(event: dict[str, Any]) -> list[StreamDelta]:
    """The typed pieces one chunk adds to the answer (its first choice): reasoning, text, tool-call arguments."""
    delta = next(
        (c.get("delta") for c in event.get("choices") or () if isinstance(c, dict) and c.get("index", 0) == 0), None
    )
    if not isinstance(delta, dict):
        return []
    out = [
        StreamDelta("reasoning", text)
        for field in REASONING_FIELDS
        if isinstance(text := delta.get(field), str) and text
    ]
    if text := stream_text(event):
        out.append(StreamDelta("text", text))
    for call in delta.get("tool_calls") or ():
        if not isinstance(call, dict) or not isinstance(function := call.get("function"), dict):
            continue
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            index, call_id, name = call.get("index"), call.get("id"), function.get("name")
            out.append(
                StreamDelta(
                    "tool_arguments",
                    arguments,
                    index=index if isinstance(index, int) else None,
                    call_id=call_id if isinstance(call_id, str) else None,
                    name=name if isinstance(name, str) else None,
                )
            )
    return out


def stream_text(event: dict[str, Any]) -> str:
    """The answer text one decoded chunk adds (its first choice's content delta; "" for anything else)."""
    for choice in event.get("choices") or ():
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta")
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, list):  # Mistral streams content parts
                return "".join(p["text"] for p in content if isinstance(p, dict) and p.get("type") == "text")
            return content if isinstance(content, str) else ""
    return ""
