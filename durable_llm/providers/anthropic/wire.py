"""Anthropic Messages API (`POST /v1/messages`, also `?beta=true`) <-> the neutral model.

How the vendor JSON maps:

- `system` (a string) -> `ModelRequest.instructions`. A block-list `system` (cache_control, several
  blocks) is kept verbatim in `provider_options["anthropic"]["system"]`, and its text, joined,
  is also put in `instructions` so other vendors can read it.
- A user message holding `tool_result` blocks becomes a `tool` message; its parts keep the
  vendor's order (results first, then any text or media that came with them).
- `thinking` / `redacted_thinking` -> `ReasoningPart` whose token is the signature / data;
  `tool_use` -> `ToolCallPart` (`arguments_raw` is the compact JSON of `input`); `image` and
  `document` with a base64, url or file source -> `MediaPart`; every other block (server tool
  calls and results, MCP, container uploads, compaction, text-sourced documents ...) ->
  `ProviderPart("anthropic", block)`. Function tools -> `ToolSpec`, hosted tools -> `ProviderTool`.
- A block's keys with no neutral field (cache_control, caller, `citations: null`, an explicit
  `is_error: false` ...) are kept verbatim in the part's `provider_details["anthropic"]` and merged
  back on encode. A key is only moved into a neutral field when its value fits it (a `null`
  title stays in provider_details), which is what keeps every replay JSON-equal.
- `provider_details["anthropic"]["content_form"] == "string"` on a `Message` or `ToolResultPart`
  marks content the vendor sent as a plain string rather than a block list (the only key there
  that is not a vendor key).
- Request keys with no neutral field land in `provider_options["anthropic"]` (see
  `AnthropicOptions`). On encode they are merged last, so a key given there replaces what the
  neutral fields would produce for it: `system` replaces `instructions`, the legacy beta
  `output_format` replaces `output_schema`, and `output_config` is merged key by key.
- `seed` has no Anthropic counterpart and is not sent. Content of another vendor (its
  `ProviderPart`/`ProviderTool`, a `ReasoningPart` whose token is not Anthropic's, a citation
  without Anthropic details) is skipped; a message left empty by that is dropped.

No normalisation is needed: every request and response of the recorded corpus round-trips as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal, NotRequired

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic_core import from_json
from typing_extensions import TypedDict  # pydantic rejects typing.TypedDict before Python 3.12

from durable_llm.conversation import (
    Citation,
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    OutputSchema,
    Part,
    ProviderDetails,
    ProviderPart,
    ProviderTool,
    ReasoningPart,
    ReasoningToken,
    RefusalPart,
    StopReason,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    Usage,
)
from durable_llm.providers._wire import JSON_TYPES, compact_json, error_json, json_type, sse_events, stream_pieces
from durable_llm.providers.base import DeltaKind, MalformedBody, StreamDelta
from durable_llm.providers.errors import (
    ERROR_TYPES,
    ErrorKind,
    ProviderError,
    ServerError,
    kind_from_status,
    retry_after_from_headers,
)

PROVIDER = "anthropic"
API = "messages"

DEFAULT_MAX_TOKENS = 4096
"""Sent when a request sets no `max_output_tokens`: Anthropic requires `max_tokens`."""

_FORM = "content_form"  # our marker in provider_details; never sent


class ThinkingConfig(TypedDict):
    """Extended thinking: `{"type": "enabled", "budget_tokens": 2048}`, `adaptive` or `disabled`."""

    type: Literal["enabled", "adaptive", "disabled"]
    budget_tokens: NotRequired[int]


class AnthropicOptions(BaseModel):
    """Anthropic-only request settings, given as `ModelRequest.provider_options["anthropic"]`.

    Keys are the Messages API's own and are sent as given; unlisted keys are allowed and sent too.
    """

    model_config = ConfigDict(extra="allow")

    thinking: ThinkingConfig | None = None
    """Extended thinking; its `budget_tokens` must stay below `max_output_tokens`."""
    top_k: int | None = None
    """Sample only from the k most likely tokens."""
    metadata: dict[str, JsonValue] | None = None
    """E.g. `{"user_id": "..."}`, an opaque id Anthropic uses to detect abuse."""
    system: str | list[dict[str, JsonValue]] | None = None
    """Replaces `instructions`: use it for `cache_control` on the system prompt or several blocks."""
    output_config: dict[str, JsonValue] | None = None
    """E.g. `{"effort": "high"}`; its `format` is built from `ModelRequest.output_schema`."""
    output_format: dict[str, JsonValue] | None = None
    """Legacy beta spelling of `output_config.format`; replaces `output_schema` when given."""
    mcp_servers: list[dict[str, JsonValue]] | None = None
    """Remote MCP servers Anthropic calls on the model's behalf (beta)."""
    container: str | dict[str, JsonValue] | None = None
    """Code-execution container to reuse, by id."""
    context_management: dict[str, JsonValue] | None = None
    """Server-side context editing / compaction rules (beta)."""
    cache_control: dict[str, JsonValue] | None = None
    """Automatic prompt caching of the whole request, e.g. `{"type": "ephemeral"}`."""
    service_tier: Literal["auto", "standard_only"] | None = None
    betas: list[str] | None = None
    """Beta features to enable, e.g. ["context-management-2025-06-27"]: the transport sends them as
    the `anthropic-beta` header (as the SDK's `beta.messages.create(betas=...)` does), not in the body."""
    stream: bool | None = None
    """Set by the transport when it streams; the body is otherwise the same."""


_STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_calls",
    "max_tokens": "max_tokens",
    "model_context_window_exceeded": "max_tokens",
    "stop_sequence": "stop_sequence",
    "pause_turn": "pause",
    "refusal": "refusal",
}
_VENDOR_STOP_REASONS: dict[str, str] = {
    "end_turn": "end_turn",
    "tool_calls": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "pause": "pause_turn",
    "refusal": "refusal",
    "content_filter": "refusal",
}

# Anthropic citation type -> (neutral kind, neutral field -> vendor key); other keys stay in details.
_CITATIONS: dict[str, tuple[Literal["url", "document", "search_result"], dict[str, str]]] = {
    "web_search_result_location": ("url", {"url": "url", "title": "title", "cited_text": "cited_text"}),
    "char_location": (
        "document",
        {
            "title": "document_title",
            "file_id": "file_id",
            "cited_text": "cited_text",
            "start_index": "start_char_index",
            "end_index": "end_char_index",
        },
    ),
    "page_location": ("document", {"title": "document_title", "file_id": "file_id", "cited_text": "cited_text"}),
    "content_block_location": (
        "document",
        {"title": "document_title", "file_id": "file_id", "cited_text": "cited_text"},
    ),
    "search_result_location": ("search_result", {"title": "title", "cited_text": "cited_text"}),
}

# Media sources that map to MediaPart fields: source type -> its exact keys.
_MEDIA_SOURCES = {
    "base64": {"type", "media_type", "data"},
    "url": {"type", "url"},
    "file": {"type", "file_id"},
}


# ---------------------------------------------------------------- small helpers


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _required(obj: Mapping[str, Any], key: str, kind: type, path: str) -> Any:
    """obj[key], which must be a `kind`; else MalformedBody naming `path.key`."""
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        problem = "missing" if key not in obj else f"expected {JSON_TYPES[kind]}, got {json_type(value)}"
        raise MalformedBody(f"{path}.{key}" if path else key, problem)
    return value


def _rest(obj: Mapping[str, Any], taken: set[str] | frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in taken}


def _details(rest: dict[str, Any]) -> ProviderDetails:
    return {PROVIDER: rest} if rest else {}


def _own(details: ProviderDetails) -> dict[str, Any]:
    """This vendor's keys from provider_details, to merge into a wire object."""
    mine = details.get(PROVIDER)
    if not mine:
        return {}
    return {k: v for k, v in mine.items() if k != _FORM} if _FORM in mine else mine


def _is_string_form(details: ProviderDetails) -> bool:
    return details.get(PROVIDER, {}).get(_FORM) == "string"


# ---------------------------------------------------------------- blocks -> parts


