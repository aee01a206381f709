"""Claude's Messages API: wire mapping (`wire`), history rules (`rules`) and client (`AnthropicProvider`)."""

from durable_llm.providers.anthropic.client import AnthropicProvider
from durable_llm.providers.anthropic.wire import (
    ADAPTER,
    DEFAULT_MAX_TOKENS,
    AnthropicAdapter,
    AnthropicOptions,
    ThinkingConfig,
)

__all__ = [
    "ADAPTER",
    "DEFAULT_MAX_TOKENS",
    "AnthropicAdapter",
    "AnthropicOptions",
    "AnthropicProvider",
    "ThinkingConfig",
]
