"""One adapter per vendor API, behind one contract (`Adapter`), found by `get_adapter(name)`."""

from durable_llm.providers.base import PROVIDERS, Adapter, MalformedBody, get_adapter
from durable_llm.providers.errors import (
    AuthenticationFailed,
    BadRequest,
    ContentFiltered,
    ContextTooLong,
    NotFound,
    Overloaded,
    PermissionDenied,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    ServerError,
    Timeout,
)

__all__ = [
    "PROVIDERS",
    "Adapter",
    "AuthenticationFailed",
    "BadRequest",
    "ContentFiltered",
    "ContextTooLong",
    "MalformedBody",
    "NotFound",
    "Overloaded",
    "PermissionDenied",
    "ProviderError",
    "QuotaExhausted",
    "RateLimited",
    "ServerError",
    "Timeout",
    "get_adapter",
]