class _Decoder:
    """Decodes content blocks; remembers tool names by call id so results can carry them."""

    def __init__(self, model: str | None) -> None:
        self.model = model
        self.tool_names: dict[str, str] = {}

    def block(self, block: Any, path: str) -> Part:
        if not isinstance(block, dict):
            raise MalformedBody(path, "expected a content block object")
        kind = _required(block, "type", str, path)
        decode = _BLOCK_DECODERS.get(kind)
        return decode(self, block, path) if decode else ProviderPart(provider=PROVIDER, body=block)

    def blocks(self, blocks: list[Any], path: str) -> tuple[Part, ...]:
        return tuple(self.block(b, f"{path}[{i}]") for i, b in enumerate(blocks))

    def text(self, block: dict[str, Any], path: str) -> Part:
        text = _required(block, "text", str, path)
        citations = block.get("citations")
        if isinstance(citations, list) and citations:
            rest = _rest(block, {"type", "text", "citations"})
            cited = tuple(_decode_citation(c, f"{path}.citations[{i}]") for i, c in enumerate(citations))
            return TextPart(text=text, citations=cited, provider_details=_details(rest))
        return TextPart(text=text, provider_details=_details(_rest(block, {"type", "text"})))

    def media(self, block: dict[str, Any], path: str) -> Part:
        source = _required(block, "source", dict, path)
        kind = source.get("type")
        if _MEDIA_SOURCES.get(kind) != source.keys() or not all(isinstance(v, str) for v in source.values()):
            return ProviderPart(provider=PROVIDER, body=block)  # e.g. a plain-text or content document
        return MediaPart(
            media_type="image" if block["type"] == "image" else "document",
            mime_type=source.get("media_type"),
            data=source.get("data"),
            url=source.get("url"),
            file_id=source.get("file_id"),
            provider_details=_details(_rest(block, {"type", "source"})),
        )

    def tool_use(self, block: dict[str, Any], path: str) -> Part:
        call_id = _required(block, "id", str, path)
        name = _required(block, "name", str, path)
        arguments = _required(block, "input", dict, path)
        self.tool_names[call_id] = name
        return ToolCallPart(
            id=call_id,
            name=name,
            arguments_raw=compact_json(arguments),
            arguments=arguments,
            provider_details=_details(_rest(block, {"type", "id", "name", "input"})),
        )

    def tool_result(self, block: dict[str, Any], path: str) -> Part:
        call_id = _required(block, "tool_use_id", str, path)
        taken = {"type", "tool_use_id"}
        content: tuple[TextPart | MediaPart, ...] = ()
        form: dict[str, Any] = {}
        raw = block.get("content")
        if isinstance(raw, str):
            content, form = (TextPart(text=raw),), {_FORM: "string"}
            taken.add("content")
        elif isinstance(raw, list) and raw:
            parts = self.blocks(raw, f"{path}.content")
            # Blocks with no neutral form (e.g. tool_reference) keep the whole list verbatim.
            if all(isinstance(p, TextPart | MediaPart) for p in parts):
                content = parts  # type: ignore[assignment]
                taken.add("content")
        is_error = block.get("is_error") is True
        if is_error:
            taken.add("is_error")
        return ToolResultPart(
            call_id=call_id,
            name=self.tool_names.get(call_id),
            content=content,
            is_error=is_error,
            provider_details=_details({**form, **_rest(block, taken)}),
        )

    def thinking(self, block: dict[str, Any], path: str) -> Part:
        return ReasoningPart(
            text=_required(block, "thinking", str, path),
            token=ReasoningToken(
                provider=PROVIDER, api=API, model=self.model, value=_required(block, "signature", str, path)
            ),
            provider_details=_details(_rest(block, {"type", "thinking", "signature"})),
        )

    def redacted_thinking(self, block: dict[str, Any], path: str) -> Part:
        return ReasoningPart(
            redacted=True,
            token=ReasoningToken(
                provider=PROVIDER, api=API, model=self.model, value=_required(block, "data", str, path)
            ),
            provider_details=_details(_rest(block, {"type", "data"})),
        )


_BLOCK_DECODERS = {
    "text": _Decoder.text,
    "image": _Decoder.media,
    "document": _Decoder.media,
    "tool_use": _Decoder.tool_use,
    "tool_result": _Decoder.tool_result,
    "thinking": _Decoder.thinking,
    "redacted_thinking": _Decoder.redacted_thinking,
}


def _decode_citation(raw: Any, path: str) -> Citation:
    if not isinstance(raw, dict):
        raise MalformedBody(path, "expected a citation object")
    kind, fields = _CITATIONS.get(raw.get("type"), ("other", {}))  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for field, key in fields.items():
        value = raw.get(key)
        if _is_int(value) if field.endswith("_index") else isinstance(value, str):
            values[field] = value
    rest = _rest(raw, {fields[f] for f in values})
    return Citation(kind=kind, **values, provider_details=_details(rest))


# ---------------------------------------------------------------- parts -> blocks


def _encode_citation(citation: Citation) -> dict[str, Any] | None:
    mine = citation.provider_details.get(PROVIDER)
    if mine is None:
        return None  # another vendor's citation: Anthropic only accepts its own back
    _, fields = _CITATIONS.get(mine.get("type"), ("other", {}))  # type: ignore[arg-type]
    out = {key: value for field, key in fields.items() if (value := getattr(citation, field)) is not None}
    out.update(mine)
    return out


def _encode_part(part: Part, *, response: bool = False) -> dict[str, Any] | None:
    """One part as a content block, or None when Anthropic must not see it."""
    if isinstance(part, TextPart):
        out: dict[str, Any] = {"type": "text", "text": part.text}
        citations = [c for c in map(_encode_citation, part.citations) if c is not None]
        if citations:
            out["citations"] = citations
    elif isinstance(part, ToolCallPart):
        if part.id is None:
            raise ValueError(f"tool call {part.name!r} has no id; Anthropic needs one (project the history first)")
        out = {"type": "tool_use", "id": part.id, "name": part.name, "input": _tool_input(part)}
    elif isinstance(part, ToolResultPart):
        return _encode_tool_result(part)
    elif isinstance(part, ReasoningPart):
        return _encode_reasoning(part, response=response)
    elif isinstance(part, MediaPart):
        out = _encode_media(part)
    elif isinstance(part, RefusalPart):
        out = {"type": "text", "text": part.text}
    else:
        return dict(part.body) if part.provider == PROVIDER else None
    out.update(_own(part.provider_details))
    return out


