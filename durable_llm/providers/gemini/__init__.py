"""Gemini's `generateContent`: wire mapping (`wire`, `stream`), history rules (`rules`), client (`GeminiProvider`)."""

from durable_llm.providers.gemini.client import GeminiProvider
from durable_llm.providers.gemini.wire import (
    ADAPTER,
    GeminiAdapter,
    GeminiGenerationConfig,
    GeminiOptions,
    GeminiSafetySetting,
    GeminiThinkingConfig,
    GeminiToolConfig,
    openapi_to_json_schema,
)

__all__ = [
    "ADAPTER",
    "GeminiAdapter",
    "GeminiGenerationConfig",
    "GeminiOptions",
    "GeminiProvider",
    "GeminiSafetySetting",
    "GeminiThinkingConfig",
    "GeminiToolConfig",
    "openapi_to_json_schema",
]
