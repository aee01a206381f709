"""OpenAI Responses API (`POST /v1/responses`) <-> the neutral model.

Items and messages: a user, system or developer message item is one Message (developer becomes
"system"); consecutive assistant message items, function calls, reasoning and built-in tool items
make one assistant Message; consecutive `function_call_output` items, and the outputs of other
tools the client ran (`custom_tool_call_output`, `shell_call_output`, a client `tool_search_output`,
...), make one tool Message. A response's `output` is one assistant Message. Items no neutral
part describes (built-in tool calls, compaction, item references, ...) become
`ProviderPart("openai", item)`, hosted tools `ProviderTool("openai", tool)`.

Nothing is normalised: a decoded body encodes back JSON-equal. What has no neutral field stays
in `provider_details["openai"]` as the vendor's own keys, next to these markers of ours:

- "item": the keys of a message item other than role and content (type, id, status, phase),
  on a user/system Message, or on the first TextPart/RefusalPart of each assistant message item
  (parts without it continue that item).
- "role": "developer" on a system Message the vendor got with that role.
- "content_form": "string" or "list" where a message's content, or a function_call_output's
  output, took the other form than ours by default (a string for one plain text, when the item
  has no "type").
- "input_form": "string" on the one user Message of a request whose `input` was a plain string.
- "absent": keys our encoding always writes that the vendor body left out (on Usage,
  "cache_write_tokens" is the one in input_tokens_details, which older API versions omit).
- "tool_choice": a tool_choice object other than `{"type": "function", "name": ...}`, verbatim.

Hand-built parts (no "openai" details) get what the API needs: in a request, each assistant text
is an easy message `{"role": "assistant", "content": text}`; in a response, texts share one
output message with a generated id. Reasoning that carries neither an OpenAI token nor OpenAI
details cannot be replayed (OpenAI requires its item id) and is left out of requests, like other
vendors' parts, tools and tokens. The Responses API has no stop sequences or seed: those neutral
fields are not sent.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

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
    Role,
    StopReason,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    Usage,
    strict_schema,
)
from durable_llm.providers._wire import compact_json, error_json, sse_events, stream_pieces
from durable_llm.providers._wire import need as _need
from durable_llm.providers._wire import pop as _pop
from durable_llm.providers.base import DeltaKind, MalformedBody, StreamDelta
from durable_llm.providers.errors import (
    ERROR_TYPES,
    ErrorKind,
    ProviderError,
    ServerError,
    kind_from_status,
    retry_after_from_headers,
    retry_after_from_message,
)

PROVIDER = "openai"
API = "responses"

_MARKERS = frozenset({"item", "role", "content_form", "input_form", "absent", "tool_choice"})
_INPUT_ROLES: dict[str, Role] = {"user": "user", "system": "system", "developer": "system"}
_TOOL_CHOICE_MODES = ("auto", "none", "required")
CitationKind = Literal["url", "file", "document", "search_result", "other"]
_CITATION_KIND: dict[str, CitationKind] = {
    "url_citation": "url",
    "file_citation": "file",
    "container_file_citation": "file",
    "file_path": "file",
}
_CITATION_TYPE = {"url": "url_citation", "file": "file_citation"}
_INCOMPLETE_STOP: dict[str, StopReason] = {"max_output_tokens": "max_tokens", "content_filter": "content_filter"}
_ENVELOPE: dict[str, Any] = {
    "object": "response",
    "created_at": 0,
    "error": None,
    "instructions": None,
    "metadata": {},
    "parallel_tool_calls": True,
    "temperature": None,
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
}
"""What a response echoes of its request, for responses built by hand."""
_DATA_URL = re.compile(r"data:([^;,]*);base64,(.*)", re.DOTALL)


class OpenAIReasoning(BaseModel):
    """`reasoning`: how hard a reasoning model thinks, and whether it returns a summary."""

    model_config = ConfigDict(extra="allow")

    effort: str | None = None
    """"none", "minimal", "low", "medium", "high" or "xhigh" (what the model supports)."""
    summary: str | None = None
    """"auto", "concise" or "detailed": ask for reasoning summaries in the output."""


class OpenAIOptions(BaseModel):
    """Responses API settings with no neutral field: `ModelRequest.provider_options["openai"]`.

    Merged into the request body as given (neutral fields win on a clash); unknown keys are
    allowed so new API settings need no release of ours.
    """

    model_config = ConfigDict(extra="allow")

    reasoning: OpenAIReasoning | None = None
    include: list[str] | None = None
    """Extra output to return, e.g. ["reasoning.encrypted_content"] to replay reasoning statelessly."""
    store: bool | None = None
    """Whether OpenAI keeps the response (needed for previous_response_id); false for stateless use."""
    previous_response_id: str | None = None
    """Continue a stored response server-side instead of resending the history."""
    conversation: str | dict[str, JsonValue] | None = None
    """A server-side conversation the response belongs to."""
    parallel_tool_calls: bool | None = None
    max_tool_calls: int | None = None
    service_tier: str | None = None
    """"auto", "default", "flex" or "priority"."""
    truncation: str | None = None
    """"auto" lets OpenAI drop old items when the context overflows; "disabled" fails instead."""
    text: dict[str, JsonValue] | None = None
    """Text output settings other than the format, e.g. {"verbosity": "low"}."""
    metadata: dict[str, str] | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    safety_identifier: str | None = None
    user: str | None = None
    background: bool | None = None
    stream: bool | None = None
    top_logprobs: int | None = None
    context_management: list[dict[str, JsonValue]] | None = None
    """Server-side compaction settings."""


class OpenAIResponsesAdapter:
    """Pure mappings between the neutral model and the Responses API's JSON."""

    name = PROVIDER
    api = API

    def encode_request(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body of `POST /v1/responses` for `request`."""
        options = request.provider_options.get(PROVIDER, {})
        OpenAIOptions.model_validate(options)
        body: dict[str, Any] = {}
        if request.model is not None:
            body["model"] = request.model
        if request.instructions is not None:
            body["instructions"] = request.instructions
        if request.messages:
            body["input"] = _encode_input(request.messages)
        tools = [encoded for tool in request.tools if (encoded := self._encode_any_tool(tool)) is not None]
        if tools:
            body["tools"] = tools
        if request.tool_choice is not None:
            body["tool_choice"] = _encode_tool_choice(request.tool_choice)
        for key in ("temperature", "top_p", "max_output_tokens"):
            if (value := getattr(request, key)) is not None:
                body[key] = value
        if request.output_schema is not None:
            text = options.get("text")
            body["text"] = {**(text if isinstance(text, dict) else {}), "format": _encode_format(request.output_schema)}
        for key, value in options.items():
            body.setdefault(key, value)
        return body

    def decode_request(self, body: dict[str, Any]) -> ModelRequest:
        """Import a Responses API request body (an existing conversation) into the neutral model."""
        from durable_llm.providers.openai import server  # it imports this module: loaded on use

        return server.decode_request(body)

    def decode_response(self, body: dict[str, Any]) -> ModelResponse:
        """A Responses API response object as a neutral response."""
        if not isinstance(body, dict):
            raise MalformedBody("$", "expected a JSON object")
        rest = dict(body)
        model = _pop(rest, "model", str)
        output = rest.pop("output", None)
        if not isinstance(output, list):
            raise MalformedBody("output", "expected a list of output items")
        parts = _Reader(model).assistant_parts(output, "output")
        usage = _decode_usage(rest.pop("usage")) if isinstance(rest.get("usage"), dict) else Usage()
        status = rest.get("status")
        incomplete = rest.get("incomplete_details")
        reason = incomplete.get("reason") if isinstance(incomplete, dict) else None
        raw_stop = reason if status == "incomplete" and isinstance(reason, str) else status
        raw_stop = raw_stop if isinstance(raw_stop, str) else None
        stop = _stop_reason(raw_stop, parts)
        # status and incomplete_details are written back from the stop reason when that gives them exactly.
        fields = {"status": status, "incomplete_details": incomplete}
        if "status" in rest and "incomplete_details" in rest and _status_fields(raw_stop, stop) == fields:
            del rest["status"], rest["incomplete_details"]
        return ModelResponse(
            id=_pop(rest, "id", str),
            model=model,
            provider=PROVIDER,
            message=Message(role="assistant", parts=tuple(parts), provider_details={}),
            usage=usage,
            stop_reason=stop,
            raw_stop_reason=raw_stop,
            provider_details={PROVIDER: rest} if rest else {},
        )

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        """The response object OpenAI would have sent (for fake servers and recorded replays)."""
        from durable_llm.providers.openai import server  # it imports this module: loaded on use

        return server.encode_response(response)

    def decode_stream(self, sse_text: str) -> ModelResponse:
        """Fold a raw `text/event-stream` of a streamed call into the response it completed with.

        The final response event (completed or incomplete) carries the whole response; its
        output is taken from the `response.output_item.done` events when it came empty. An
        `error` event or `response.failed` raises the classified ProviderError.
        """
        return self.decode_events(sse_events(sse_text))

    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse:
        """`decode_stream` for events already decoded from the stream, in order."""
        final: dict[str, Any] | None = None
        items: dict[int, Any] = {}
        for event in events:
            kind = event.get("type")
            if kind == "error":
                nested = event.get("error")
                raise _error(None, {}, nested if isinstance(nested, dict) else event, json.dumps(event))
            if kind == "response.failed":
                response = event.get("response") or {}
                raise _error(None, {}, response.get("error") or {}, json.dumps(event))
            if kind in ("response.completed", "response.incomplete"):
                final = event.get("response")
            elif kind == "response.output_item.done" and isinstance(event.get("output_index"), int):
                items[event["output_index"]] = event.get("item")
        if not isinstance(final, dict):
            raise ServerError(
                "the stream ended before the response completed; retry the call",
                provider=PROVIDER,
                body=json.dumps(events)[-2000:],
            )
        if not final.get("output") and items:
            final = {**final, "output": [items[index] for index in sorted(items)]}
        return self.decode_response(final)

    def encode_stream(self, response: ModelResponse) -> str:
        """The text/event-stream the Responses API sends for `response` when asked to stream.

        `decode_stream` folds it back.
        """
        from durable_llm.providers.openai import server  # it imports this module: loaded on use

        return server.encode_stream(response)

    def stream_text(self, event: dict[str, Any]) -> str:
        """The answer text one decoded stream event adds ("" for any other event)."""
        delta = event.get("delta")
        return delta if event.get("type") == "response.output_text.delta" and isinstance(delta, str) else ""

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        """The typed pieces one decoded stream event adds: output text, function-call arguments
        (with the call item's id) or reasoning text and summaries."""
        kind = _DELTA_KINDS.get(str(event.get("type")))
        delta = event.get("delta")
        if kind is None or not isinstance(delta, str) or not delta:
            return []
        index = event.get("output_index")
        item = event.get("item_id") if kind == "tool_arguments" else None
        return [
            StreamDelta(
                kind,
                delta,
                index=index if isinstance(index, int) else None,
                call_id=item if isinstance(item, str) else None,
            )
        ]

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """Classify an error answer of the API (any status >= 400, any body)."""
        text, parsed = error_json(body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if not isinstance(error, dict):
            error = {"message": error if isinstance(error, str) else text.strip()}
        return _error(status, headers, error, text)

    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]:
        """A function tool definition; strict mode whenever the schema allows it, unless `strict` says."""
        details = spec.provider_details.get(PROVIDER, {})
        parameters, strict = spec.parameters, spec.strict
        if strict is None and "strict" not in details:
            rewritten, _why = strict_schema(parameters)
            parameters, strict = (rewritten, True) if rewritten is not None else (parameters, False)
        out = {
            "type": "function",
            "name": spec.name,
            "description": spec.description,
            "parameters": parameters,
            "strict": strict,
        }
        return _with_extras(out, details)

    def _encode_any_tool(self, tool: Tool) -> dict[str, Any] | None:
        if isinstance(tool, ProviderTool):
            return tool.body if tool.provider == PROVIDER else None
        return self.encode_tool(tool)


ADAPTER = OpenAIResponsesAdapter()


# --- small helpers -----------------------------------------------------------------------------


def _pd(details: dict[str, Any]) -> ProviderDetails:
    # Always passed explicitly: pydantic deep-copies a model's mutable `{}` default on every instance.
    return {PROVIDER: details} if details else {}


def _details(part: Any) -> dict[str, Any]:
    return part.provider_details.get(PROVIDER, {})


def _with_extras(out: dict[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """`out` with the vendor keys kept in `details` put back (and the recorded absent keys removed)."""
    for key, value in details.items():
        if key not in _MARKERS:
            out[key] = value
    for key in details.get("absent", ()):
        out.pop(key, None)
    return out


def _parse_arguments(raw: str) -> JsonValue:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _is_plain_text(part: Part) -> bool:
    """A text that the vendor may send as a bare string: no citations, no vendor keys."""
    return isinstance(part, TextPart) and not part.citations and _MARKERS.issuperset(_details(part))


def _default_form(item: Mapping[str, Any], parts: list[Any]) -> str:
    return "string" if "type" not in item and len(parts) == 1 and _is_plain_text(parts[0]) else "list"


def _split_data_url(value: str) -> tuple[str | None, str | None]:
    """(mime type, base64 data) of a base64 data URL, else (None, None)."""
    match = _DATA_URL.fullmatch(value)
    return (match[1], match[2]) if match else (None, None)


# --- decoding ----------------------------------------------------------------------------------


_CLIENT_OUTPUTS = frozenset(
    {
        "custom_tool_call_output",
        "shell_call_output",
        "local_shell_call_output",
        "computer_call_output",
        "apply_patch_call_output",
        "mcp_approval_response",
    }
)


def _is_client_output(item: dict[str, Any]) -> bool:
    """Whether `item` is what the client sends back for a tool it ran: it starts a message after the
    assistant's (like `function_call_output`), so each request's history extends the previous one."""
    kind = item.get("type")
    if kind == "tool_search_output":
        return item.get("execution") == "client"
    return kind in _CLIENT_OUTPUTS


_DELTA_KINDS: dict[str, DeltaKind] = {
    "response.output_text.delta": "text",
    "response.function_call_arguments.delta": "tool_arguments",
    "response.custom_tool_call_input.delta": "tool_arguments",
    "response.reasoning_text.delta": "reasoning",
    "response.reasoning_summary_text.delta": "reasoning",
}
"""A stream event's type -> the kind of `StreamDelta` its `delta` is."""


class _Reader:
    """Reads OpenAI items into neutral parts; remembers tool names so results can carry theirs."""

    def __init__(self, model: str | None) -> None:
        self.model = model
        self.call_names: dict[str, str] = {}

    def messages(self, items: list[Any], path: str) -> tuple[Message, ...]:
        out: list[Message] = []
        role: Literal["assistant", "tool"] | None = None
        group: list[Part] = []

        def flush() -> None:
            if group:
                out.append(Message(role=role or "assistant", parts=tuple(group), provider_details={}))
                group.clear()

        for index, item in enumerate(items):
            at = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise MalformedBody(at, "expected an item object")
            kind = item.get("type")
            if kind is not None and not isinstance(kind, str):
                raise MalformedBody(f"{at}.type", "expected a string")
            item_role = item.get("role")
            if kind in (None, "message") and item_role != "assistant":
                flush()
                out.append(self.input_message(item, at))
                continue
            if kind not in (None, "message", "function_call_output") and item_role in _INPUT_ROLES:
                # Developer-supplied items such as additional_tools belong with the instructions.
                flush()
                out.append(Message(role=_INPUT_ROLES[item_role], parts=(ProviderPart(provider=PROVIDER, body=item),)))
                continue
            client_output = _is_client_output(item)
            group_role: Literal["assistant", "tool"] = (
                "tool" if kind == "function_call_output" or client_output else "assistant"
            )
            if group_role != role:
                flush()
                role = group_role
            if kind == "function_call_output":
                group.append(self.tool_result(item, at))
            elif client_output:
                group.append(ProviderPart(provider=PROVIDER, body=item))
            else:
                group.extend(self.assistant_item(item, at))
        flush()
        return tuple(out)

    def assistant_parts(self, items: list[Any], path: str) -> list[Part]:
        parts: list[Part] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise MalformedBody(f"{path}[{index}]", "expected an item object")
            parts.extend(self.assistant_item(item, f"{path}[{index}]"))
        return parts

    def assistant_item(self, item: dict[str, Any], at: str) -> list[Part]:
        kind = item.get("type")
        if kind in (None, "message"):
            return self.assistant_message(item, at)
        if kind == "function_call":
            return [self.tool_call(item, at)]
        if kind == "reasoning":
            return [self.reasoning(item, at)]
        return [ProviderPart(provider=PROVIDER, body=item)]

    def input_message(self, item: dict[str, Any], at: str) -> Message:
        keys = dict(item)
        role = keys.pop("role", None)
        if role not in _INPUT_ROLES:
            raise MalformedBody(f"{at}.role", f"expected user, assistant, system or developer, got {role!r}")
        content = keys.pop("content", None)
        parts, form = self.content(content, at, "user")
        details: dict[str, Any] = {"item": keys} if keys else {}
        if role == "developer":
            details["role"] = role
        if form != _default_form(keys, parts):
            details["content_form"] = form
        return Message(role=_INPUT_ROLES[role], parts=tuple(parts), provider_details=_pd(details))

    def assistant_message(self, item: dict[str, Any], at: str) -> list[Part]:
        keys = dict(item)
        del keys["role"]
        parts, form = self.content(keys.pop("content", None), at, "assistant")
        if not parts:
            # An empty assistant message has no part to carry it; keep the item itself.
            return [ProviderPart(provider=PROVIDER, body=item)]
        marker: dict[str, Any] = {"item": keys}
        if form != _default_form(keys, parts):
            marker["content_form"] = form
        first = parts[0]
        parts[0] = first.model_copy(update={"provider_details": _pd({**_details(first), **marker})})
        return parts

    def content(self, content: Any, at: str, role: str) -> tuple[list[Any], str]:
        if isinstance(content, str):
            return [TextPart(text=content, provider_details={})], "string"
        if not isinstance(content, list):
            raise MalformedBody(f"{at}.content", "expected a string or a list of content parts")
        return [self.content_part(part, f"{at}.content[{i}]", role) for i, part in enumerate(content)], "list"

    def content_part(self, part: Any, at: str, role: str) -> TextPart | RefusalPart | MediaPart:
        if not isinstance(part, dict):
            raise MalformedBody(at, "expected a content part object")
        extras = dict(part)
        kind = extras.pop("type", None)
        if kind in ("input_text", "output_text"):
            text = _need(extras, "text", str, at)
            if kind != ("output_text" if role == "assistant" else "input_text"):
                extras["type"] = kind
            citations: tuple[Citation, ...] = ()
            if kind == "output_text":
                if "annotations" not in extras:
                    extras["absent"] = ["annotations"]
                elif isinstance(extras["annotations"], list):
                    annotations = extras.pop("annotations")
                    citations = tuple(_decode_citation(a, f"{at}.annotations[{i}]") for i, a in enumerate(annotations))
            return TextPart(text=text, citations=citations, provider_details=_pd(extras))
        if kind == "refusal":
            return RefusalPart(text=_need(extras, "refusal", str, at), provider_details=_pd(extras))
        if kind == "input_image":
            url = _pop(extras, "image_url", str)
            mime, data = _split_data_url(url) if url is not None else (None, None)
            return MediaPart(
                media_type="image",
                mime_type=mime,
                url=url if data is None else None,
                data=data,
                file_id=_pop(extras, "file_id", str),
                # Kept even when empty: it says "decoded", so no default detail is added back.
                provider_details={PROVIDER: extras},
            )
        if kind == "input_file":
            raw = _pop(extras, "file_data", str)
            mime, data = _split_data_url(raw) if raw is not None else (None, None)
            return MediaPart(
                media_type="document" if mime == "application/pdf" else "file",
                mime_type=mime,
                url=_pop(extras, "file_url", str),
                data=data if data is not None else raw,
                file_id=_pop(extras, "file_id", str),
                filename=_pop(extras, "filename", str),
                provider_details={PROVIDER: extras},
            )
        raise MalformedBody(f"{at}.type", f"unknown content part type {kind!r}")

    def tool_call(self, item: dict[str, Any], at: str) -> ToolCallPart:
        extras = dict(item)
        del extras["type"]
        call_id = _need(extras, "call_id", str, at)
        name = _need(extras, "name", str, at)
        arguments = _need(extras, "arguments", str, at)
        self.call_names[call_id] = name
        return ToolCallPart(
            id=call_id,
            name=name,
            arguments_raw=arguments,
            arguments=_parse_arguments(arguments),
            provider_details=_pd(extras),
        )

    def tool_result(self, item: dict[str, Any], at: str) -> ToolResultPart:
        extras = dict(item)
        del extras["type"]
        call_id = _need(extras, "call_id", str, at)
        if "output" not in extras:
            raise MalformedBody(f"{at}.output", "missing")
        output = extras.pop("output")
        if isinstance(output, str):
            content: list[Any] = [TextPart(text=output, provider_details={})]
            form = "string"
        elif isinstance(output, list):
            content = [self.content_part(p, f"{at}.output[{i}]", "user") for i, p in enumerate(output)]
            form = "list"
            for index, part in enumerate(content):
                if isinstance(part, RefusalPart):
                    raise MalformedBody(f"{at}.output[{index}].type", "a tool output cannot hold a refusal")
        else:
            raise MalformedBody(f"{at}.output", "expected a string or a list of content parts")
        if form != ("string" if not content or (len(content) == 1 and _is_plain_text(content[0])) else "list"):
            extras["content_form"] = form
        return ToolResultPart(
            call_id=call_id,
            name=self.call_names.get(call_id),
            content=tuple(content),
            provider_details=_pd(extras),
        )

    def reasoning(self, item: dict[str, Any], at: str) -> ReasoningPart:
        extras = dict(item)
        del extras["type"]
        summary: tuple[str, ...] = ()
        raw_summary = extras.get("summary")
        if isinstance(raw_summary, list) and all(_is_text_block(s, "summary_text") for s in raw_summary):
            summary = tuple(s["text"] for s in extras.pop("summary"))
        text = None
        raw_content = extras.get("content")
        if isinstance(raw_content, list) and len(raw_content) == 1 and _is_text_block(raw_content[0], "reasoning_text"):
            text = extras.pop("content")[0]["text"]
        value = _pop(extras, "encrypted_content", str)
        token = ReasoningToken(provider=PROVIDER, api=API, model=self.model, value=value) if value is not None else None
        return ReasoningPart(text=text, summary=summary, token=token, provider_details=_pd(extras))


def _is_text_block(block: Any, kind: str) -> bool:
    return (
        isinstance(block, dict)
        and block.keys() == {"type", "text"}
        and block["type"] == kind
        and isinstance(block["text"], str)
    )


def _decode_citation(annotation: Any, at: str) -> Citation:
    if not isinstance(annotation, dict):
        raise MalformedBody(at, "expected an annotation object")
    extras = dict(annotation)
    kind = _need(extras, "type", str, at)
    neutral_kind = _CITATION_KIND.get(kind, "other")
    if _CITATION_TYPE.get(neutral_kind) != kind:
        extras["type"] = kind
    return Citation(
        kind=neutral_kind,
        url=_pop(extras, "url", str),
        title=_pop(extras, "title", str),
        file_id=_pop(extras, "file_id", str),
        start_index=_pop(extras, "start_index", int),
        end_index=_pop(extras, "end_index", int),
        provider_details=_pd(extras),
    )


def _decode_tool(tool: Any, at: str) -> Tool:
    if not isinstance(tool, dict):
        raise MalformedBody(at, "expected a tool object")
    if tool.get("type") != "function":
        return ProviderTool(provider=PROVIDER, body=tool)
    extras = dict(tool)
    del extras["type"]
    name = _need(extras, "name", str, at)
    description = extras.get("description")
    if "description" not in extras:
        extras["absent"] = ["description"]
    elif description is None or isinstance(description, str):
        del extras["description"]
    else:
        description = None
    parameters = _pop(extras, "parameters", dict)
    return ToolSpec(
        name=name,
        description=description,
        strict=_pop(extras, "strict", bool),
        provider_details=_pd(extras),
        **({"parameters": parameters} if parameters is not None else {}),
    )


def _decode_tool_choice(rest: dict[str, Any]) -> ToolChoice | None:
    choice = rest.get("tool_choice")
    if isinstance(choice, str) and choice in _TOOL_CHOICE_MODES:
        del rest["tool_choice"]
        return ToolChoice(mode=choice)
    if not isinstance(choice, dict):
        return None
    del rest["tool_choice"]
    if choice.keys() == {"type", "name"} and choice["type"] == "function" and isinstance(choice["name"], str):
        return ToolChoice(mode="tool", name=choice["name"])
    mode = choice.get("mode")
    # Any other object forces a particular (hosted or allowed) tool: kept verbatim.
    return ToolChoice(
        mode=mode if mode in _TOOL_CHOICE_MODES else "required", provider_details=_pd({"tool_choice": choice})
    )


def _decode_format(rest: dict[str, Any]) -> OutputSchema | None:
    text = rest.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if (
        not isinstance(text, dict)
        or not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        return None
    extras = dict(fmt)
    del extras["type"]
    schema = OutputSchema(
        json_schema=extras.pop("schema"),
        name=_pop(extras, "name", str),
        description=_pop(extras, "description", str),
        strict=_pop(extras, "strict", bool),
        provider_details=_pd(extras),
    )
    remaining = {key: value for key, value in text.items() if key != "format"}
    if remaining:
        rest["text"] = remaining
    else:
        del rest["text"]
    return schema


def _decode_usage(raw: dict[str, Any]) -> Usage:
    extras = dict(raw)
    absent = [key for key in ("input_tokens_details", "output_tokens_details") if key not in raw]
    input_details = dict(_pop(extras, "input_tokens_details", dict) or {})
    output_details = dict(_pop(extras, "output_tokens_details", dict) or {})
    if "input_tokens_details" not in absent and "cache_write_tokens" not in input_details:
        absent.append("cache_write_tokens")  # not reported by older API versions
    counts = {
        "input_tokens": _pop(extras, "input_tokens", int) or 0,
        "output_tokens": _pop(extras, "output_tokens", int) or 0,
        "cached_input_tokens": _pop(input_details, "cached_tokens", int) or 0,
        "cache_write_tokens": _pop(input_details, "cache_write_tokens", int) or 0,
        "reasoning_tokens": _pop(output_details, "reasoning_tokens", int) or 0,
    }
    if extras.get("total_tokens") == counts["input_tokens"] + counts["output_tokens"]:
        del extras["total_tokens"]
    if input_details:
        extras["input_tokens_details"] = input_details
    if output_details:
        extras["output_tokens_details"] = output_details
    if absent:
        extras["absent"] = absent
    return Usage(**counts, provider_details=_pd(extras))


def _stop_reason(raw: str | None, parts: list[Part]) -> StopReason | None:
    if raw is None:
        return None
    if raw == "completed":
        if any(isinstance(part, ToolCallPart) for part in parts):
            return "tool_calls"
        if any(isinstance(part, RefusalPart) for part in parts):
            return "refusal"
        return "end_turn"
    if raw in _INCOMPLETE_STOP:
        return _INCOMPLETE_STOP[raw]
    return "error" if raw == "failed" else "other"


def _status_fields(raw: str | None, stop: StopReason | None) -> dict[str, Any]:
    """`status` and `incomplete_details` of a response, from its raw (or else neutral) stop reason."""
    if raw is None:
        raw = {"max_tokens": "max_output_tokens", "content_filter": "content_filter", "error": "failed"}.get(
            stop or "", "completed"
        )
    if raw in _INCOMPLETE_STOP:
        return {"status": "incomplete", "incomplete_details": {"reason": raw}}
    return {"status": raw, "incomplete_details": None}


# --- encoding ----------------------------------------------------------------------------------


def _encode_input(messages: tuple[Message, ...]) -> str | list[dict[str, Any]]:
    if len(messages) == 1:
        only = messages[0]
        text = only.parts[0] if len(only.parts) == 1 else None
        if _details(only).get("input_form") == "string" and isinstance(text, TextPart) and _is_plain_text(text):
            return text.text
    writer = _Writer(for_response=False)
    for message in messages:
        writer.message(message)
    return writer.items


class _OpenItem:
    """A message item whose content parts are still being collected."""

    def __init__(self, keys: dict[str, Any], form: str | None, decoded: bool) -> None:
        self.keys = keys
        self.form = form
        self.decoded = decoded
        self.parts: list[TextPart | RefusalPart | MediaPart] = []
        self.content: list[dict[str, Any]] = []


class _Writer:
    """Turns neutral messages into OpenAI items, as request `input` or as response `output`."""

    def __init__(self, for_response: bool) -> None:
        self.for_response = for_response
        self.items: list[dict[str, Any]] = []
        self._open: _OpenItem | None = None
        self._count = 0

    def message(self, message: Message) -> None:
        self._close()
        if message.role in ("user", "system"):
            details = _details(message)
            role = details.get("role", message.role)
            self._open = _OpenItem({"role": role, **details.get("item", {})}, details.get("content_form"), True)
            if not message.parts:
                self.items.append({**self._open.keys, "content": self._finish_content(self._open)})
        for part in message.parts:
            self._part(part, message)
        self._close()

    def _part(self, part: Part, message: Message) -> None:
        if isinstance(part, TextPart | RefusalPart | MediaPart):
            self._content(part, message)
            return
        self._close()
        if isinstance(part, ToolCallPart):
            self.items.append(self._tool_call(part))
        elif isinstance(part, ToolResultPart):
            self.items.append(self._tool_result(part))
        elif isinstance(part, ReasoningPart):
            if (item := self._reasoning(part)) is not None:
                self.items.append(item)
        elif part.provider == PROVIDER:
            self.items.append(part.body)

    def _content(self, part: TextPart | RefusalPart | MediaPart, message: Message) -> None:
        if message.role != "assistant":
            if self._open is None:
                self._open = _OpenItem({"role": "user" if message.role == "tool" else message.role}, None, False)
            self._add(self._open, part)
            return
        details = _details(part)
        if "item" in details:
            self._close()
            self._open = _OpenItem({"role": "assistant", **details["item"]}, details.get("content_form"), True)
        elif isinstance(part, MediaPart) and not (self._open is not None and self._open.decoded):
            return  # the Responses API has no media content in assistant messages
        elif self._open is None or not (self._open.decoded or self.for_response):
            self._close()
            if isinstance(part, RefusalPart) and not self.for_response:
                # An easy input message cannot hold a refusal part; its words are what was said.
                part = TextPart(text=part.text)
            keys: dict[str, Any] = {"role": "assistant"}
            if self.for_response:
                keys = {"type": "message", "id": self._next_id("msg"), "status": "completed", **keys}
            self._open = _OpenItem(keys, None, False)
        self._add(self._open, part)

    def _add(self, item: _OpenItem, part: TextPart | RefusalPart | MediaPart) -> None:
        item.parts.append(part)
        item.content.append(_encode_content_part(part, item.keys["role"]))

    def _close(self) -> None:
        item, self._open = self._open, None
        if item is not None and item.parts:
            self.items.append({**item.keys, "content": self._finish_content(item)})

    def _finish_content(self, item: _OpenItem) -> str | list[dict[str, Any]]:
        form = item.form or _default_form(item.keys, item.parts)
        if form == "string" and len(item.parts) == 1 and isinstance(item.parts[0], TextPart):
            return item.parts[0].text
        return item.content

    def _next_id(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def _tool_call(self, part: ToolCallPart) -> dict[str, Any]:
        details = _details(part)
        call_id = part.id
        if call_id is None:
            if not self.for_response:
                raise ValueError(
                    f"tool call {part.name!r} has no id; OpenAI needs one: prepare the history with "
                    "durable_llm.conversation.project(messages, 'openai')"
                )
            call_id = self._next_id("call")
        out = {"type": "function_call", "call_id": call_id, "name": part.name, "arguments": part.arguments_raw}
        if self.for_response and not details:
            out.update(id=self._next_id("fc"), status="completed")
        return _with_extras(out, details)

    def _tool_result(self, part: ToolResultPart) -> dict[str, Any]:
        if part.call_id is None:
            raise ValueError(
                f"tool result of {part.name!r} has no call id; OpenAI needs one: prepare the history with "
                "durable_llm.conversation.project(messages, 'openai')"
            )
        details = _details(part)
        content = [_encode_content_part(p, "user") for p in part.content]
        plain = not part.content or (len(part.content) == 1 and _is_plain_text(part.content[0]))
        form = details.get("content_form") or ("string" if plain else "list")
        output: str | list[dict[str, Any]] = content
        if form == "string" and plain:
            output = part.text
            if not part.content and part.value is not None:
                output = compact_json(part.value)  # a structured result (e.g. a Gemini functionResponse)
        return _with_extras({"type": "function_call_output", "call_id": part.call_id, "output": output}, details)

    def _reasoning(self, part: ReasoningPart) -> dict[str, Any] | None:
        token = part.token
        details = _details(part)
        if token is not None and token.provider != PROVIDER:
            return None
        if token is None and not details and not self.for_response:
            return None
        out: dict[str, Any] = {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": s} for s in part.summary],
        }
        if part.text is not None:
            out["content"] = [{"type": "reasoning_text", "text": part.text}]
        if token is not None:
            out["encrypted_content"] = token.value
        out = _with_extras(out, details)
        if self.for_response and "id" not in out:
            out["id"] = self._next_id("rs")
        return out


def _encode_content_part(part: TextPart | RefusalPart | MediaPart, role: str) -> dict[str, Any]:
    details = _details(part)
    if isinstance(part, RefusalPart):
        return _with_extras({"type": "refusal", "refusal": part.text}, details)
    if isinstance(part, TextPart):
        kind = details.get("type", "output_text" if role == "assistant" else "input_text")
        out: dict[str, Any] = {"type": kind, "text": part.text}
        if kind == "output_text":
            out["annotations"] = [a for c in part.citations if (a := _encode_citation(c)) is not None]
        return _with_extras(out, details)
    return _with_extras(_encode_media(part, PROVIDER not in part.provider_details), details)


def _encode_media(part: MediaPart, hand_built: bool) -> dict[str, Any]:
    inline = None
    if part.data is not None:
        if part.mime_type is None and part.media_type == "image":
            raise ValueError("an inline image needs its mime_type (e.g. 'image/png') for OpenAI's data URL")
        inline = part.data if part.mime_type is None else f"data:{part.mime_type};base64,{part.data}"
    if part.media_type == "image":
        out: dict[str, Any] = {"type": "input_image"}
        if part.url is not None or inline is not None:
            out["image_url"] = part.url if part.url is not None else inline
        if part.file_id is not None:
            out["file_id"] = part.file_id
        if hand_built:
            out["detail"] = "auto"
        return out
    out = {"type": "input_file"}
    if inline is not None:
        out["file_data"] = inline
    if part.url is not None:
        out["file_url"] = part.url
    if part.file_id is not None:
        out["file_id"] = part.file_id
    filename = part.filename
    if filename is None and hand_built and inline is not None:
        # OpenAI needs a file name next to inline file data.
        filename = "file" + (mimetypes.guess_extension(part.mime_type or "") or "")
    if filename is not None:
        out["filename"] = filename
    return out


def _encode_citation(citation: Citation) -> dict[str, Any] | None:
    details = citation.provider_details.get(PROVIDER)
    if details is None:
        if citation.kind != "url" or citation.url is None:
            return None  # only a URL citation has a shape every OpenAI model accepts
        return {
            "type": "url_citation",
            "url": citation.url,
            "title": citation.title or "",
            "start_index": citation.start_index or 0,
            "end_index": citation.end_index or 0,
        }
    out: dict[str, Any] = {"type": _CITATION_TYPE.get(citation.kind, citation.kind)}
    for key in ("url", "title", "file_id", "start_index", "end_index"):
        if (value := getattr(citation, key)) is not None:
            out[key] = value
    return _with_extras(out, details)


def _encode_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    raw = _details(choice).get("tool_choice")
    if raw is not None:
        return raw
    if choice.mode == "tool":
        return {"type": "function", "name": choice.name}
    return choice.mode


def _encode_format(schema: OutputSchema) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "json_schema", "name": schema.name or "output", "schema": schema.json_schema}
    if schema.description is not None:
        out["description"] = schema.description
    if schema.strict is not None:
        out["strict"] = schema.strict
    return _with_extras(out, _details(schema))


def _encode_usage(usage: Usage) -> dict[str, Any]:
    details = dict(_details(usage))
    input_details = {"cached_tokens": usage.cached_input_tokens, "cache_write_tokens": usage.cache_write_tokens}
    if "cache_write_tokens" in details.get("absent", ()):
        del input_details["cache_write_tokens"]
    out: dict[str, Any] = {
        "input_tokens": usage.input_tokens,
        "input_tokens_details": input_details,
        "output_tokens": usage.output_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.input_tokens + usage.output_tokens,
    }
    for key in ("input_tokens_details", "output_tokens_details"):
        if isinstance(details.get(key), dict):
            out[key].update(details.pop(key))
    return _with_extras(out, details)


# --- streams and errors ------------------------------------------------------------------------


def _item_events(index: int, item: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream events of one output item: added (still empty), its text or arguments in pieces, done."""
    where = {"item_id": item.get("id"), "output_index": index}
    added, pieces = item, []
    if item.get("type") == "message" and isinstance(item.get("content"), list):
        added = {**item, "status": "in_progress", "content": []}
        for content_index, part in enumerate(item["content"]):
            pieces += _content_events({**where, "content_index": content_index}, part)
    elif item.get("type") == "function_call":
        arguments = item["arguments"]
        added = {**item, "status": "in_progress", "arguments": ""}
        pieces = [
            {"type": "response.function_call_arguments.delta", **where, "delta": d} for d in stream_pieces(arguments)
        ]
        pieces.append({"type": "response.function_call_arguments.done", **where, "arguments": arguments})
    return [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *pieces,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def _content_events(where: dict[str, Any], part: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream events of one content part of a message item; text and refusals come in deltas."""
    empty, pieces = part, []
    if part.get("type") == "output_text":
        text = part["text"]
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        pieces = [
            {"type": "response.output_text.delta", **where, "delta": d, "logprobs": []} for d in stream_pieces(text)
        ]
        pieces += [
            {"type": "response.output_text.annotation.added", **where, "annotation_index": i, "annotation": annotation}
            for i, annotation in enumerate(part.get("annotations", []))
        ]
        pieces.append(
            {"type": "response.output_text.done", **where, "text": text, "logprobs": part.get("logprobs", [])}
        )
    elif part.get("type") == "refusal":
        refusal = part["refusal"]
        empty = {"type": "refusal", "refusal": ""}
        pieces = [{"type": "response.refusal.delta", **where, "delta": d} for d in stream_pieces(refusal)]
        pieces.append({"type": "response.refusal.done", **where, "refusal": refusal})
    return [
        {"type": "response.content_part.added", **where, "part": empty},
        *pieces,
        {"type": "response.content_part.done", **where, "part": part},
    ]


_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})
_FILTER_CODES = frozenset({"content_policy_violation", "content_filter", "moderation_blocked"})
_FILTER_WORDS = ("safety system", "content management policy", "usage policy", "flagged", "moderation")
_CODE_KINDS: dict[str, ErrorKind] = {
    "rate_limit_exceeded": "rate_limited",
    "server_is_overloaded": "overloaded",
    "slow_down": "overloaded",
    "server_error": "server_error",
    "internal_error": "server_error",
    "invalid_api_key": "authentication",
    "model_not_found": "not_found",
    "unsupported_country_region_territory": "permission",
}
_ADVICE: dict[ErrorKind, str] = {
    "rate_limited": "slow down or wait before retrying (retried automatically)",
    "overloaded": "OpenAI is overloaded; retry later (retried automatically)",
    "server_error": "OpenAI failed to answer; retrying usually helps (retried automatically)",
    "timeout": "the request timed out; retry, or ask for fewer output tokens",
    "authentication": "check the API key (OPENAI_API_KEY or the key you passed)",
    "permission": "this key, project or organisation may not use this model or feature; check its access",
    "not_found": "check the model name and the ids the request refers to",
    "bad_request": "fix the request; sending it again unchanged fails again",
    "context_too_long": "shorten the history (drop or summarise old turns) or use a model with a larger context",
    "content_filtered": "OpenAI's safety system blocked the input or output; rephrase the request",
    "quota_exhausted": "the account is out of credits or over its spending limit; add credits or raise the "
    "limit in the OpenAI billing settings (retrying will not help)",
}


def _classify(status: int | None, codes: tuple[str, ...], message: str) -> ErrorKind:
    text = message.lower()
    if _QUOTA_CODES.intersection(codes):
        return "quota_exhausted"
    if "context_length_exceeded" in codes or "maximum context length" in text or "context window" in text:
        return "context_too_long"
    if _FILTER_CODES.intersection(codes) or (status in (None, 400) and any(w in text for w in _FILTER_WORDS)):
        return "content_filtered"
    if status is not None and (status >= 500 or status in (408, 429)):
        return kind_from_status(status)
    for code in codes:
        if code in _CODE_KINDS:
            return _CODE_KINDS[code]
    return kind_from_status(status) if status is not None else "server_error"


def _error(status: int | None, headers: Mapping[str, str], error: dict[str, Any], raw: str) -> ProviderError:
    message = str(error.get("message") or "").strip() or (f"HTTP {status}" if status else "stream error")
    codes = tuple(str(error[key]) for key in ("code", "type") if error.get(key))
    kind = _classify(status, codes, message)
    retry_after = None
    if kind in ("rate_limited", "overloaded", "server_error", "timeout"):
        retry_after = retry_after_from_headers(headers)
        if retry_after is None:
            retry_after = retry_after_from_message(message)
    return ERROR_TYPES[kind](
        f"{message} ({_ADVICE[kind]})",
        provider=PROVIDER,
        status=status,
        retry_after=retry_after,
        vendor_type=codes[0] if codes else None,
        body=raw,
    )


__all__ = ["ADAPTER", "OpenAIOptions", "OpenAIReasoning", "OpenAIResponsesAdapter"]
