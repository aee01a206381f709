"""The server side of Gemini's `generateContent`: read requests, write responses, streams and error bodies."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelResponse
from durable_llm.providers._serving import ServedRequest
from durable_llm.providers.gemini.wire import ADAPTER

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


class GeminiServer:
    """`POST /{version}/models/{model}:generateContent` (or `:streamGenerateContent?alt=sse`)."""

    name = ADAPTER.name

    def endpoint(self, path: str) -> bool:
        return _PATH.fullmatch(path) is not None

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        route = _PATH.fullmatch(path.split("?", 1)[0])
        if route is None:
            raise ValueError(f"not a generateContent path: {path}")
        request = ADAPTER.decode_request(body)
        if request.model is None:  # the model is in the URL, not the body
            request = request.model_copy(update={"model": route["model"]})
        return ServedRequest(request, route["method"] == "streamGenerateContent")

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return ADAPTER.encode_response(response)

    def encode_stream(self, response: ModelResponse) -> str:
        return ADAPTER.encode_stream(response)

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
