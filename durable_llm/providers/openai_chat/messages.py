"""Chat Completions messages <-> neutral messages, in both directions (requests carry them, responses one)."""

from __future__ import annotations

import re
from typing import Any

from durable_llm.conversation import (
    Citation,
    MediaPart,
    Message,
    Part,
    ProviderPart,
    ReasoningPart,
    RefusalPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from durable_llm.providers._wire import compact_json
from durable_llm.providers.base import MalformedBody
from durable_llm.providers.openai_chat._common import (
    MARKERS,
    PROVIDER,
    details_of,
    need,
    parse_arguments,
    pd,
    pop,
    restore,
)

REASONING_FIELDS = ("reasoning_content", "reasoning")
"""Where servers put visible reasoning: vLLM, DeepSeek (`reasoning_content`); OpenRouter, Groq, Ollama (`reasoning`)."""

_DATA_URL = re.compile(r"data:([^;,]*);base64,(.*)", re.DOTALL)
_AUDIO_MIME = {"mp3": "audio/mpeg", "wav": "audio/wav"}
_AUDIO_FORMAT = {mime: fmt for fmt, mime in _AUDIO_MIME.items()}
_INPUT_ROLES: dict[str, Role] = {"user": "user", "system": "system", "developer": "system"}


# --- reading -----------------------------------------------------------------------------------


class Reader:
    """Reads wire messages into neutral ones; remembers tool names so results can carry theirs.

    `in_request`: the messages are a request's history, so reasoning in them was sent back by the
    client and is sent back again on encode (`echo`); reasoning in a response is not (see `Writer`).
    """

    def __init__(self, *, in_request: bool) -> None:
        self.in_request = in_request
        self.call_names: dict[str, str] = {}

    def messages(self, items: list[Any], path: str, start: int = 0) -> list[Message]:
        out: list[Message] = []
        results: list[Part] = []  # consecutive tool messages make one neutral tool message
        for index, item in enumerate(items, start):
            at = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise MalformedBody(at, "expected a message object")
            role = item.get("role")
            if role in ("tool", "function"):
                results.append(self.tool_result(item, at))
                continue
            if results:
                out.append(Message(role="tool", parts=tuple(results), provider_details={}))
                results = []
            if role == "assistant":
                out.append(self.assistant(item, at))
            elif role in _INPUT_ROLES:
                out.append(self.input_message(item, at))
            else:
                raise MalformedBody(f"{at}.role", f"expected system, developer, user, assistant or tool, got {role!r}")
        if results:
            out.append(Message(role="tool", parts=tuple(results), provider_details={}))
        return out

    def input_message(self, item: dict[str, Any], at: str) -> Message:
        extras = dict(item)
        role = extras.pop("role")
        if "content" not in extras:
            extras["absent"] = ["content"]
        parts, form = self.content(extras, at)
        if role == "developer":
            extras["role"] = role
        if form is not None and form != default_form(parts):
            extras["content_form"] = form
        return Message(role=_INPUT_ROLES[role], parts=tuple(parts), provider_details=pd(extras))

    def assistant(self, item: dict[str, Any], at: str) -> Message:
        extras = dict(item)
        extras["absent"] = [key for key in ("role", "content") if key not in item]
        extras.pop("role", None)
        parts: list[Part] = [*self.reasoning(extras)]
        if "content" in extras and extras["content"] is None:
            del extras["content"]  # what the writer sends for a message without text
        if extras.get("content") == "":
            pass  # an empty content (next to tool calls) says nothing: kept verbatim
        else:
            content, form = self.content(extras, at)
            if not self.in_request and form == "string" and (citations := _citations(extras.get("annotations"))):
                del extras["annotations"]
                content = [content[0].model_copy(update={"citations": citations})]
            parts += content
            if form is not None and form != default_form(content):
                extras["content_form"] = form
        if extras.get("refusal"):  # an empty one (Snowflake) is kept as sent
            refusal = need(extras, "refusal", str, at)
            parts.append(RefusalPart(text=refusal, provider_details={}))
        calls = extras.get("tool_calls")
        if isinstance(calls, list) and calls:
            del extras["tool_calls"]
            parts += [self.tool_call(call, f"{at}.tool_calls[{i}]") for i, call in enumerate(calls)]
        legacy = extras.get("function_call")
        if isinstance(legacy, dict) and legacy.get("name"):  # Snowflake sends an empty one beside tool_calls
            del extras["function_call"]
            parts.append(self.tool_call({"function": legacy}, f"{at}.function_call", legacy=True))
        if not extras["absent"]:
            del extras["absent"]
        return Message(role="assistant", parts=tuple(parts), provider_details=pd(self._place(extras)))

    def _place(self, extras: dict[str, Any]) -> dict[str, Any]:
        """The details of an assistant message or tool call: a response's own keys go under "reply"."""
        if self.in_request:
            return extras
        markers = {key: extras.pop(key) for key in ("content_form", "legacy", "custom_call") if key in extras}
        return {**markers, "reply": extras} if extras else markers

    def reasoning(self, extras: dict[str, Any]) -> list[ReasoningPart]:
        """The visible reasoning of an assistant message (its `reasoning_details` travel with it)."""
        for field in REASONING_FIELDS:
            text = pop(extras, field, str)
            if text is not None:
                details: dict[str, Any] = {"field": field}
                break
        else:
            text, details = None, {}
        if isinstance(extras.get("reasoning_details"), list) and extras["reasoning_details"]:
            details["reasoning_details"] = extras.pop("reasoning_details")
        if not details:
            return []
        if self.in_request:
            details["echo"] = True
        return [ReasoningPart(text=text, provider_details=pd(details))]

    def content(self, extras: dict[str, Any], at: str) -> tuple[list[Part], str | None]:
        """The parts of a message's `content` (taken out of `extras`) and its form; None when not read."""
        content = extras.get("content")
        if isinstance(content, str):
            del extras["content"]
            return [TextPart(text=content, provider_details={})], "string"
        if isinstance(content, list) and content:
            del extras["content"]
            return [self._thinking(content_part(part, f"{at}.content[{i}]")) for i, part in enumerate(content)], "list"
        return [], None  # null, [] or absent: kept as it was

    def _thinking(self, part: Part) -> Part:
        """Mistral's reasoning, a `thinking` content part holding text blocks, as a `ReasoningPart`."""
        if not isinstance(part, ProviderPart) or part.body.get("type") != "thinking":
            return part
        blocks = part.body.get("thinking")
        if not isinstance(blocks, list) or not all(_is_text_block(block) for block in blocks):
            return part
        details: dict[str, Any] = {"content_part": part.body}
        if self.in_request:
            details["echo"] = True
        return ReasoningPart(text="".join(block["text"] for block in blocks), provider_details=pd(details))

    def tool_call(self, call: Any, at: str, legacy: bool = False) -> ToolCallPart:
        if not isinstance(call, dict):
            raise MalformedBody(at, "expected a tool call object")
        extras = dict(call)
        absent: list[str] = []
        call_id = pop(extras, "id", str)
        if call_id is None and not legacy and "id" not in extras:
            absent.append("id")
        # A custom tool (free-form input, GPT-5) is called as {"type": "custom", "custom": {name, input}}.
        custom = extras.get("type") == "custom" and isinstance(extras.get("custom"), dict)
        kind, argument_key = ("custom", "input") if custom else ("function", "arguments")
        if extras.get("type") == kind:
            del extras["type"]
        elif "type" not in extras and not legacy:
            absent.append("type")
        function = extras.pop(kind, None)
        if not isinstance(function, dict):
            raise MalformedBody(f"{at}.function", "expected an object with the function's name and arguments")
        function = dict(function)
        name = need(function, "name", str, f"{at}.{kind}")
        arguments = function.get(argument_key)
        if isinstance(arguments, str):
            raw = function.pop(argument_key)
        else:
            # Some servers send the arguments as an object (or not at all): kept as sent.
            raw = "" if arguments is None else compact_json(arguments)
            if argument_key not in function:
                absent.append(f"{kind}.{argument_key}")
        if function:
            extras[kind] = function
        if custom:
            extras["custom_call"] = True
        if absent:
            extras["absent"] = absent
        if legacy:
            extras["legacy"] = True
        if call_id is not None:
            self.call_names[call_id] = name
        return ToolCallPart(
            id=call_id,
            name=name,
            arguments_raw=raw,
            arguments=parse_arguments(raw),
            provider_details=pd(self._place(extras)),
        )

    def tool_result(self, item: dict[str, Any], at: str) -> ToolResultPart:
        extras = dict(item)
        role = extras.pop("role")
        name: str | None
        if role == "function":  # the legacy result of a function_call: matched by name
            extras["legacy"] = True
            name = need(extras, "name", str, at)
            call_id = None
        else:
            call_id = pop(extras, "tool_call_id", str)
            if call_id is None and "tool_call_id" not in extras:
                extras["absent"] = ["tool_call_id"]
            wire_name = extras.get("name")
            name = wire_name if isinstance(wire_name, str) else self.call_names.get(call_id or "")
        parts, form = self.content(extras, at)
        content = [part for part in parts if isinstance(part, TextPart | MediaPart)]
        if len(content) < len(parts):
            # A kind of part a tool result has no place for (a document by URL, ...): the content is kept whole.
            extras["content"], content = item["content"], []
        elif form is not None and form != default_form(parts):
            extras["content_form"] = form
        return ToolResultPart(call_id=call_id, name=name, content=tuple(content), provider_details=pd(extras))


def content_part(part: Any, at: str) -> TextPart | MediaPart | ProviderPart:
    """One part of a content list: text, an image, input audio or a file; any other kind kept verbatim."""
    if not isinstance(part, dict):
        raise MalformedBody(at, "expected a content part object")
    extras = dict(part)
    kind = extras.pop("type", None)
    if kind == "text" and isinstance(extras.get("text"), str):
        return TextPart(text=extras.pop("text"), provider_details=pd(extras))
    source = extras.get(kind) if isinstance(kind, str) else None
    if kind == "image_url" and isinstance(source, dict) and isinstance(source.get("url"), str):
        rest = dict(extras.pop("image_url"))
        mime, data = _split_data_url(rest.pop("url"))
        url = part["image_url"]["url"] if data is None else None
        if rest:
            extras["image_url"] = rest
        return MediaPart(media_type="image", mime_type=mime, url=url, data=data, provider_details={PROVIDER: extras})
    if kind == "input_audio" and isinstance(source, dict) and isinstance(source.get("data"), str):
        rest = dict(extras.pop("input_audio"))
        data = rest.pop("data")
        fmt = pop(rest, "format", str)
        if rest:
            extras["input_audio"] = rest
        mime = _AUDIO_MIME.get(fmt, f"audio/{fmt}") if fmt is not None else None
        return MediaPart(media_type="audio", mime_type=mime, data=data, provider_details={PROVIDER: extras})
    if kind == "file" and isinstance(source, dict):
        rest = dict(extras.pop("file"))
        raw = pop(rest, "file_data", str)
        mime, data = _split_data_url(raw) if raw is not None else (None, None)
        media = MediaPart(
            media_type="document" if mime == "application/pdf" else "file",
            mime_type=mime,
            data=data if data is not None else raw,
            file_id=pop(rest, "file_id", str),
            filename=pop(rest, "filename", str),
            provider_details={PROVIDER: {**extras, "file": rest} if rest else extras},
        )
        return media
    return ProviderPart(provider=PROVIDER, body=part)


def _citations(annotations: Any) -> tuple[Citation, ...]:
    """A response's `url_citation` annotations as citations of its text; () unless every one is such."""
    if not isinstance(annotations, list) or not annotations:
        return ()
    citations = []
    for annotation in annotations:
        if not (
            isinstance(annotation, dict)
            and annotation.keys() == {"type", "url_citation"}
            and annotation["type"] == "url_citation"
            and isinstance(annotation["url_citation"], dict)
            and isinstance(annotation["url_citation"].get("url"), str)
        ):
            return ()
        extras = dict(annotation["url_citation"])
        citations.append(
            Citation(
                kind="url",
                url=extras.pop("url"),
                title=pop(extras, "title", str),
                start_index=pop(extras, "start_index", int),
                end_index=pop(extras, "end_index", int),
                provider_details=pd(extras),
            )
        )
    return tuple(citations)


def _annotation(citation: Citation) -> dict[str, Any] | None:
    if citation.kind != "url" or citation.url is None:
        return None  # the only kind of annotation Chat Completions has
    out = {
        key: value
        for key in ("url", "title", "start_index", "end_index")
        if (value := getattr(citation, key)) is not None
    }
    return {"type": "url_citation", "url_citation": restore(out, details_of(citation))}


def _is_text_block(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)


def default_form(parts: list[Any]) -> str:
    """How we write content by default: a string for one plain text, else a list of parts."""
    return "string" if len(parts) == 1 and is_plain_text(parts[0]) else "list"


def is_plain_text(part: Any) -> bool:
    """A text that can travel as a bare string: no citations, no vendor keys."""
    return isinstance(part, TextPart) and not part.citations and MARKERS.issuperset(details_of(part))


def _split_data_url(value: str) -> tuple[str | None, str | None]:
    """(mime type, base64 data) of a base64 data URL, else (None, None)."""
    match = _DATA_URL.fullmatch(value)
    return (match[1], match[2]) if match else (None, None)


# --- writing -----------------------------------------------------------------------------------


class Writer:
    """Writes neutral messages as wire messages, for a request's `messages` or a response's `message`.

    In a request, a reasoning part is sent back only when the client had sent it (`echo`): most
    servers reject or ignore reasoning in the history (DeepSeek answers 400). Another vendor's
    parts, reasoning tokens and tools are left out; media another vendor put in a tool result
    follow the tool messages in a user message (tool messages carry text only).
    """

    def __init__(self, *, for_response: bool) -> None:
        self.for_response = for_response
        self.out: list[dict[str, Any]] = []
        self._count = 0

    def message(self, message: Message) -> None:
        if message.role == "assistant":
            self.out.append(self.assistant(message))
        elif message.role == "tool":
            self._tool_message(message)
        else:
            self.out.append(self._input_message(message))

    def _input_message(self, message: Message) -> dict[str, Any]:
        details = details_of(message)
        out: dict[str, Any] = {"role": details.get("role", message.role)}
        pairs = [(part, encoded) for part in message.parts if (encoded := _encode_content(part)) is not None]
        if pairs or "content" not in details:
            out["content"] = _content([part for part, _ in pairs], [encoded for _, encoded in pairs], details)
        return restore(out, details)

    def _details(self, thing: Message | ToolCallPart) -> dict[str, Any]:
        """Our details of an assistant message or tool call; a response's own keys only in a response."""
        details = details_of(thing)
        if self.for_response and "reply" in details:
            return {**details, **details["reply"]}
        return details

    def assistant(self, message: Message) -> dict[str, Any]:
        details = self._details(message)
        out: dict[str, Any] = {"role": "assistant"}
        kept: list[Part] = []
        content: list[dict[str, Any]] = []
        refusals: list[str] = []
        calls: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, ReasoningPart) and "content_part" in (reasoning := details_of(part)):
                if self.for_response or reasoning.get("echo"):  # sent back only as the client did (see above)
                    kept.append(part)
                    content.append(reasoning["content_part"])
            elif isinstance(part, ReasoningPart):
                out.update(self._reasoning(part))
            elif isinstance(part, RefusalPart):
                refusals.append(part.text)
            elif isinstance(part, ToolCallPart):
                call = self._tool_call(part)
                if self._details(part).get("legacy"):
                    out["function_call"] = call["function"]
                else:
                    calls.append(call)
            elif isinstance(part, TextPart | ProviderPart) and (encoded := _encode_content(part)) is not None:
                kept.append(part)
                content.append(encoded)
        annotations = [_annotation(c) for p in message.parts if isinstance(p, TextPart) for c in p.citations]
        if self.for_response and (annotations := [a for a in annotations if a is not None]):
            out["annotations"] = annotations  # a response's key: never sent back in a request
        if content:
            out["content"] = _content(kept, content, details)
        elif "content" not in details:
            out["content"] = None  # null when there is no text, as OpenAI writes it (some servers require the key)
        if refusals:
            out["refusal"] = "".join(refusals)
        if calls:
            out["tool_calls"] = calls
        return restore(out, details)

    def _reasoning(self, part: ReasoningPart) -> dict[str, Any]:
        details = details_of(part)
        if not (self.for_response or details.get("echo")):
            return {}
        out: dict[str, Any] = {}
        if part.text is not None:
            out[details.get("field", "reasoning_content")] = part.text
        return restore(out, {key: value for key, value in details.items() if key != "field"})

    def _tool_call(self, part: ToolCallPart) -> dict[str, Any]:
        details = self._details(part)
        out: dict[str, Any] = {"type": "function", "function": {"name": part.name, "arguments": part.arguments_raw}}
        if details.get("custom_call"):
            out = {"type": "custom", "custom": {"name": part.name, "input": part.arguments_raw}}
        if part.id is not None:
            out["id"] = part.id
        elif "id" not in details.get("absent", ()) and not details.get("legacy"):
            if not self.for_response:
                raise ValueError(
                    f"tool call {part.name!r} has no id; Chat Completions needs one: prepare the history with "
                    "durable_llm.conversation.project(messages, 'openai_chat')"
                )
            self._count += 1
            out["id"] = f"call_{self._count}"
        return restore(out, details)

    def _tool_message(self, message: Message) -> None:
        media: list[dict[str, Any]] = []
        for part in message.parts:
            if isinstance(part, ToolResultPart):
                self.out.append(self._tool_result(part, media))
            elif (encoded := _encode_content(part)) is not None:
                media.append(encoded)  # text or media that came with the results (Claude allows it)
        if media:
            self.out.append({"role": "user", "content": media})

    def _tool_result(self, part: ToolResultPart, media: list[dict[str, Any]]) -> dict[str, Any]:
        details = details_of(part)
        if details.get("legacy"):
            out: dict[str, Any] = {"role": "function", "name": part.name}
        else:
            if part.call_id is None and "tool_call_id" not in details.get("absent", ()):
                raise ValueError(
                    f"tool result of {part.name!r} has no call id; Chat Completions needs one: prepare the history "
                    "with durable_llm.conversation.project(messages, 'openai_chat')"
                )
            out = {"role": "tool", "tool_call_id": part.call_id}
        parts: list[Part] = list(part.content)
        if PROVIDER not in part.provider_details:
            # Tool messages carry text only: another vendor's media go to the user message after them.
            media += [encoded for p in parts if isinstance(p, MediaPart) and (encoded := _encode_content(p))]
            parts = [p for p in parts if isinstance(p, TextPart)]
            if not parts:
                text = compact_json(part.value) if part.value is not None else ""
                parts = [TextPart(text=text)]
        if parts or "content" not in details:
            out["content"] = _content(parts, [_encode_content(p) or {} for p in parts], details)
        return restore(out, details)


