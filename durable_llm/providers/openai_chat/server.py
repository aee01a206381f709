"""The server side of Chat Completions, for fake servers and recorded replays: read a request, write an
answer, a stream or an error body (`ChatCompletionsServer`, as `FakeVendorServer` speaks it)."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse, Tool
from durable_llm.providers._serving import ServedRequest
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


# --- the fake server's side of a Chat Completions service ----------------------------------------

_CHAT_PATH = re.compile(r"(?:/[^?]*)?/chat/completions")
"""Under any prefix: /v1 (OpenAI, Ollama, vLLM), /api/v1 (OpenRouter), /openai/deployments/<name> (Azure), ..."""

# Error bodies as OpenAI's API reference documents them, by HTTP status: (type, code, message).
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-fake."),
    404: ("invalid_request_error", "model_not_found", "The model `m` does not exist or you do not have access to it."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM). Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


class ChatCompletionsServer:
    """`POST …/chat/completions`, streamed when the body says `"stream": true`, as service `service` would
    (whose client variables `client_environment` sets: "ollama" -> OLLAMA_HOST, "groq" -> GROQ_*, ...)."""

    name = PROVIDER

    def __init__(self, service: str = PROVIDER) -> None:
        self.service = service

    def endpoint(self, path: str) -> bool:
        return _CHAT_PATH.fullmatch(path) is not None

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        stream = body.get("stream") is True
        return ServedRequest(decode_request({key: value for key, value in body.items() if key != "stream"}), stream)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return encode_stream(response)

    def error_body(self, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        fallback = ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
        kind, code, typical = _ERRORS.get(status, fallback)
        return {"error": {"message": message or typical, "type": kind, "param": None, "code": code}}

    def new_response_id(self) -> str:
        return f"chatcmpl-{secrets.token_hex(12)}"

    def answer_headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_{secrets.token_hex(12)}"}

    def client_environment(self, base_url: str) -> dict[str, str]:
        from durable_llm.providers.openai_chat.endpoints import ENDPOINTS

        if self.service == "azure":
            return {"AZURE_OPENAI_ENDPOINT": base_url, "AZURE_OPENAI_API_KEY": "fake-vendor-key"}
        endpoint = ENDPOINTS[self.service]
        env: dict[str, str] = {}
        if endpoint.base_url_variable:
            env[endpoint.base_url_variable] = base_url if self.service == "ollama" else f"{base_url}/v1"
        if endpoint.api_key_variable:
            env[endpoint.api_key_variable] = "sk-fake-vendor-key"
        return env


def server_for(service: str) -> ChatCompletionsServer:
    """The server side of a named Chat Completions service ("openai_chat", "ollama", "groq", ...)."""
    return ChatCompletionsServer(service)


SERVER = ChatCompletionsServer()
