"""OpenAI's Responses API: wire mapping (`wire`), history rules (`rules`) and client (`OpenAIProvider`)."""

from durable_llm.providers.openai.client import OpenAIProvider
from durable_llm.providers.openai.wire import ADAPTER, OpenAIOptions, OpenAIReasoning, OpenAIResponsesAdapter

__all__ = ["ADAPTER", "OpenAIOptions", "OpenAIProvider", "OpenAIReasoning", "OpenAIResponsesAdapter"]