def _tool_input(part: ToolCallPart) -> dict[str, Any]:
    if isinstance(part.arguments, dict):
        return part.arguments
    try:
        parsed = json.loads(part.arguments_raw or "{}")
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f"tool call {part.id!r} has arguments that are not a JSON object: {part.arguments_raw!r}")
    return parsed


def _encode_tool_result(part: ToolResultPart) -> dict[str, Any]:
    if part.call_id is None:
        raise ValueError(
            f"tool result for {part.name!r} has no call id; Anthropic needs one (project the history first)"
        )
    out: dict[str, Any] = {"type": "tool_result", "tool_use_id": part.call_id}
    only = part.content[0] if len(part.content) == 1 else None
    if _is_string_form(part.provider_details) and isinstance(only, TextPart) and _plain(only):
        out["content"] = only.text
    elif part.content:
        out["content"] = [b for b in map(_encode_part, part.content) if b is not None]
    elif part.value is not None:
        out["content"] = compact_json(part.value)  # a structured result (e.g. from Gemini) as text
    if part.is_error:
        out["is_error"] = True
    out.update(_own(part.provider_details))
    return out


def _plain(part: TextPart) -> bool:
    return not part.citations and not part.provider_details.get(PROVIDER)


def _encode_reasoning(part: ReasoningPart, *, response: bool) -> dict[str, Any] | None:
    token = part.token
    if token is None:
        if not response:
            return None  # Claude rejects thinking it cannot verify
        signature = ""
    elif token.provider != PROVIDER:
        return None
    else:
        signature = token.value
    if part.redacted:
        out: dict[str, Any] = {"type": "redacted_thinking", "data": signature}
    else:
        out = {"type": "thinking", "thinking": part.text or "", "signature": signature}
    out.update(_own(part.provider_details))
    return out


def _encode_media(part: MediaPart) -> dict[str, Any]:
    if part.media_type in ("audio", "video"):
        raise ValueError(f"Claude does not accept {part.media_type} input; transcribe or drop it first")
    if part.data is not None:
        if part.mime_type is None:
            raise ValueError("inline media needs a mime_type for Anthropic (e.g. image/png, application/pdf)")
        source = {"type": "base64", "media_type": part.mime_type, "data": part.data}
    elif part.url is not None:
        source = {"type": "url", "url": part.url}
    elif part.file_id is not None:
        source = {"type": "file", "file_id": part.file_id}
    else:
        raise ValueError("a media part needs data, a url or a file_id")
    return {"type": "image" if part.media_type == "image" else "document", "source": source}


# ---------------------------------------------------------------- messages, tools, options


def _decode_message(raw: Any, path: str, decoder: _Decoder) -> Message:
    if not isinstance(raw, dict):
        raise MalformedBody(path, "expected a message object")
    for key in raw.keys() - {"role", "content"}:
        raise MalformedBody(f"{path}.{key}", "unknown message field")
    role = raw.get("role")
    if role not in ("user", "assistant", "system"):
        raise MalformedBody(f"{path}.role", f"expected user, assistant or system, got {role!r}")
    content = raw.get("content")
    if isinstance(content, str):
        return Message(role=role, parts=(TextPart(text=content),), provider_details={PROVIDER: {_FORM: "string"}})
    if not isinstance(content, list):
        raise MalformedBody(f"{path}.content", "expected a string or an array of content blocks")
    parts = decoder.blocks(content, f"{path}.content")
    if role == "user" and any(isinstance(p, ToolResultPart) for p in parts):
        role = "tool"
    return Message(role=role, parts=parts)


def _encode_message(message: Message) -> dict[str, Any] | None:
    role = "user" if message.role == "tool" else message.role
    parts = message.parts
    if _is_string_form(message.provider_details) and len(parts) == 1:
        only = parts[0]
        if isinstance(only, TextPart) and _plain(only):
            return {"role": role, "content": only.text}
    blocks = [b for b in map(_encode_part, parts) if b is not None]
    if parts and not blocks:
        return None  # held only another vendor's content
    return {"role": role, "content": blocks}


def _decode_tool(raw: Any, path: str) -> Tool:
    if not isinstance(raw, dict):
        raise MalformedBody(path, "expected a tool object")
    if raw.get("type") not in (None, "custom") or "input_schema" not in raw:
        return ProviderTool(provider=PROVIDER, body=raw)
    taken = {"name", "input_schema"}
    description = raw.get("description")
    if isinstance(description, str):
        taken.add("description")
    strict = raw.get("strict")
    if isinstance(strict, bool):
        taken.add("strict")
    return ToolSpec(
        name=_required(raw, "name", str, path),
        description=description if isinstance(description, str) else None,
        parameters=_required(raw, "input_schema", dict, path),
        strict=strict if isinstance(strict, bool) else None,
        provider_details=_details(_rest(raw, taken)),
    )


