"""durable_llm: write an LLM agent once, run it on any vendor inside a durable Temporal workflow."""

from typing import TYPE_CHECKING

from durable_llm.agent import Agent, AgentInput, AgentResult, ToolOptions
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
from durable_llm.tools import (
    MissingDocstringWarning,
    ToolArgumentError,
    ToolContext,
    ToolDefinitionError,
    tool,
    tool_spec,
)

if TYPE_CHECKING:
    from durable_llm.loop import run_agent
    from durable_llm.plugin import DurableLLMPlugin
    from durable_llm.workflow import AgentWorkflow

__all__ = [
    "Agent",
    "AgentInput",
    "AgentResult",
    "AgentWorkflow",
    "DurableLLMPlugin",
    "MediaPart",
    "Message",
    "MissingDocstringWarning",
    "ModelRequest",
    "ModelResponse",
    "ProviderError",
    "ReasoningPart",
    "RefusalPart",
    "TextPart",
    "ToolArgumentError",
    "ToolCallPart",
    "ToolContext",
    "ToolDefinitionError",
    "ToolOptions",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
    "get_adapter",
    "run_agent",
    "tool",
    "tool_spec",
]

# The Temporal pieces load temporalio (~0.3 s), so they are imported on first use.
_TEMPORAL = {
    "AgentWorkflow": "durable_llm.workflow",
    "DurableLLMPlugin": "durable_llm.plugin",
    "run_agent": "durable_llm.loop",
}


def __getattr__(name: str) -> object:
    if name in _TEMPORAL:
        import importlib

        return getattr(importlib.import_module(_TEMPORAL[name]), name)
    raise AttributeError(f"module 'durable_llm' has no attribute {name!r}")
