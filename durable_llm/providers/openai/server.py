"""The server side of the Responses API: read requests, write responses, streams and error bodies."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import Message, ModelRequest, ModelResponse, TextPart, Tool
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers.base import MalformedBody
from durable_llm.providers.openai.wire import (
    _ENVELOPE,
    ADAPTER,
    PROVIDER,
    _decode_format,
    _decode_tool,
    _decode_tool_choice,
    _encode_usage,
    _item_events,
    _pd,
    _pop,
    _Reader,
    _status_fields,
    _Writer,
)

# Error bodies as the API reference documents them, by HTTP status: (type, code, message).
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: (
        "invalid_request_error",
        "invalid_api_key",
        "Incorrect API key provided: sk-fake. You can find your API key at https://platform.openai.com/account/api-keys.",
    ),
    403: (
        "invalid_request_error",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    404: ("invalid_request_error", "model_not_found", "The requested model does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests per min (RPM). Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}


def decode_request(body: dict[str, Any]) -> ModelRequest:
    """Import a Responses API request body (an existing conversation) into the neutral model."""
    if not isinstance(body, dict):
        raise MalformedBody("$", "expected a JSON object")
    rest = dict(body)
    model = _pop(rest, "model", str)
    reader = _Reader(model)
    messages: tuple[Message, ...] = ()
    if "input" in rest:
        source = rest.pop("input")
        if isinstance(source, str):
            messages = (
                Message(
                    role="user",
                    parts=(TextPart(text=source, provider_details={}),),
                    provider_details=_pd({"input_form": "string"}),
                ),
            )
        elif isinstance(source, list):
            messages = reader.messages(source, "input")
        else:
            raise MalformedBody("input", "expected a string or a list of items")
    tools: tuple[Tool, ...] = ()
    if isinstance(rest.get("tools"), list) and rest["tools"]:
        tools = tuple(_decode_tool(tool, f"tools[{i}]") for i, tool in enumerate(rest.pop("tools")))
    # The fields below take their keys out of `rest`; provider_options, last, keeps what is left.
    return ModelRequest(
        model=model,
        instructions=_pop(rest, "instructions", str),
        messages=messages,
        tools=tools,
        tool_choice=_decode_tool_choice(rest),
        temperature=_pop(rest, "temperature", (int, float)),
        top_p=_pop(rest, "top_p", (int, float)),
        max_output_tokens=_pop(rest, "max_output_tokens", int),
        output_schema=_decode_format(rest),
        provider_options={PROVIDER: rest} if rest else {},
    )


def encode_response(response: ModelResponse) -> dict[str, Any]:
    """The response object OpenAI would have sent (for fake servers and recorded replays)."""
    writer = _Writer(for_response=True)
    writer.message(response.message)
    body: dict[str, Any] = {
        "id": response.id if response.id is not None else "resp_0",
        "model": response.model if response.model is not None else "unknown",
        **_status_fields(response.raw_stop_reason, response.stop_reason),
        "output": writer.items,
        "usage": _encode_usage(response.usage),
    }
    # The echoed request settings a decoded response kept; defaults for a hand-built one.
    details = response.provider_details.get(PROVIDER)
    return {**body, **details} if details is not None else {**_ENVELOPE, **body}


def encode_stream(response: ModelResponse) -> str:
    """The text/event-stream the Responses API sends for `response` when asked to stream.

    `decode_stream` folds it back.
    """
    body = encode_response(response)
    started = {**body, "status": "in_progress", "incomplete_details": None, "output": [], "usage": None}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    for index, item in enumerate(body["output"]):
        events += _item_events(index, item)
    # The API ends a failed response with response.failed, but decode_stream raises on that: a failed
    # response ends with response.completed so that it folds back unchanged.
    final = "response.incomplete" if body["status"] == "incomplete" else "response.completed"
    events.append({"type": final, "response": body})
    numbered = ({"type": event["type"], "sequence_number": n, **event} for n, event in enumerate(events))
    return "".join(
        f"event: {event['type']}\ndata: {json.dumps(event, separators=(',', ':'))}\n\n" for event in numbered
    )


class OpenAIServer:
    """`POST /v1/responses`, streamed when the body says `"stream": true`."""

    name = ADAPTER.name

    def endpoint(self, path: str) -> bool:
        return path == "/v1/responses"

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        stream = body.get("stream") is True
        body = {key: value for key, value in body.items() if key != "stream"}
        return ServedRequest(decode_request(body), stream)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return encode_stream(response)

    def error_body(self, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        fallback = ("server_error" if status >= 500 else "invalid_request_error", None, f"HTTP {status}")
        kind, code, typical = _ERRORS.get(status, fallback)
        return {"error": {"message": message or typical, "type": kind, "param": None, "code": code}}

    def new_response_id(self) -> str:
        return f"resp_{secrets.token_hex(24)}"

    def answer_headers(self) -> dict[str, str]:
        return {"x-request-id": f"req_{secrets.token_hex(12)}"}

    def client_environment(self, base_url: str) -> dict[str, str]:
        return {"OPENAI_BASE_URL": f"{base_url}/v1", "OPENAI_API_KEY": "sk-fake-vendor-key"}


SERVER = OpenAIServer()