def _encode_tool(spec: ToolSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"name": spec.name}
    if spec.description is not None:
        out["description"] = spec.description
    out["input_schema"] = spec.parameters
    if spec.strict is not None:
        out["strict"] = spec.strict
    out.update(_own(spec.provider_details))
    return out


_CHOICE_MODES = {"auto": "auto", "any": "required", "tool": "tool", "none": "none"}
_VENDOR_CHOICES = {mode: vendor for vendor, mode in _CHOICE_MODES.items()}


def _decode_tool_choice(raw: Any) -> ToolChoice:
    if not isinstance(raw, dict):
        raise MalformedBody("tool_choice", "expected an object")
    kind = _required(raw, "type", str, "tool_choice")
    if kind not in _CHOICE_MODES:
        raise MalformedBody("tool_choice.type", f"expected auto, any, tool or none, got {kind!r}")
    name = _required(raw, "name", str, "tool_choice") if kind == "tool" else None
    return ToolChoice(
        mode=_CHOICE_MODES[kind],  # type: ignore[arg-type]
        name=name,
        provider_details=_details(_rest(raw, {"type", "name"} if name else {"type"})),
    )


def _encode_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    out: dict[str, Any] = {"type": _VENDOR_CHOICES[choice.mode]}
    if choice.mode == "tool":
        if choice.name is None:
            raise ValueError("tool_choice mode 'tool' needs the tool's name")
        out["name"] = choice.name
    out.update(_own(choice.provider_details))
    return out


def _output_schema(raw: Any) -> OutputSchema | None:
    """The neutral schema of a `{"type": "json_schema", "schema": ...}` format, if that is all it is."""
    if isinstance(raw, dict) and raw.keys() == {"type", "schema"} and raw["type"] == "json_schema":
        schema = raw["schema"]
        if isinstance(schema, dict):
            return OutputSchema(json_schema=schema)
    return None


def _decode_messages(raw: Any, decoder: _Decoder) -> tuple[Message, ...]:
    if not isinstance(raw, list):
        raise MalformedBody("messages", "missing" if raw is None else "expected an array of messages")
    return tuple(_decode_message(m, f"messages[{i}]", decoder) for i, m in enumerate(raw))


def _decode_system(system: Any) -> str:
    if not isinstance(system, list):
        raise MalformedBody("system", "expected a string or an array of text blocks")
    texts = []
    for i, block in enumerate(system):
        if not isinstance(block, dict):
            raise MalformedBody(f"system[{i}]", "expected a text block object")
        texts.append(_required(block, "text", str, f"system[{i}]"))
    return "\n\n".join(texts)


# ---------------------------------------------------------------- requests and responses


def _encode_request(request: ModelRequest) -> dict[str, Any]:
    options = request.provider_options.get(PROVIDER, {})
    AnthropicOptions.model_validate(options)  # a typo'd setting fails here, not at the vendor
    if request.model is None:
        raise ValueError("an Anthropic request needs a model name (e.g. claude-sonnet-4-5)")
    body: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_output_tokens if request.max_output_tokens is not None else DEFAULT_MAX_TOKENS,
    }
    if request.instructions is not None:
        body["system"] = request.instructions
    body["messages"] = [m for m in map(_encode_message, request.messages) if m is not None]
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.stop is not None:
        body["stop_sequences"] = list(request.stop)
    tools = [
        _encode_tool(t) if isinstance(t, ToolSpec) else dict(t.body)
        for t in request.tools
        if isinstance(t, ToolSpec) or t.provider == PROVIDER
    ]
    if tools:
        body["tools"] = tools
    if request.tool_choice is not None:
        body["tool_choice"] = _encode_tool_choice(request.tool_choice)
    if request.output_schema is not None and "output_format" not in options:
        body["output_config"] = {"format": {"type": "json_schema", "schema": request.output_schema.json_schema}}
    for key, value in options.items():
        if key == "output_config" and isinstance(value, dict) and "output_config" in body:
            body[key] = {**body[key], **value}
        else:
            body[key] = value
    return body


def _decode_usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        raise MalformedBody("usage", "missing" if raw is None else "expected an object")
    taken = {"input_tokens", "output_tokens"}
    counts = {
        "input_tokens": _required(raw, "input_tokens", int, "usage"),
        "output_tokens": _required(raw, "output_tokens", int, "usage"),
    }
    for key, field in (
        ("cache_read_input_tokens", "cached_input_tokens"),
        ("cache_creation_input_tokens", "cache_write_tokens"),
    ):
        if _is_int(raw.get(key)):
            counts[field] = raw[key]
            taken.add(key)
    # A zero thinking count stays verbatim: the neutral 0 cannot say whether it was sent.
    details = raw.get("output_tokens_details")
    if isinstance(details, dict) and details.keys() == {"thinking_tokens"}:
        thinking = details["thinking_tokens"]
        if _is_int(thinking) and thinking > 0:
            counts["reasoning_tokens"] = thinking
            taken.add("output_tokens_details")
    return Usage(**counts, provider_details=_details(_rest(raw, taken)))