def _content(parts: list[Any], encoded: list[dict[str, Any]], details: dict[str, Any]) -> str | list[dict[str, Any]]:
    form = details.get("content_form") or default_form(parts)
    if form == "string" and len(parts) == 1 and isinstance(parts[0], TextPart):
        return parts[0].text
    return encoded


def _encode_content(part: Part) -> dict[str, Any] | None:
    """A content-list part, or None for what has no place in content (another vendor's parts, calls, ...)."""
    details = details_of(part)
    if isinstance(part, TextPart | RefusalPart):
        return restore({"type": "text", "text": part.text}, details)
    if isinstance(part, ProviderPart):
        return part.body if part.provider == PROVIDER else None
    if isinstance(part, MediaPart):
        return restore(_encode_media(part), details)
    return None


def _encode_media(part: MediaPart) -> dict[str, Any]:
    inline = None
    if part.data is not None:
        if part.mime_type is None and part.media_type == "image":
            raise ValueError("an inline image needs its mime_type (e.g. 'image/png') for its data URL")
        inline = part.data if part.mime_type is None else f"data:{part.mime_type};base64,{part.data}"
    if part.media_type == "image" and (part.url is not None or inline is not None):
        return {"type": "image_url", "image_url": {"url": part.url if part.url is not None else inline}}
    if part.media_type == "audio" and part.data is not None:
        mime = part.mime_type or "audio/wav"
        return {"type": "input_audio", "input_audio": {"data": part.data, "format": _AUDIO_FORMAT.get(mime, mime[6:])}}
    if part.media_type in ("document", "file") and part.url is None:
        file: dict[str, Any] = {}
        if inline is not None:
            file["file_data"] = inline
        if part.file_id is not None:
            file["file_id"] = part.file_id
        if part.filename is not None:
            file["filename"] = part.filename
        return {"type": "file", "file": file}
    # Another vendor's form Chat Completions has no part for (an image by file id, audio or a document by
    # URL, video): the model is told what was there rather than the whole request failing.
    where = part.url or part.file_id or part.filename or "inline data"
    return {"type": "text", "text": f"[{part.media_type} {where}: not sent, Chat Completions cannot carry it]"}
