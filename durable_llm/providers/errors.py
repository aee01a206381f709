"""Vendor errors, classified the same way for every vendor."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Literal

ErrorKind = Literal[
    "rate_limited",
    "overloaded",
    "server_error",
    "timeout",
    "authentication",
    "permission",
    "not_found",
    "bad_request",
    "context_too_long",
    "content_filtered",
    "quota_exhausted",
]

RETRYABLE_KINDS: frozenset[str] = frozenset({"rate_limited", "overloaded", "server_error", "timeout"})

MAX_RETRY_AFTER = 3600.0
"""The longest retry delay taken from a vendor (seconds); a longer or malformed one is capped or ignored."""


class ProviderError(Exception):
    """An error a vendor API answered with, classified so callers can decide to retry."""

    kind: ErrorKind = "server_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        retry_after: float | None = None,
        vendor_type: str | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        if retry_after is not None and math.isfinite(retry_after):
            retry_after = min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        else:
            retry_after = None
        self.retry_after = retry_after
        self.vendor_type = vendor_type
        self.body = body

    @property
    def retryable(self) -> bool:
        """Whether trying the same call again later may succeed."""
        return self.kind in RETRYABLE_KINDS

    def __str__(self) -> str:
        status = f" {self.status}" if self.status is not None else ""
        return f"{self.provider}{status} {self.kind}: {self.message}"


class RateLimited(ProviderError):
    kind = "rate_limited"


class Overloaded(ProviderError):
    kind = "overloaded"


class ServerError(ProviderError):
    kind = "server_error"


class Timeout(ProviderError):
    kind = "timeout"


class AuthenticationFailed(ProviderError):
    kind = "authentication"


class PermissionDenied(ProviderError):
    kind = "permission"


class NotFound(ProviderError):
    kind = "not_found"


class BadRequest(ProviderError):
    kind = "bad_request"


class ContextTooLong(ProviderError):
    kind = "context_too_long"


class ContentFiltered(ProviderError):
    kind = "content_filtered"


class QuotaExhausted(ProviderError):
    kind = "quota_exhausted"


ERROR_TYPES: dict[str, type[ProviderError]] = {
    cls.kind: cls
    for cls in (
        RateLimited,
        Overloaded,
        ServerError,
        Timeout,
        AuthenticationFailed,
        PermissionDenied,
        NotFound,
        BadRequest,
        ContextTooLong,
        ContentFiltered,
        QuotaExhausted,
    )
}


def retry_after_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    lower = {k.lower(): v for k, v in headers.items()}
    if (ms := lower.get("retry-after-ms")) is not None:
        try:
            return max(float(ms) / 1000, 0.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(parsed.timestamp() - time.time(), 0.0) if parsed else None


_CLIENT_ERROR_KINDS: dict[int, ErrorKind] = {
    401: "authentication",
    403: "permission",
    404: "not_found",
    413: "context_too_long",
}


def kind_from_status(status: int) -> ErrorKind:
    """The default classification of an HTTP status, before a vendor's body refines it."""
    if status == 429:
        return "rate_limited"
    if status in (408, 504):
        return "timeout"
    if status == 529 or status == 503:
        return "overloaded"
    if status >= 500:
        return "server_error"
    return _CLIENT_ERROR_KINDS.get(status, "bad_request")


_TRY_AGAIN_IN = re.compile(r"try again in (?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?", re.I)


def retry_after_from_message(message: str) -> float | None:
    """Seconds from "Please try again in 1m2.5s" / "in 20ms", as OpenAI-style APIs write in rate-limit messages."""
    match = _TRY_AGAIN_IN.search(message)
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds, millis = (float(group) if group else 0.0 for group in match.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000
