"""The server side of Claude's Messages API: read requests, write messages, streams and error bodies."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers._wire import compact_json
from durable_llm.providers.anthropic.wire import (
    _END_USAGE,
    _STOP_KEYS,
    _TOTALS,
    _VENDOR_STOP_REASONS,
    ADAPTER,
    PROVIDER,
    _decode_messages,
    _decode_system,
    _decode_tool,
    _decode_tool_choice,
    _Decoder,
    _encode_part,
    _encode_usage,
    _output_schema,
    _own,
    _required,
    _rest,
    _streamed_block,
)
from durable_llm.providers.base import MalformedBody

# Error bodies as the API reference documents them, by HTTP status: (type, message).
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed the rate limit for your organization."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}


def _decode_request(body: Any) -> ModelRequest:
    if not isinstance(body, dict):
        raise MalformedBody("$", "expected a JSON object")
    model = _required(body, "model", str, "")
    max_tokens = _required(body, "max_tokens", int, "")
    decoder = _Decoder(model)
    messages = _decode_messages(body.get("messages"), decoder)
    options = _rest(body, {"model", "max_tokens", "messages"})
    fields: dict[str, Any] = {}

    system = options.get("system")
    if isinstance(system, str):
        fields["instructions"] = options.pop("system")
    elif system is not None:
        fields["instructions"] = _decode_system(system)  # the block list itself stays in options
    for key in ("temperature", "top_p"):
        value = options.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[key] = options.pop(key)
    stop = options.get("stop_sequences")
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        fields["stop"] = tuple(options.pop("stop_sequences"))
    if "tools" in options:
        tools = _required(options, "tools", list, "")
        fields["tools"] = tuple(_decode_tool(t, f"tools[{i}]") for i, t in enumerate(tools))
        del options["tools"]
    if "tool_choice" in options:
        fields["tool_choice"] = _decode_tool_choice(options.pop("tool_choice"))
    config = options.get("output_config")
    if isinstance(config, dict) and (schema := _output_schema(config.get("format"))):
        fields["output_schema"] = schema
        rest = _rest(config, {"format"})
        if rest:
            options["output_config"] = rest
        else:
            del options["output_config"]
    elif schema := _output_schema(options.get("output_format")):
        fields["output_schema"] = schema  # output_format itself stays in options and wins on encode

    return ModelRequest(
        model=model,
        max_output_tokens=max_tokens,
        messages=messages,
        provider_options={PROVIDER: options} if options else {},
        **fields,
    )


def _encode_response(response: ModelResponse) -> dict[str, Any]:
    stop = response.raw_stop_reason
    if stop is None and response.stop_reason is not None:
        stop = _VENDOR_STOP_REASONS.get(response.stop_reason)
    content = [b for p in response.message.parts if (b := _encode_part(p, response=True)) is not None]
    out: dict[str, Any] = {
        "id": response.id or "",  # the SDK's Message requires strings here
        "type": "message",
        "role": "assistant",
        "model": response.model or "",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": _encode_usage(response.usage),
    }
    out.update(_own(response.provider_details))
    return out


def _stream(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The events the real API streams for the `Message` body `body`."""
    usage = body["usage"]
    end_usage = {k: usage[k] for k in _END_USAGE if usage.get(k) is not None}
    delta = {k: body[k] for k in _STOP_KEYS if k in body}
    end: dict[str, Any] = {
        "type": "message_delta",
        "delta": delta,
        "usage": {**{k: usage[k] for k in _TOTALS}, **end_usage},
    }
    # message_start's output count is preliminary (the real API often says 1): the fold takes the total.
    start_usage = {**_rest(usage, set(end_usage)), "output_tokens": 1}
    start = {**body, **dict.fromkeys(delta), "content": [], "usage": start_usage}  # stop fields still null
    # Only message_delta has these; a null one stays in message_start, as the fold ignores it there.
    if body.get("container") is not None:
        delta["container"] = start.pop("container")
    if body.get("context_management") is not None:
        end["context_management"] = start.pop("context_management")
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}, {"type": "ping"}]
    for index, block in enumerate(body["content"]):
        block_start, deltas = _streamed_block(block)
        events.append({"type": "content_block_start", "index": index, "content_block": block_start})
        events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": index})
    return [*events, end, {"type": "message_stop"}]


def decode_request(body: dict[str, Any]) -> ModelRequest:
    """A Messages API request body (e.g. an existing conversation) as a neutral request."""
    return _decode_request(body)


def encode_response(response: ModelResponse) -> dict[str, Any]:
    """The `Message` body Anthropic would have answered with (for fake servers and replays)."""
    return _encode_response(response)


def encode_stream(response: ModelResponse) -> str:
    """The text/event-stream Anthropic sends for `response` when asked to stream; `decode_stream` folds it back."""
    events = _stream(_encode_response(response))
    return "".join(f"event: {e['type']}\ndata: {compact_json(e)}\n\n" for e in events)


class AnthropicServer:
    """`POST /v1/messages`, streamed when the body says `"stream": true`; betas come as a header."""

    name = ADAPTER.name

    def endpoint(self, path: str) -> bool:
        return path == "/v1/messages"

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        stream = body.get("stream") is True
        body = {key: value for key, value in body.items() if key != "stream"}
        betas = {k.lower(): v for k, v in headers.items()}.get("anthropic-beta")
        if betas:
            # The client sends `provider_options["anthropic"]["betas"]` as this header.
            body = {**body, "betas": betas.split(",")}
        return ServedRequest(decode_request(body), stream)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return encode_stream(response)

    def error_body(self, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        kind, typical = _ERRORS.get(
            status, ("api_error" if status >= 500 else "invalid_request_error", f"HTTP {status}")
        )
        return {
            "type": "error",
            "error": {"type": kind, "message": message or typical},
            "request_id": f"req_{secrets.token_hex(12)}",
        }

    def new_response_id(self) -> str:
        return f"msg_01{secrets.token_urlsafe(16).replace('-', 'A').replace('_', 'B')}"

    def answer_headers(self) -> dict[str, str]:
        return {"request-id": f"req_{secrets.token_hex(12)}"}

    def client_environment(self, base_url: str) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "sk-ant-fake-vendor-key"}


SERVER = AnthropicServer()
