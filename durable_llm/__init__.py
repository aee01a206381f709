"""durable_llm: write an LLM agent once, run it on any vendor inside a durable Temporal workflow."""

from durable_llm.conversation import (
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Usage,
)
from durable_llm.providers import ProviderError, get_adapter

__all__ = [
    "MediaPart",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "ProviderError",
    "ReasoningPart",
    "RefusalPart",
    "TextPart",
    "ToolCallPart",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
    "get_adapter",
]
