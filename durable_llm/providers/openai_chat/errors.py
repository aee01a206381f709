"""Errors of Chat Completions servers, classified: OpenAI's `{"error": {...}}` and the shapes compatible servers use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from durable_llm.providers._wire import error_json
from durable_llm.providers.errors import (
    ERROR_TYPES,
    RETRYABLE_KINDS,
    ErrorKind,
    ProviderError,
    kind_from_status,
    retry_after_from_headers,
)
from durable_llm.providers.openai_chat._common import PROVIDER

_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})
_FILTER_CODES = frozenset({"content_policy_violation", "content_filter", "moderation_blocked"})
_CONTEXT_CODES = frozenset({"context_length_exceeded", "context_window_exceeded"})
_CONTEXT_WORDS = ("maximum context length", "context window", "context length", "too many tokens")
_CODE_KINDS: dict[str, ErrorKind] = {
    "rate_limit_exceeded": "rate_limited",
    "server_is_overloaded": "overloaded",
    "slow_down": "overloaded",
    "server_error": "server_error",
    "internal_error": "server_error",
    "invalid_api_key": "authentication",
    "authentication_error": "authentication",
    "model_not_found": "not_found",
    "unsupported_country_region_territory": "permission",
}
_ADVICE: dict[ErrorKind, str] = {
    "rate_limited": "slow down or wait before retrying (retried automatically)",
    "overloaded": "the server is overloaded; retry later (retried automatically)",
    "server_error": "the server failed to answer; retrying usually helps (retried automatically)",
    "timeout": "the request timed out; retry, or ask for fewer output tokens",
    "authentication": "check the API key this endpoint is given (its key variable, or api_key=...)",
    "permission": "this key may not use this model or feature; check its access",
    "not_found": "check the model name (is it pulled or served there?) and the endpoint's base URL",
    "bad_request": "fix the request; sending it again unchanged fails again",
    "context_too_long": "shorten the history (drop or summarise old turns) or use a model with a larger context",
    "content_filtered": "the server's safety system blocked the input or output; rephrase the request",
    "quota_exhausted": "the account is out of credits or over its spending limit (retrying will not help)",
}
_RETRY_HINT = re.compile(r"try again in (?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?", re.I)


def decode_error(status: int | None, headers: Mapping[str, str], body: bytes) -> ProviderError:
    """Classify an error answer (any status >= 400, any body: JSON in any of the usual shapes, HTML, nothing)."""
    text, parsed = error_json(body)
    return classify(status, headers, error_object(parsed, text), text)


def error_object(parsed: Any, text: str) -> dict[str, Any]:
    """The object describing the error: `{"error": {...}}` (OpenAI), `{"error": "..."}` (Ollama),
    `{"message": ..., "type": ...}` (Mistral), `{"detail": ...}` (FastAPI servers such as vLLM's)."""
    if isinstance(parsed, dict):
        nested = parsed.get("error")
        if isinstance(nested, dict):
            return nested
        if isinstance(nested, str):
            return {"message": nested}
        if isinstance(parsed.get("message"), str):
            return parsed
        if "detail" in parsed:
            detail = parsed["detail"]
            return {"message": detail if isinstance(detail, str) else str(detail)}
    return {"message": text.strip()}


def classify(status: int | None, headers: Mapping[str, str], error: dict[str, Any], raw: str) -> ProviderError:
    """The typed error for an error object, with the wait the server asked for when retrying helps."""
    code = error.get("code")
    if status is None and isinstance(code, int) and code >= 400:
        status = code  # errors inside a stream (OpenRouter) carry their HTTP status as the code
    message = str(error.get("message") or "").strip() or (f"HTTP {status}" if status else "stream error")
    codes = tuple(str(error[key]) for key in ("code", "type") if isinstance(error.get(key), str) and error[key])
    kind = _kind(status, codes, message)
    retry_after = None
    if kind in RETRYABLE_KINDS:
        retry_after = retry_after_from_headers(headers)
        if retry_after is None:
            retry_after = _retry_hint(message)
    return ERROR_TYPES[kind](
        f"{message} ({_ADVICE[kind]})",
        provider=PROVIDER,
        status=status,
        retry_after=retry_after,
        vendor_type=codes[0] if codes else None,
        body=raw,
    )


def _kind(status: int | None, codes: tuple[str, ...], message: str) -> ErrorKind:
    text = message.lower()
    if _QUOTA_CODES.intersection(codes):
        return "quota_exhausted"
    if _CONTEXT_CODES.intersection(codes) or any(words in text for words in _CONTEXT_WORDS):
        return "context_too_long"
    if _FILTER_CODES.intersection(codes):
        return "content_filtered"
    if status is not None and (status >= 500 or status in (408, 429)):
        return kind_from_status(status)
    for code in codes:
        if code in _CODE_KINDS:
            return _CODE_KINDS[code]
    return kind_from_status(status) if status is not None else "server_error"


def _retry_hint(message: str) -> float | None:
    """Seconds from "Please try again in 1m2.5s" / "in 20ms", as OpenAI and Groq write in rate-limit messages."""
    match = _RETRY_HINT.search(message)
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000
