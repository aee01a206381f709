"""Messages, requests and responses in the neutral model."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, JsonValue

from durable_llm.conversation.base import SCHEMA_VERSION, FrozenModel, ProviderDetails
from durable_llm.conversation.parts import Part, TextPart, ToolCallPart
from durable_llm.conversation.tools import Tool

Role = Literal["system", "user", "assistant", "tool"]
StopReason = Literal[
    "end_turn", "tool_calls", "max_tokens", "stop_sequence", "content_filter", "refusal", "pause", "error", "other"
]


class Message(FrozenModel):
    """One turn of a conversation. Tool results travel in `tool` messages."""

    role: Role
    parts: tuple[Part, ...] = ()
    provider_details: ProviderDetails = Field(default_factory=dict)
    agent: str | None = None
    """In a team of agents (handoffs), the name of the agent that wrote this assistant message."""

    @property
    def text(self) -> str:
        """The message's text parts joined."""
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def tool_calls(self) -> tuple[ToolCallPart, ...]:
        """The tool calls this message asks for, in order."""
        return tuple(p for p in self.parts if isinstance(p, ToolCallPart))


class ToolChoice(FrozenModel):
    """Whether and which tool the model must call."""

    mode: Literal["auto", "none", "required", "tool"] = "auto"
    name: str | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)


class OutputSchema(FrozenModel):
    """Structured output: the answer must be JSON valid against `json_schema`."""

    name: str | None = None
    description: str | None = None
    json_schema: dict[str, Any]
    strict: bool | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)


class ModelRequest(FrozenModel):
    """Everything one model call needs, for any vendor.

    `provider_options[vendor]` holds vendor-specific settings; each adapter validates it with
    its own typed options model (e.g. `durable_llm.providers.anthropic.AnthropicOptions`), and
    `decode_request` keeps there whatever the vendor body had with no neutral field.
    `model` is None only where the vendor carries it outside the body (Gemini: in the URL).
    """

    schema_version: int = SCHEMA_VERSION
    model: str | None = None
    instructions: str | None = None
    messages: tuple[Message, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    output_schema: OutputSchema | None = None
    provider_options: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)


class Usage(FrozenModel):
    """Token counts of one call (or, summed, of a conversation)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    provider_details: ProviderDetails = Field(default_factory=dict)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


class ModelResponse(FrozenModel):
    """What one model call produced."""

    schema_version: int = SCHEMA_VERSION
    id: str | None = None
    model: str | None = None
    provider: str
    message: Message
    usage: Usage = Usage()
    stop_reason: StopReason | None = None
    raw_stop_reason: str | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)
