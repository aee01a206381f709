"""The server side of the Responses API: read requests, write responses, streams and error bodies."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelResponse
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers.openai.wire import ADAPTER

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


class OpenAIServer:
    """`POST /v1/responses`, streamed when the body says `"stream": true`."""

    name = ADAPTER.name

    def endpoint(self, path: str) -> bool:
        return path == "/v1/responses"

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        stream = body.get("stream") is True
        body = {key: value for key, value in body.items() if key != "stream"}
        return ServedRequest(ADAPTER.decode_request(body), stream)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return ADAPTER.encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return ADAPTER.encode_stream(response)

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