def _encode_usage(usage: Usage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_creation_input_tokens": usage.cache_write_tokens,
        "cache_read_input_tokens": usage.cached_input_tokens,
    }
    if usage.reasoning_tokens:
        out["output_tokens_details"] = {"thinking_tokens": usage.reasoning_tokens}
    out.update(_own(usage.provider_details))
    return out


def _decode_response(body: Any) -> ModelResponse:
    if not isinstance(body, dict):
        raise MalformedBody("$", "expected a JSON object")
    if body.get("type") == "error":
        raise MalformedBody("type", "this is an error body; classify it with decode_error")
    content = _required(body, "content", list, "")
    taken = {"content", "usage", "stop_reason"}
    fields: dict[str, Any] = {}
    for key in ("id", "model"):
        if isinstance(body.get(key), str):
            fields[key] = body[key]
            taken.add(key)
    if body.get("type") == "message":
        taken.add("type")
    if body.get("role") == "assistant":
        taken.add("role")
    raw_stop = body.get("stop_reason")
    if raw_stop is not None and not isinstance(raw_stop, str):
        raise MalformedBody("stop_reason", f"expected a string or null, got {type(raw_stop).__name__}")
    decoder = _Decoder(fields.get("model"))
    return ModelResponse(
        provider=PROVIDER,
        message=Message(role="assistant", parts=decoder.blocks(content, "content")),
        usage=_decode_usage(body.get("usage")),
        stop_reason=_STOP_REASONS.get(raw_stop, "other") if raw_stop is not None else None,
        raw_stop_reason=raw_stop,
        provider_details=_details(_rest(body, taken)),
        **fields,
    )


# ---------------------------------------------------------------- streaming


_DELTA_KINDS: dict[str, tuple[DeltaKind, str]] = {
    "text_delta": ("text", "text"),
    "input_json_delta": ("tool_arguments", "partial_json"),
    "thinking_delta": ("reasoning", "thinking"),
}
"""A content block delta's type -> the kind of `StreamDelta` it is, and the key holding its text."""


