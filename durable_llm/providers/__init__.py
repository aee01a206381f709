"""One `Provider` per vendor API, found by `get_provider(name)`; its pure wire mapping by `get_adapter(name)`.

`OpenAIProvider`, `AnthropicProvider` and `GeminiProvider` take credentials and endpoints from
code (`DurableLLMPlugin(providers={"azure": OpenAIProvider(base_url=..., api_key=...)})`); by
default they read the vendor SDK's environment variables. `ChatCompletionsProvider` reaches any server
speaking OpenAI Chat Completions (`openai_chat`; named services `ollama`, `groq`, ...: see
`durable_llm.providers.openai_chat.endpoints`). Vendor modules load on first use.
"""

from typing import TYPE_CHECKING, Any

from durable_llm.providers.base import (
    PROVIDERS,
    Adapter,
    DeltaListener,
    MalformedBody,
    Provider,
    StreamDelta,
    get_adapter,
    get_provider,
)
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

if TYPE_CHECKING:
    from durable_llm.providers.anthropic import AnthropicProvider
    from durable_llm.providers.gemini import GeminiProvider
    from durable_llm.providers.openai import OpenAIProvider
    from durable_llm.providers.openai_chat import ChatCompletionsProvider
    from durable_llm.providers.scripted import ScriptedProvider

_LAZY = {
    "OpenAIProvider": "durable_llm.providers.openai",
    "AnthropicProvider": "durable_llm.providers.anthropic",
    "GeminiProvider": "durable_llm.providers.gemini",
    "ChatCompletionsProvider": "durable_llm.providers.openai_chat",
    "ScriptedProvider": "durable_llm.providers.scripted",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'durable_llm.providers' has no attribute {name!r}")


__all__ = [
    "PROVIDERS",
    "Adapter",
    "AnthropicProvider",
    "AuthenticationFailed",
    "BadRequest",
    "ChatCompletionsProvider",
    "ContentFiltered",
    "ContextTooLong",
    "DeltaListener",
    "GeminiProvider",
    "MalformedBody",
    "NotFound",
    "OpenAIProvider",
    "Overloaded",
    "PermissionDenied",
    "Provider",
    "ProviderError",
    "QuotaExhausted",
    "RateLimited",
    "ScriptedProvider",
    "ServerError",
    "StreamDelta",
    "Timeout",
    "get_adapter",
    "get_provider",
]
