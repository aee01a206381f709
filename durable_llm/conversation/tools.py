"""Tool definitions carried by requests: function tools and vendor-hosted tools."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from durable_llm.conversation.base import FrozenModel, ProviderDetails


class ToolSpec(FrozenModel):
    """A function tool the model may call: its name, description and JSON Schema parameters.

    `strict` is None to let the adapter decide (OpenAI strict mode whenever the schema allows
    it), or the value a decoded vendor request carried.
    """

    kind: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] = {"type": "object", "properties": {}}
    strict: bool | None = None
    provider_details: ProviderDetails = {}


class ProviderTool(FrozenModel):
    """A vendor-hosted tool (web search, code execution, ...), kept verbatim for that vendor."""

    kind: Literal["provider"] = "provider"
    provider: str
    body: dict[str, Any]


Tool = Annotated[ToolSpec | ProviderTool, Field(discriminator="kind")]
