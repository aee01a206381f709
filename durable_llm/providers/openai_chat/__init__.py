"""OpenAI Chat Completions, the format most servers speak: wire mapping (`adapter`), history rules
(`rules`), client (`ChatCompletionsProvider`), the named services (`endpoints`: `ollama()`, `groq()`, ...,
as the registry makes them) and the server side a fake server speaks (`server`)."""

from durable_llm.providers.openai_chat.adapter import ADAPTER, ChatCompletionsAdapter
from durable_llm.providers.openai_chat.client import AzureChatCompletionsProvider, ChatCompletionsProvider, Endpoint
from durable_llm.providers.openai_chat.endpoints import (
    azure,
    deepseek,
    groq,
    mistral,
    ollama,
    openrouter,
    together,
    vllm,
)
from durable_llm.providers.openai_chat.request_fields import ChatCompletionsOptions

__all__ = [
    "ADAPTER",
    "AzureChatCompletionsProvider",
    "ChatCompletionsAdapter",
    "ChatCompletionsOptions",
    "ChatCompletionsProvider",
    "Endpoint",
    "azure",
    "deepseek",
    "groq",
    "mistral",
    "ollama",
    "openrouter",
    "together",
    "vllm",
]
