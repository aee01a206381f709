"""The server side of Claude's Messages API: read requests, write messages, streams and error bodies."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelResponse
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers.anthropic.wire import ADAPTER

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
        return ServedRequest(ADAPTER.decode_request(body), stream)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return ADAPTER.encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return ADAPTER.encode_stream(response)

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