def _fold_stream(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The Message body a stream's decoded events add up to, as the SDK's own accumulator builds it."""
    message: dict[str, Any] | None = None
    stopped = False
    partial_json: dict[int, str] = {}
    for n, event in enumerate(events):
        path = f"events[{n}]"
        kind = event.get("type")
        if kind == "error":
            raise _stream_error(event)
        if kind == "message_start":
            start = _required(event, "message", dict, path)
            message = {**start, "content": list(start.get("content") or []), "usage": dict(start.get("usage") or {})}
            continue
        if kind == "message_stop":
            stopped = True
        if kind not in ("content_block_start", "content_block_delta", "content_block_stop", "message_delta"):
            continue  # ping, message_stop, and event types added later carry nothing to keep
        if message is None:
            raise MalformedBody(path, f"{kind} before message_start")
        content = message["content"]
        if kind == "content_block_start":
            content.append(dict(_required(event, "content_block", dict, path)))
        elif kind == "message_delta":
            _apply_message_delta(message, event, path)
        else:
            index = _required(event, "index", int, path)
            if not 0 <= index < len(content):
                raise MalformedBody(f"{path}.index", f"no content block {index}")
            if kind == "content_block_stop":
                if buffered := partial_json.pop(index, ""):  # no JSON at all keeps the start's input
                    content[index]["input"] = from_json(buffered, allow_partial=True)
            else:
                _apply_block_delta(content[index], _required(event, "delta", dict, path), index, partial_json, path)
    if message is None:
        raise MalformedBody("events", "the stream has no message_start event")
    if not stopped:
        raise ServerError("the stream ended before message_stop (connection cut?); retry the call", provider=PROVIDER)
    return message


def _apply_block_delta(
    block: dict[str, Any], delta: dict[str, Any], index: int, partial_json: dict[int, str], path: str
) -> None:
    kind = delta.get("type")
    if kind == "text_delta":
        block["text"] = block.get("text", "") + _required(delta, "text", str, f"{path}.delta")
    elif kind == "input_json_delta":
        partial_json[index] = partial_json.get(index, "") + _required(delta, "partial_json", str, f"{path}.delta")
    elif kind == "thinking_delta":
        block["thinking"] = block.get("thinking", "") + _required(delta, "thinking", str, f"{path}.delta")
    elif kind == "signature_delta":
        block["signature"] = _required(delta, "signature", str, f"{path}.delta")
    elif kind == "citations_delta":
        block["citations"] = [*(block.get("citations") or []), _required(delta, "citation", dict, f"{path}.delta")]
    elif kind == "compaction_delta":
        block.update(_rest(delta, {"type"}))
    else:
        raise MalformedBody(f"{path}.delta.type", f"unknown delta type {kind!r}")


def _apply_message_delta(message: dict[str, Any], event: dict[str, Any], path: str) -> None:
    delta = _required(event, "delta", dict, path)
    for key, value in delta.items():
        # The stop fields are set even when null; optional extras only when present.
        if value is not None or key in ("stop_reason", "stop_sequence", "stop_details"):
            message[key] = value
    # Usage counts here are cumulative totals; a missing or null one keeps the message_start value.
    usage = event.get("usage") or {}
    message["usage"].update({k: v for k, v in usage.items() if v is not None})
    for key, value in _rest(event, {"type", "delta", "usage"}).items():
        if value is not None:
            message[key] = value


def _stream_error(event: dict[str, Any]) -> ProviderError:
    """An `error` event: the call failed after its 200 status line, usually transiently."""
    return _classified(None, {}, json.dumps(event), event)


_STREAMED_INPUT = ("tool_use", "server_tool_use", "mcp_tool_use")
"""Blocks whose `input` arrives as input_json_delta pieces; other non-text blocks come whole."""

_STOP_KEYS = ("stop_reason", "stop_sequence", "stop_details")
# message_delta's usage: the running totals, then what is only known once the message ends.
_TOTALS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
_END_USAGE = ("server_tool_use", "output_tokens_details", "iterations")


def _streamed_block(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A content block as the real API streams it: what content_block_start holds, then its deltas."""
    kind = block["type"]
    if kind == "text":
        start, deltas = {**block, "text": ""}, []
        if isinstance(block.get("citations"), list):
            start["citations"] = []
            deltas = [{"type": "citations_delta", "citation": c} for c in block["citations"]]
        return start, deltas + [{"type": "text_delta", "text": t} for t in stream_pieces(block["text"])]
    if kind == "thinking":
        deltas = [{"type": "thinking_delta", "thinking": t} for t in stream_pieces(block["thinking"])]
        signature = {"type": "signature_delta", "signature": block["signature"]}
        return {**block, "thinking": "", "signature": ""}, [*deltas, signature]
    if kind in _STREAMED_INPUT:
        pieces = stream_pieces(compact_json(block["input"]))
        return {**block, "input": {}}, [{"type": "input_json_delta", "partial_json": p} for p in pieces]
    if kind == "compaction":
        summary = {k: block[k] for k in ("content", "encrypted_content") if k in block}
        return _rest(block, set(summary)), [{"type": "compaction_delta", **summary}]
    return block, []


# ---------------------------------------------------------------- errors

_VENDOR_ERROR_KINDS: dict[str, ErrorKind] = {
    "invalid_request_error": "bad_request",
    "authentication_error": "authentication",
    "billing_error": "quota_exhausted",
    "permission_error": "permission",
    "not_found_error": "not_found",
    "request_too_large": "context_too_long",
    "rate_limit_error": "rate_limited",
    "api_error": "server_error",
    "timeout_error": "timeout",
    "overloaded_error": "overloaded",
}

# What a message says when its error type hides what it means.
_QUOTA = re.compile(r"credit balance|spend(ing)? limit|usage limit", re.IGNORECASE)
_CONTEXT = re.compile(r"prompt is too long|context (window|length|limit)", re.IGNORECASE)
_FILTERED = re.compile(r"content filter", re.IGNORECASE)
_RETRY_HINT = re.compile(
    r"(?:try again|retry) (?:in|after) (\d+(?:\.\d+)?) ?(ms|milliseconds?|s|secs?|seconds?)\b", re.IGNORECASE
)

_ADVICE: dict[ErrorKind, str] = {
    "rate_limited": "wait and retry, or lower the request rate",
    "overloaded": "Anthropic is temporarily overloaded; retry shortly",
    "server_error": "Anthropic had an internal error; retry",
    "timeout": "retry, perhaps streaming or with a smaller request",
    "authentication": "check the API key (ANTHROPIC_API_KEY)",
    "permission": "this API key may not use this model or feature; check its workspace and permissions",
    "not_found": "check the model name and the endpoint",
    "bad_request": "fix the request; sending it unchanged will fail again",
    "context_too_long": "shorten the conversation or lower max_output_tokens",
    "content_filtered": "the content was blocked by Anthropic's policy; rephrase it",
    "quota_exhausted": "add credits or raise the spend limit in the Claude Console; retrying will not help",
}


def _kind(status: int | None, error: Mapping[str, Any]) -> ErrorKind:
    vendor_type, message = error.get("type"), str(error.get("message") or "")
    details = error.get("details")
    # A spend cap comes as a plain 429 rate_limit_error: only its code or wording tells them apart.
    if isinstance(details, dict) and details.get("error_code") == "enforced_spend_limit_reached":
        return "quota_exhausted"
    if isinstance(vendor_type, str) and vendor_type in _VENDOR_ERROR_KINDS:
        kind = _VENDOR_ERROR_KINDS[vendor_type]
    else:
        kind = kind_from_status(status) if status is not None else "server_error"
    if kind in ("rate_limited", "bad_request", "permission") and _QUOTA.search(message):
        return "quota_exhausted"
    if kind == "bad_request" and _CONTEXT.search(message):
        return "context_too_long"
    if kind == "bad_request" and _FILTERED.search(message):
        return "content_filtered"
    return kind


def _classified(status: int | None, headers: Mapping[str, str], body: str, parsed: Any) -> ProviderError:
    """The typed error for an Anthropic error answer (`parsed` is its JSON, if it was JSON)."""
    error = parsed.get("error") if isinstance(parsed, dict) else None
    error = error if isinstance(error, dict) else {}
    kind = _kind(status, error)
    vendor_type = error.get("type") if isinstance(error.get("type"), str) else None
    message = error.get("message") if isinstance(error.get("message"), str) else None
    if not message:
        message = f"HTTP {status}: {body[:200]}" if body.strip() else f"HTTP {status} with an empty body"
    retry_after = retry_after_from_headers(headers)
    if retry_after is None and (hint := _RETRY_HINT.search(message)):
        retry_after = float(hint.group(1)) / (1000 if hint.group(2).lower().startswith("m") else 1)
    return ERROR_TYPES[kind](
        f"{message} ({vendor_type or 'no error type'}); {_ADVICE[kind]}",
        provider=PROVIDER,
        status=status,
        retry_after=retry_after,
        vendor_type=vendor_type,
        body=body,
    )


def _decode_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    text, parsed = error_json(body)
    return _classified(status, headers, text, parsed)


# ---------------------------------------------------------------- the adapter


class AnthropicAdapter:
    """The Anthropic Messages API behind the `Adapter` contract (pure, no SDK import)."""

    name = PROVIDER
    api = API

    def encode_request(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body of `POST /v1/messages` for `request`."""
        return _encode_request(request)

    def decode_request(self, body: dict[str, Any]) -> ModelRequest:
        """A Messages API request body (e.g. an existing conversation) as a neutral request."""
        from durable_llm.providers.anthropic import server  # it imports this module: loaded on use

        return server.decode_request(body)

    def decode_response(self, body: dict[str, Any]) -> ModelResponse:
        """A Messages API response body (a `Message`) as a neutral response."""
        return _decode_response(body)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        """The `Message` body Anthropic would have answered with (for fake servers and replays)."""
        from durable_llm.providers.anthropic import server  # it imports this module: loaded on use

        return server.encode_response(response)

    def decode_stream(self, sse_text: str) -> ModelResponse:
        """A recorded text/event-stream answer, folded into the response a non-streamed call gives.

        Raises the classified `ProviderError` of an `error` event (e.g. `Overloaded`, retryable).
        """
        return self.decode_events(sse_events(sse_text))

    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse:
        """`decode_stream` for events already decoded from the stream, in order."""
        return _decode_response(_fold_stream(events))

    def encode_stream(self, response: ModelResponse) -> str:
        """The text/event-stream Anthropic sends for `response` when asked to stream; `decode_stream` folds it back."""
        from durable_llm.providers.anthropic import server  # it imports this module: loaded on use

        return server.encode_stream(response)

    def stream_text(self, event: dict[str, Any]) -> str:
        """The answer text one decoded stream event adds ("" for any other event)."""
        delta = event.get("delta") if event.get("type") == "content_block_delta" else None
        if not isinstance(delta, dict) or delta.get("type") != "text_delta":
            return ""
        return _required(delta, "text", str, "delta")

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        """The typed pieces one decoded stream event adds: text, tool-call arguments (JSON text) or thinking."""
        delta = event.get("delta") if event.get("type") == "content_block_delta" else None
        found = _DELTA_KINDS.get(str(delta.get("type"))) if isinstance(delta, dict) else None
        if delta is None or found is None:
            return []
        kind, key = found
        text = _required(delta, key, str, "delta")
        index = event.get("index")
        return [StreamDelta(kind, text, index=index if isinstance(index, int) else None)] if text else []

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """An HTTP error answer, classified (retryable or not, with `retry_after` when known)."""
        return _decode_error(status, headers, body)

    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]:
        """A function tool definition: `{"name", "description", "input_schema"}`."""
        return _encode_tool(spec)


ADAPTER = AnthropicAdapter()
"""The Anthropic adapter instance `get_adapter("anthropic")` returns."""

__all__ = ["ADAPTER", "DEFAULT_MAX_TOKENS", "AnthropicAdapter", "AnthropicOptions", "ThinkingConfig"]
