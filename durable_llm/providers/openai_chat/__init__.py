"""OpenAI Chat Completions, the format most servers speak: wire mapping (`adapter`), history rules
(`rules`), client (`ChatCompletionsProvider`) and the named services (`endpoints`)."""

from durable_llm.providers.openai_chat.adapter import ADAPTER, ChatCompletionsAdapter
from durable_llm.providers.openai_chat.client import AzureChatCompletionsProvider, ChatCompletionsProvider, Endpoint
from durable_llm.providers.openai_chat.request_fields import ChatCompletionsOptions

__all__ = [
    "ADAPTER",
    "AzureChatCompletionsProvider",
    "ChatCompletionsAdapter",
    "ChatCompletionsOptions",
    "ChatCompletionsProvider",
    "Endpoint",
]
