"""durable_llm: write an LLM agent once, run it on any vendor inside a durable Temporal workflow."""

from typing import TYPE_CHECKING

from durable_llm.agent import Agent, AgentInput, AgentResult, Checkpoint, ToolOptions
from durable_llm.config import ConfigError, Settings, load_settings
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
from durable_llm.events import ConversationEvent
from durable_llm.mcp import MCPServer
from durable_llm.output import OutputRejected
from durable_llm.providers import ProviderError, get_adapter
from durable_llm.streaming import TextDelta, TextListener
from durable_llm.tools import (
    MissingDocstringWarning,
    ToolArgumentError,
    ToolContext,
    ToolDefinitionError,
    tool,
    tool_spec,
)
from durable_llm.user_content import UserContent, attachment

if TYPE_CHECKING:
    from durable_llm.chat import send_message, switch_model
    from durable_llm.live import ConversationNotFound, follow
    from durable_llm.loop import checkpoint_conversation, run_agent
    from durable_llm.payload_guard import PayloadGuard, PayloadTooLarge, check_payload_size
    from durable_llm.plugin import DurableLLMPlugin
    from durable_llm.queries import ConversationUpdate, follow_conversation
    from durable_llm.storage import (
        AesGcmCodec,
        BlobNotFound,
        CachedDriver,
        LocalBlobDriver,
        external_storage,
        s3_driver,
        with_external_storage,
    )
    from durable_llm.workflow import AgentWorkflow

__all__ = [
    "AesGcmCodec",
    "Agent",
    "AgentInput",
    "AgentResult",
    "AgentWorkflow",
    "BlobNotFound",
    "CachedDriver",
    "Checkpoint",
    "ConfigError",
    "ConversationEvent",
    "ConversationNotFound",
    "ConversationUpdate",
    "DurableLLMPlugin",
    "LocalBlobDriver",
    "MCPServer",
    "MediaPart",
    "Message",
    "MissingDocstringWarning",
    "ModelRequest",
    "ModelResponse",
    "OutputRejected",
    "PayloadGuard",
    "PayloadTooLarge",
    "ProviderError",
    "ReasoningPart",
    "RefusalPart",
    "Settings",
    "TextDelta",
    "TextListener",
    "TextPart",
    "ToolArgumentError",
    "ToolCallPart",
    "ToolContext",
    "ToolDefinitionError",
    "ToolOptions",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
    "UserContent",
    "attachment",
    "check_payload_size",
    "checkpoint_conversation",
    "external_storage",
    "follow",
    "follow_conversation",
    "get_adapter",
    "load_settings",
    "run_agent",
    "s3_driver",
    "send_message",
    "switch_model",
    "tool",
    "tool_spec",
    "with_external_storage",
]

# The Temporal pieces load temporalio (~0.3 s), so they are imported on first use.
_TEMPORAL = {
    "AgentWorkflow": "durable_llm.workflow",
    "DurableLLMPlugin": "durable_llm.plugin",
    "run_agent": "durable_llm.loop",
    "checkpoint_conversation": "durable_llm.loop",
    "send_message": "durable_llm.chat",
    "switch_model": "durable_llm.chat",
    "ConversationUpdate": "durable_llm.queries",
    "follow_conversation": "durable_llm.queries",
    "follow": "durable_llm.live",
    "ConversationNotFound": "durable_llm.live",
    "PayloadGuard": "durable_llm.payload_guard",
    "PayloadTooLarge": "durable_llm.payload_guard",
    "check_payload_size": "durable_llm.payload_guard",
    "AesGcmCodec": "durable_llm.storage",
    "BlobNotFound": "durable_llm.storage",
    "CachedDriver": "durable_llm.storage",
    "LocalBlobDriver": "durable_llm.storage",
    "external_storage": "durable_llm.storage",
    "s3_driver": "durable_llm.storage",
    "with_external_storage": "durable_llm.storage",
}


def __getattr__(name: str) -> object:
    if name in _TEMPORAL:
        import importlib

        return getattr(importlib.import_module(_TEMPORAL[name]), name)
    raise AttributeError(f"module 'durable_llm' has no attribute {name!r}")
