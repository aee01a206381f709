"""The server side of Gemini's `generateContent`: read requests, write responses, streams and error bodies."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers.gemini.stream import split_body
from durable_llm.providers.gemini.wire import (
    _REQUEST_KEYS,
    ADAPTER,
    PROVIDER,
    _decode_contents,
    _decode_generation_config,
    _decode_instructions,
    _decode_tool_choice,
    _decode_tools,
    _encode_parts,
    _encode_usage,
    _finish_reason,
    _gemini,
    _object,
    _required,
)

_PATH = re.compile(r"/v1(?:beta|alpha)?/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)")

# Error bodies as the API reference documents them, by HTTP status: (status, message).
_ERRORS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
    403: ("PERMISSION_DENIED", "The caller does not have permission."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    500: (
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    ),
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "The request timed out. Please try again."),
}


def decode_request(body: dict[str, Any]) -> ModelRequest:
    """A neutral request for an existing Gemini body (the model is not in it: None)."""
    body = _object(body, "body")
    options = {key: value for key, value in body.items() if key not in _REQUEST_KEYS}
    fields: dict[str, Any] = {"messages": tuple(_decode_contents(_required(body, "contents", "body")))}
    if "systemInstruction" in body:
        fields["instructions"] = _decode_instructions(body["systemInstruction"], options)
    if "tools" in body:
        fields["tools"] = tuple(_decode_tools(body["tools"]))
    if "toolConfig" in body:
        tool_config = dict(_object(body["toolConfig"], "toolConfig"))
        if "functionCallingConfig" in tool_config:
            calling = dict(_object(tool_config.pop("functionCallingConfig"), "toolConfig.functionCallingConfig"))
            fields["tool_choice"] = _decode_tool_choice(calling)
            rest = {key: value for key, value in calling.items() if key not in ("mode", "allowedFunctionNames")}
            if rest:
                tool_config["functionCallingConfig"] = rest
        if tool_config or "tool_choice" not in fields:
            options["toolConfig"] = tool_config
    if "generationConfig" in body:
        _decode_generation_config(body["generationConfig"], fields, options)
    if options:
        fields["provider_options"] = {PROVIDER: options}
    return ModelRequest(**fields)


def encode_response(response: ModelResponse) -> dict[str, Any]:
    """The body Gemini would have answered with (what our fake servers send)."""
    details = _gemini(response.provider_details)
    body: dict[str, Any] = {}
    if not details.get("no_candidates"):
        parts = _encode_parts(response.message.parts, {})
        candidate: dict[str, Any] = {}
        keys = details.get("content_keys", ["parts", "role"])
        if keys is not None:
            content = {"parts": parts, "role": "model"}
            candidate["content"] = {key: content[key] for key in keys if key in content}
        if (finish := _finish_reason(response)) is not None:
            candidate["finishReason"] = finish
        candidate.update(details.get("candidate", {}))
        body["candidates"] = [candidate, *details.get("other_candidates", [])]
    if usage := _encode_usage(response.usage):
        body["usageMetadata"] = usage
    if response.model is not None:
        body["modelVersion"] = response.model
    if response.id is not None:
        body["responseId"] = response.id
    body.update(details.get("response", {}))
    return body


def encode_stream(response: ModelResponse) -> str:
    """The text/event-stream Gemini sends for `response` from streamGenerateContent?alt=sse.

    `decode_stream` folds it back.
    """
    chunks = split_body(encode_response(response))
    # The API's own spacing: a space after colons, none after commas, non-ASCII text as is.
    return "".join(f"data: {json.dumps(chunk, ensure_ascii=False, separators=(',', ': '))}\r\n\r\n" for chunk in chunks)


class GeminiServer:
    """`POST /{version}/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`)."""

    name = ADAPTER.name

    def endpoint(self, path: str) -> bool:
        return _PATH.fullmatch(path) is not None

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        route = _PATH.fullmatch(path.split("?", 1)[0])
        if route is None:
            raise ValueError(f"not a generateContent path: {path}")
        request = decode_request(body)
        if request.model is None:  # the model is in the URL, not the body
            request = request.model_copy(update={"model": route["model"]})
        return ServedRequest(request, route["method"] == "streamGenerateContent")

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return encode_stream(response)

    def error_body(self, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        """A 429 with a `Retry-After` header also carries the delay in `RetryInfo`, where Gemini puts it."""
        kind, typical = _ERRORS.get(status, ("INTERNAL" if status >= 500 else "FAILED_PRECONDITION", f"HTTP {status}"))
        error: dict[str, Any] = {"code": status, "message": message or typical, "status": kind}
        retry_after = {k.lower(): v for k, v in headers.items()}.get("retry-after", "")
        if status == 429 and retry_after.isdigit():
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"}]
        return {"error": error}

    def new_response_id(self) -> str:
        return secrets.token_urlsafe(16)

    def answer_headers(self) -> dict[str, str]:
        return {}

    def client_environment(self, base_url: str) -> dict[str, str]:
        return {"GOOGLE_GEMINI_BASE_URL": base_url, "GEMINI_API_KEY": "fake-vendor-key"}


SERVER = GeminiServer()
