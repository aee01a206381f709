"""Message parts: the pieces a message is made of, as one discriminated union."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue

from durable_llm.conversation.base import FrozenModel, ProviderDetails


class Citation(FrozenModel):
    """A source the model cited for a span of its text."""

    kind: Literal["url", "file", "document", "search_result", "other"] = "url"
    url: str | None = None
    title: str | None = None
    file_id: str | None = None
    cited_text: str | None = None
    start_index: int | None = None
    end_index: int | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)


class TextPart(FrozenModel):
    """Plain text, optionally with the citations the model attached to it."""

    kind: Literal["text"] = "text"
    text: str
    citations: tuple[Citation, ...] = ()
    provider_details: ProviderDetails = Field(default_factory=dict)


class MediaPart(FrozenModel):
    """An image, audio clip, video or document: by URL, inline base64 data, or vendor file id.

    `data` is base64 text exactly as received (standard or URL-safe), never decoded, so a
    replay is byte-faithful and the model serialises as plain JSON.
    """

    kind: Literal["media"] = "media"
    media_type: Literal["image", "audio", "video", "document", "file"]
    mime_type: str | None = None
    url: str | None = None
    data: str | None = None
    file_id: str | None = None
    filename: str | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)


class ToolCallPart(FrozenModel):
    """The model asking for a tool: `arguments_raw` is exactly what the model produced."""

    kind: Literal["tool_call"] = "tool_call"
    id: str | None
    name: str
    arguments_raw: str
    arguments: JsonValue = None
    provider_details: ProviderDetails = Field(default_factory=dict)


class ToolResultPart(FrozenModel):
    """What a tool returned for one call: text and/or media, or a structured `value`."""

    kind: Literal["tool_result"] = "tool_result"
    call_id: str | None
    name: str | None = None
    content: tuple[TextPart | MediaPart, ...] = ()
    value: JsonValue = None
    is_error: bool = False
    provider_details: ProviderDetails = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """All text content joined, the form most vendors take."""
        return "".join(p.text for p in self.content if isinstance(p, TextPart))


class ReasoningToken(FrozenModel):
    """An opaque reasoning token, only valid when replayed to the vendor and model that made it."""

    provider: str
    api: str
    model: str | None = None
    value: str


class ReasoningPart(FrozenModel):
    """The model's reasoning: visible text and/or summary, plus its opaque vendor token.

    `redacted` marks reasoning the vendor hid (its content is only in `token`). A part with
    only a token (e.g. a Gemini thought signature) is attached by its adapter to the part
    that follows it.
    """

    kind: Literal["reasoning"] = "reasoning"
    text: str | None = None
    summary: tuple[str, ...] = ()
    token: ReasoningToken | None = None
    redacted: bool = False
    provider_details: ProviderDetails = Field(default_factory=dict)


class RefusalPart(FrozenModel):
    """The model declining to answer."""

    kind: Literal["refusal"] = "refusal"
    text: str
    provider_details: ProviderDetails = Field(default_factory=dict)


class ProviderPart(FrozenModel):
    """Something only one vendor understands (a built-in tool call, a compaction item, ...).

    Kept verbatim so a same-vendor replay is byte-faithful; other vendors never see it.
    """

    kind: Literal["provider"] = "provider"
    provider: str
    body: dict[str, Any]


Part = Annotated[
    TextPart | MediaPart | ToolCallPart | ToolResultPart | ReasoningPart | RefusalPart | ProviderPart,
    Field(discriminator="kind"),
]
