"""The server's directions, for fake servers and recorded replays: read a request, write an answer or a stream."""

from __future__ import annotations

import json
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse, Tool
from durable_llm.providers._wire import stream_pieces
from durable_llm.providers.base import MalformedBody
from durable_llm.providers.openai_chat._common import PROVIDER, pop
from durable_llm.providers.openai_chat.messages import REASONING_FIELDS, Reader, Writer
from durable_llm.providers.openai_chat.request_fields import (
    decode_output_schema,
    decode_stop,
    decode_tool,
    decode_tool_choice,
)
from durable_llm.providers.openai_chat.response_fields import encode_usage, finish_reason

_ENVELOPE: dict[str, Any] = {"object": "chat.completion", "created": 0}
"""The keys of a response built by hand besides id, model, choices and usage."""
_STREAMED = ("content", "refusal", *REASONING_FIELDS)


def decode_request(body: dict[str, Any]) -> ModelRequest:
    """Import a Chat Completions request body (an existing conversation) into the neutral model.

    A first system message that is a plain string becomes `instructions`.
    """
    if not isinstance(body, dict):
        raise MalformedBody("$", "expected a JSON object")
    rest = dict(body)
    raw_messages = rest.pop("messages", None)
    if not isinstance(raw_messages, list):
        raise MalformedBody("messages", "expected a list of messages")
    instructions = None
    first = raw_messages[0] if raw_messages else None
    if isinstance(first, dict) and first.keys() == {"role", "content"} and first["role"] == "system":
        instructions = first["content"] if isinstance(first["content"], str) else None
    start = 0 if instructions is None else 1
    messages = Reader(in_request=True).messages(raw_messages[start:], "messages", start=start)
    tools: tuple[Tool, ...] = ()
    if isinstance(rest.get("tools"), list) and rest["tools"]:
        tools = tuple(decode_tool(tool, f"tools[{i}]") for i, tool in enumerate(rest.pop("tools")))
    # The fields below take their keys out of `rest`; provider_options, last, keeps what is left.
    return ModelRequest(
        model=pop(rest, "model", str),
        instructions=instructions,
        messages=tuple(messages),
        tools=tools,
        tool_choice=decode_tool_choice(rest),
        temperature=pop(rest, "temperature", (int, float)),
        top_p=pop(rest, "top_p", (int, float)),
        max_output_tokens=pop(rest, "max_completion_tokens", int),
        stop=decode_stop(rest),
        seed=pop(rest, "seed", int),
        output_schema=decode_output_schema(rest),
        provider_options={PROVIDER: rest} if rest else {},
    )


def encode_response(response: ModelResponse) -> dict[str, Any]:
    """The `chat.completion` object a server would have sent for `response`."""
    details = response.provider_details.get(PROVIDER)
    choices: list[Any] = []
    choice_keys = (details or {}).get("choice", {"index": 0, "logprobs": None})
    if choice_keys is not None:
        message = Writer(for_response=True).assistant(response.message)
        finish = finish_reason(response.raw_stop_reason, response.stop_reason)
        choice = {"message": message, **choice_keys}
        if "finish_reason" not in choice_keys and "finish_reason" not in (details or {}).get("absent", ()):
            choice["finish_reason"] = finish
        choices.append(choice)
    body: dict[str, Any] = {
        "id": response.id if response.id is not None else "chatcmpl-0",
        "model": response.model if response.model is not None else "unknown",
        "choices": [*choices, *(details or {}).get("more_choices", ())],
        "usage": encode_usage(response.usage),
    }
    if details is None:
        return {**_ENVELOPE, **body}
    if "usage" in details.get("absent", ()):
        del body["usage"]
    kept = {key: value for key, value in details.items() if key not in ("choice", "more_choices", "absent")}
    return {**body, **kept}


def encode_stream(response: ModelResponse) -> str:
    """The text/event-stream a server sends for `response` when asked to stream; `decode_stream` folds it back.

    The first chunk opens the message with its role (and any keys that do not come in pieces), then
    reasoning, text and refusal come in pieces, each tool call as its name then its arguments in
    pieces, and the last chunks carry the finish reason and the usage, before `data: [DONE]`.
    """
    body = encode_response(response)
    envelope = {key: value for key, value in body.items() if key not in ("choices", "usage")}
    if envelope.get("object") == "chat.completion":
        envelope["object"] = "chat.completion.chunk"
    chunks: list[dict[str, Any]] = []
    for choice in body["choices"]:
        index = choice.get("index", 0)
        message = dict(choice["message"])
        pieces: list[dict[str, Any]] = []
        for key in _STREAMED:
            if isinstance(message.get(key), str):
                text = message.pop(key)
                pieces += [{key: piece} for piece in stream_pieces(text) or [""]]
        calls = (
            message.pop("tool_calls") if isinstance(message.get("tool_calls"), list) and message["tool_calls"] else ()
        )
        for position, call in enumerate(calls):
            pieces += _call_pieces(position, call)
        opening = {**message, **(pieces.pop(0) if pieces and "tool_calls" not in pieces[0] else {})}
        deltas = [opening, *pieces]
        for delta in deltas:
            chunks.append({**envelope, "choices": [{"index": index, "delta": delta}]})
        last = {key: value for key, value in choice.items() if key not in ("message", "index")}
        chunks.append({**envelope, "choices": [{"index": index, "delta": {}, **last}]})
    if "usage" in body:
        chunks.append({**envelope, "choices": [], "usage": body["usage"]})
    events = [f"data: {json.dumps(chunk, separators=(',', ':'))}\n\n" for chunk in chunks]
    return "".join(events) + "data: [DONE]\n\n"


def _call_pieces(position: int, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The deltas of one tool call: its id, type and name with the first piece of arguments, then the rest."""
    function = dict(call.get("function") or {})
    arguments = function.pop("arguments", None)
    if not isinstance(arguments, str):
        return [{"tool_calls": [{"index": position, **call}]}]
    first, *more = stream_pieces(arguments) or [""]
    opening = {"index": position, **call, "function": {**function, "arguments": first}}
    return [
        {"tool_calls": [opening]},
        *({"tool_calls": [{"index": position, "function": {"arguments": piece}}]} for piece in more),
    ]
