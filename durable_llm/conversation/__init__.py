"""The provider-neutral conversation model: no vendor SDK, no Temporal."""

from durable_llm.conversation.base import SCHEMA_VERSION, FrozenModel, ProviderDetails
from durable_llm.conversation.messages import (
    Message,
    ModelRequest,
    ModelResponse,
    OutputSchema,
    Role,
    StopReason,
    ToolChoice,
    Usage,
)
from durable_llm.conversation.parts import (
    Citation,
    MediaPart,
    Part,
    ProviderPart,
    ReasoningPart,
    ReasoningToken,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from durable_llm.conversation.projection import ProjectionChange, ProjectionReport, project
from durable_llm.conversation.schema import strict_schema
from durable_llm.conversation.tools import ProviderTool, Tool, ToolSpec

__all__ = [
    "SCHEMA_VERSION",
    "Citation",
    "FrozenModel",
    "MediaPart",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "OutputSchema",
    "Part",
    "ProjectionChange",
    "ProjectionReport",
    "ProviderDetails",
    "ProviderPart",
    "ProviderTool",
    "ReasoningPart",
    "ReasoningToken",
    "RefusalPart",
    "Role",
    "StopReason",
    "TextPart",
    "Tool",
    "ToolCallPart",
    "ToolChoice",
    "ToolResultPart",
    "ToolSpec",
    "Usage",
    "project",
    "strict_schema",
]
