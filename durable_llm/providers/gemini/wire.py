"""Google Gemini `generateContent` / `streamGenerateContent` <-> the neutral model.

The model is named in the URL (`request_path`), never in the body, so `decode_request` gives
`model=None`. Every corpus body round-trips JSON-equal with no normalisation; what has no
neutral field is kept under `provider_details["gemini"]`:

- `snake_keys`: wire keys the sender wrote in snake_case (the google-genai SDK does, e.g.
  `function_call`, `inline_data`, `mime_type`, `parameters_json_schema`), written back the same.
- `extra`: keys of a part / declaration the neutral model has no field for (`videoMetadata`,
  `behavior`, ...); `inner_extra`: the same inside `functionCall`, `inlineData`, ...
- `openapi_schema`: a tool's `parameters` or a `responseSchema` in Gemini's OpenAPI subset
  (`"type": "OBJECT"`), replayed verbatim; the neutral field holds its JSON Schema rendering.
- on responses: `candidate` (extra candidate keys: `index`, `safetyRatings`, `groundingMetadata`,
  `finishMessage`, ...), `other_candidates`, `response` (extra top-level keys: `createTime`,
  `promptFeedback`, ...); on usage (`usage`), the counts with no neutral field.
- on a tool choice, Gemini's `mode` when the neutral one does not say it (VALIDATED) and
  `allowedFunctionNames` beyond a single forced function.
- shape flags for bodies that leave out what we would write: `no_role`, `no_parts`,
  `content_keys`, `no_candidates`, `no_parameters`, `new_entry` (declarations split in entries).

A tool result's `value` is `functionResponse.response` (`is_error` when it has an "error" key);
one built elsewhere with text only is sent as `{"output": text}` (or `{"error": text}`).
Streams fold into the body a non-streamed call would give; `encode_stream` cuts that body into
chunks again (see `stream`).

Request settings with no neutral field (safetySettings, cachedContent, generationConfig.topK,
thinkingConfig, toolConfig extras, ...) go to `provider_options["gemini"]`, which `encode_request`
deep-merges into the body last (so they override). snake_case spellings of the neutral
generation settings other than the output schema stay there verbatim.

Thought signatures: a thought part keeps its signature in its `ReasoningPart.token`; a signature
on any other part becomes a token-only `ReasoningPart` right before it, and the encoder puts it
back on the part that follows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from durable_llm.conversation import (
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
)
from durable_llm.providers._wire import compact_json, error_json, json_type
from durable_llm.providers.base import MalformedBody, StreamDelta
from durable_llm.providers.errors import (
    ERROR_TYPES,
    ErrorKind,
    ProviderError,
    kind_from_status,
    retry_after_from_headers,
)
from durable_llm.providers.gemini.stream import fold_chunks, stream_chunks

PROVIDER = "gemini"
API = "generate_content"


class _Options(BaseModel):
    # Wire names are camelCase; snake_case is accepted too, as the google-genai SDK sends both.
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class GeminiThinkingConfig(_Options):
    """`generationConfig.thinkingConfig`: how much the model thinks and whether thoughts are returned."""

    include_thoughts: bool | None = None
    thinking_budget: int | None = None
    thinking_level: str | None = None
    """Gemini 3: "MINIMAL", "LOW", "MEDIUM" or "HIGH"."""


class GeminiGenerationConfig(_Options):
    """`generationConfig` settings with no neutral field (temperature, topP, ... are neutral)."""

    top_k: float | None = None
    candidate_count: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    response_mime_type: str | None = None
    """JSON mode without a schema ("application/json"), or "text/x.enum"."""
    response_modalities: list[str] | None = None
    thinking_config: GeminiThinkingConfig | None = None
    media_resolution: str | None = None
    response_logprobs: bool | None = None
    logprobs: int | None = None


class GeminiSafetySetting(_Options):
    """One `safetySettings` entry, e.g. category "HARM_CATEGORY_HARASSMENT", threshold "BLOCK_NONE"."""

    category: str
    threshold: str


class GeminiToolConfig(_Options):
    """`toolConfig` settings besides `functionCallingConfig` (which `ToolChoice` covers)."""

    include_server_side_tool_invocations: bool | None = None


class GeminiOptions(_Options):
    """What `ModelRequest.provider_options["gemini"]` may hold: wire keys deep-merged into the body.

    Unknown keys are allowed and sent as given, so new vendor settings need no release.
    """

    safety_settings: list[GeminiSafetySetting] | None = None
    cached_content: str | None = None
    """A context cache name, "cachedContents/..."."""
    generation_config: GeminiGenerationConfig | None = None
    tool_config: GeminiToolConfig | None = None
    labels: dict[str, str] | None = None
    """Vertex AI billing labels."""


# Keys the google-genai SDK may write in snake_case, and their camelCase wire names.
_CAMEL = {
    "inline_data": "inlineData",
    "file_data": "fileData",
    "function_call": "functionCall",
    "function_response": "functionResponse",
    "thought_signature": "thoughtSignature",
    "mime_type": "mimeType",
    "file_uri": "fileUri",
    "display_name": "displayName",
    "parameters_json_schema": "parametersJsonSchema",
    "response_mime_type": "responseMimeType",
    "response_schema": "responseSchema",
    "response_json_schema": "responseJsonSchema",
}
_SNAKE = {camel: snake for snake, camel in _CAMEL.items()}

_ROLES: dict[str, Role] = {"user": "user", "model": "assistant"}
_WIRE_ROLES = {"user": "user", "tool": "user", "system": "user", "assistant": "model"}
_MEDIA_TYPES: dict[str, Literal["image", "audio", "video"]] = {"image": "image", "audio": "audio", "video": "video"}
_DOCUMENT_MIME = re.compile(r"^(application/pdf|text/)")
_REQUEST_KEYS = frozenset({"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"})
_RESPONSE_KEYS = frozenset({"candidates", "usageMetadata", "modelVersion", "responseId"})
_USAGE_KEYS = frozenset(
    {"promptTokenCount", "candidatesTokenCount", "cachedContentTokenCount", "thoughtsTokenCount", "totalTokenCount"}
)
_EMPTY_PARAMETERS = {"type": "object", "properties": {}}

_STOP_REASONS: dict[str, StopReason] = {
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "IMAGE_PROHIBITED_CONTENT": "content_filter",
    "IMAGE_RECITATION": "content_filter",
    "MALFORMED_FUNCTION_CALL": "error",
    "UNEXPECTED_TOOL_CALL": "error",
    "TOO_MANY_TOOL_CALLS": "error",
}
_FINISH_REASONS: dict[str, str] = {
    "end_turn": "STOP",
    "tool_calls": "STOP",
    "stop_sequence": "STOP",
    "pause": "STOP",
    "max_tokens": "MAX_TOKENS",
    "content_filter": "SAFETY",
    "refusal": "SAFETY",
    "error": "MALFORMED_FUNCTION_CALL",
    "other": "OTHER",
}


# --- JSON shape checks: every decoding error names its JSON path -------------------------------


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedBody(path, f"expected an object, got {json_type(value)}")
    return value


def _array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedBody(path, f"expected an array, got {json_type(value)}")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise MalformedBody(path, f"expected a string, got {json_type(value)}")
    return value


def _optional_string(value: Any, path: str) -> str | None:
    return None if value is None else _string(value, path)


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedBody(path, f"expected a number, got {json_type(value)}")
    return value


def _integer(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedBody(path, f"expected an integer, got {json_type(value)}")
    return value


def _required(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj:
        raise MalformedBody(f"{path}.{key}", "required key is missing")
    return obj[key]


# --- key spelling -------------------------------------------------------------------------------


def _camel_view(obj: dict[str, Any], snake: list[str]) -> dict[str, Any]:
    """`obj` with known snake_case keys renamed to camelCase; the renamed keys go to `snake`."""
    view: dict[str, Any] = {}
    for key, value in obj.items():
        camel = _CAMEL.get(key)
        if camel is None:
            view[key] = value
        else:
            snake.append(key)
            view[camel] = value
    return view


def _wire(camel: str, snake: Sequence[str]) -> str:
    """The key to write for `camel`: its snake_case spelling if the decoded body used that."""
    if snake and _SNAKE.get(camel) in snake:
        return _SNAKE[camel]
    return camel


def _gemini(details: ProviderDetails) -> dict[str, Any]:
    return details.get(PROVIDER, {})


def _pack(**fields: Any) -> ProviderDetails:
    """`provider_details` holding the non-empty `fields` under "gemini" (or nothing)."""
    kept = {key: value for key, value in fields.items() if value}
    return {PROVIDER: kept} if kept else {}


# --- schemas ------------------------------------------------------------------------------------

_OPENAPI_KEYWORDS = {
    "any_of": "anyOf",
    "max_items": "maxItems",
    "min_items": "minItems",
    "max_length": "maxLength",
    "min_length": "minLength",
    "max_properties": "maxProperties",
    "min_properties": "minProperties",
}
# Gemini's ordering hints and OpenAPI's nullable have no JSON Schema keyword of that name.
_OPENAPI_ONLY = frozenset({"propertyOrdering", "property_ordering", "nullable"})


def openapi_to_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema for a schema in Gemini's OpenAPI subset (`"type": "OBJECT"`, `nullable`, ...)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY:
            continue
        key = _OPENAPI_KEYWORDS.get(key, key)
        if key == "type" and isinstance(value, str):
            value = value.lower()
        elif key == "properties" and isinstance(value, dict):
            value = {name: _sub_schema(sub) for name, sub in value.items()}
        elif key == "items":
            value = _sub_schema(value)
        elif key == "anyOf" and isinstance(value, list):
            value = [_sub_schema(sub) for sub in value]
        out[key] = value
    if schema.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _sub_schema(value: Any) -> Any:
    return openapi_to_json_schema(value) if isinstance(value, dict) else value


# --- parts --------------------------------------------------------------------------------------


def _decode_parts(raw_parts: Any, path: str, model: str | None) -> list[Part]:
    parts: list[Part] = []
    for index, raw in enumerate(_array(raw_parts, path)):
        part_path = f"{path}[{index}]"
        raw = _object(raw, part_path)
        snake: list[str] = []
        view = _camel_view(raw, snake)
        token = None
        token_snake: list[str] = []
        if "thoughtSignature" in view:
            if "thought_signature" in snake:
                snake.remove("thought_signature")
                token_snake.append("thought_signature")
            signature_path = f"{part_path}.{_wire('thoughtSignature', token_snake)}"
            signature = _string(view.pop("thoughtSignature"), signature_path)
            token = ReasoningToken(provider=PROVIDER, api=API, model=model, value=signature)
        if view.get("thought") is True and "text" in view:
            text = _string(view.pop("text"), f"{part_path}.text")
            del view["thought"]
            details = _pack(snake_keys=snake + token_snake, extra=view)
            parts.append(ReasoningPart(text=text, token=token, provider_details=details))
            continue
        if token is not None:
            parts.append(ReasoningPart(token=token, provider_details=_pack(snake_keys=token_snake)))
        parts.append(_decode_part(raw, view, snake, part_path))
    return parts


def _decode_part(raw: dict[str, Any], view: dict[str, Any], snake: list[str], path: str) -> Part:
    """One part without its thought signature; `view` has camelCase keys."""
    if "text" in view:
        text = _string(view.pop("text"), f"{path}.text")
        return TextPart(text=text, provider_details=_pack(snake_keys=snake, extra=view))
    if "inlineData" in view or "fileData" in view:
        return _decode_media(view, snake, path)
    if "functionCall" in view:
        key_path = f"{path}.{_wire('functionCall', snake)}"
        call = _camel_view(_object(view.pop("functionCall"), key_path), snake)
        name = _string(_required(call, "name", key_path), f"{key_path}.name")
        args = _object(call.pop("args", {}), f"{key_path}.args")
        call_id = _optional_string(call.pop("id", None), f"{key_path}.id")
        del call["name"]
        return ToolCallPart(
            id=call_id,
            name=name,
            arguments_raw=compact_json(args),
            arguments=args,
            provider_details=_pack(snake_keys=snake, extra=view, inner_extra=call),
        )
    if "functionResponse" in view:
        return _decode_function_response(view, snake, path)
    thought_keys = ("thoughtSignature", "thought_signature")
    return ProviderPart(provider=PROVIDER, body={key: value for key, value in raw.items() if key not in thought_keys})


def _decode_media(view: dict[str, Any], snake: list[str], path: str) -> MediaPart:
    inline = "inlineData" in view
    key = "inlineData" if inline else "fileData"
    key_path = f"{path}.{_wire(key, snake)}"
    blob = _camel_view(_object(view.pop(key), key_path), snake)
    mime_type = _optional_string(blob.pop("mimeType", None), f"{key_path}.{_wire('mimeType', snake)}")
    filename = _optional_string(blob.pop("displayName", None), f"{key_path}.{_wire('displayName', snake)}")
    data = url = None
    if inline:
        data = _string(_required(blob, "data", key_path), f"{key_path}.data")
        del blob["data"]
    else:
        url = _string(_required(blob, "fileUri", key_path), f"{key_path}.{_wire('fileUri', snake)}")
        del blob["fileUri"]
    return MediaPart(
        media_type=_media_type(mime_type),
        mime_type=mime_type,
        data=data,
        url=url,
        filename=filename,
        provider_details=_pack(snake_keys=snake, extra=view, inner_extra=blob),
    )


def _media_type(mime_type: str | None) -> Literal["image", "audio", "video", "document", "file"]:
    if mime_type is None:
        return "file"
    if (kind := _MEDIA_TYPES.get(mime_type.partition("/")[0])) is not None:
        return kind
    return "document" if _DOCUMENT_MIME.match(mime_type) else "file"


def _decode_function_response(view: dict[str, Any], snake: list[str], path: str) -> ToolResultPart:
    key_path = f"{path}.{_wire('functionResponse', snake)}"
    result = _camel_view(_object(view.pop("functionResponse"), key_path), snake)
    name = _string(_required(result, "name", key_path), f"{key_path}.name")
    value = _object(_required(result, "response", key_path), f"{key_path}.response")
    call_id = _optional_string(result.pop("id", None), f"{key_path}.id")
    content: list[TextPart | MediaPart] = []
    for index, raw in enumerate(_array(result.pop("parts", []), f"{key_path}.parts")):
        part_path = f"{key_path}.parts[{index}]"
        part_snake: list[str] = []
        part_view = _camel_view(_object(raw, part_path), part_snake)
        if "inlineData" not in part_view and "fileData" not in part_view:
            raise MalformedBody(part_path, "a function response part holds inlineData or fileData")
        content.append(_decode_media(part_view, part_snake, part_path))
    del result["name"], result["response"]
    return ToolResultPart(
        call_id=call_id,
        name=name,
        content=tuple(content),
        value=value,
        is_error="error" in value,
        provider_details=_pack(snake_keys=snake, extra=view, inner_extra=result),
    )


def _encode_parts(parts: Sequence[Part], call_names: dict[str, str]) -> list[dict[str, Any]]:
    """Wire parts for neutral ones; `call_names` maps call ids seen so far to function names."""
    out: list[dict[str, Any]] = []
    pending: tuple[str, str] | None = None  # (key, signature) waiting for the part it belongs to
    for part in parts:
        if isinstance(part, ReasoningPart) and part.text is None:
            if part.token is not None and part.token.provider == PROVIDER:
                if pending is not None:
                    out.append({pending[0]: pending[1]})
                snake = _gemini(part.provider_details).get("snake_keys", ())
                pending = (_wire("thoughtSignature", snake), part.token.value)
            continue
        body = _encode_part(part, call_names)
        if body is None:
            continue
        if pending is not None:
            if pending[0] in body:
                out.append({pending[0]: pending[1]})
            else:
                body[pending[0]] = pending[1]
            pending = None
        out.append(body)
    if pending is not None:
        out.append({pending[0]: pending[1]})
    return out


def _encode_part(part: Part, call_names: dict[str, str]) -> dict[str, Any] | None:
    if isinstance(part, ProviderPart):
        return dict(part.body) if part.provider == PROVIDER else None
    if isinstance(part, RefusalPart):
        return {"text": part.text}
    if isinstance(part, MediaPart):
        return _encode_media(part)
    details = _gemini(part.provider_details)
    snake = details.get("snake_keys", ())
    if isinstance(part, TextPart):
        body: dict[str, Any] = {"text": part.text}
    elif isinstance(part, ReasoningPart):
        if part.token is not None and part.token.provider != PROVIDER:
            return None  # another vendor's reasoning means nothing here
        body = {"text": part.text, "thought": True}
        if part.token is not None:
            body[_wire("thoughtSignature", snake)] = part.token.value
    elif isinstance(part, ToolCallPart):
        call: dict[str, Any] = {"name": part.name, "args": _call_args(part)}
        if part.id is not None:
            call["id"] = part.id
        call.update(details.get("inner_extra", {}))
        body = {_wire("functionCall", snake): call}
    else:
        body = {_wire("functionResponse", snake): _encode_function_response(part, details, call_names)}
    body.update(details.get("extra", {}))
    return body


def _encode_media(part: MediaPart) -> dict[str, Any]:
    """An inlineData or fileData part."""
    details = _gemini(part.provider_details)
    snake = details.get("snake_keys", ())
    blob: dict[str, Any] = {}
    if part.mime_type is not None:
        blob[_wire("mimeType", snake)] = part.mime_type
    if part.filename is not None:
        blob[_wire("displayName", snake)] = part.filename
    if part.data is not None:
        blob["data"] = part.data
        key = "inlineData"
    elif (uri := part.url or part.file_id) is not None:
        blob[_wire("fileUri", snake)] = uri
        key = "fileData"
    else:
        raise ValueError(f"a {part.media_type} part has no data, url or file id to send")
    blob.update(details.get("inner_extra", {}))
    return {_wire(key, snake): blob, **details.get("extra", {})}


def _call_args(part: ToolCallPart) -> dict[str, Any]:
    if isinstance(part.arguments, dict):
        return part.arguments
    try:
        parsed = json.loads(part.arguments_raw) if part.arguments_raw else {}
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(
            f"tool call {part.name!r} has arguments {part.arguments_raw!r}, not a JSON object; "
            "Gemini takes function arguments as an object only"
        )
    return parsed


def _encode_function_response(
    part: ToolResultPart, details: dict[str, Any], call_names: dict[str, str]
) -> dict[str, Any]:
    name = part.name or (call_names.get(part.call_id) if part.call_id is not None else None)
    if name is None:
        raise ValueError(
            f"tool result for call {part.call_id!r} has no function name and no earlier call matches it; "
            "Gemini needs the name of the function that answered"
        )
    if isinstance(part.value, dict):
        response = part.value
    elif part.value is not None:
        response = {"output": part.value}
    else:
        # Google's convention: "output" holds the result, "error" the failure.
        response = {"error" if part.is_error else "output": part.text}
    result: dict[str, Any] = {"name": name, "response": response}
    if part.call_id is not None:
        result["id"] = part.call_id
    media = [_encode_media(item) for item in part.content if isinstance(item, MediaPart)]
    if media:
        result["parts"] = media
    result.update(details.get("inner_extra", {}))
    return result


# --- requests -----------------------------------------------------------------------------------


def _decode_contents(raw_contents: Any) -> list[Message]:
    messages: list[Message] = []
    for index, raw in enumerate(_array(raw_contents, "contents")):
        path = f"contents[{index}]"
        content = _object(raw, path)
        role = content.get("role")
        if role is not None and role not in _ROLES:
            raise MalformedBody(f"{path}.role", f"expected 'user' or 'model', got {role!r}")
        parts = _decode_parts(content.get("parts", []), f"{path}.parts", None)
        neutral_role = _ROLES[role or "user"]
        if neutral_role == "user" and any(isinstance(part, ToolResultPart) for part in parts):
            neutral_role = "tool"
        details = _pack(no_role=role is None, no_parts="parts" not in content)
        messages.append(Message(role=neutral_role, parts=tuple(parts), provider_details=details))
    return messages


def _encode_contents(messages: Sequence[Message]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = []
    call_names: dict[str, str] = {}
    for message in messages:
        for call in message.tool_calls:
            if call.id is not None:
                call_names[call.id] = call.name
        parts = _encode_parts(message.parts, call_names)
        if message.parts and not parts:
            continue  # everything in it was another vendor's; Gemini rejects empty contents
        details = _gemini(message.provider_details)
        content: dict[str, Any] = {} if details.get("no_parts") else {"parts": parts}
        if not details.get("no_role"):
            content["role"] = _WIRE_ROLES[message.role]
        contents.append(content)
    return contents


def _decode_instructions(raw: Any, options: dict[str, Any]) -> str | None:
    """The system prompt, when it has the one shape we write back; otherwise kept verbatim."""
    instruction = _object(raw, "systemInstruction")
    parts = instruction.get("parts")
    if (
        instruction.keys() == {"parts", "role"}
        and instruction["role"] == "user"
        and isinstance(parts, list)
        and len(parts) == 1
        and isinstance(parts[0], dict)
        and parts[0].keys() == {"text"}
        and isinstance(parts[0]["text"], str)
    ):
        return parts[0]["text"]
    options["systemInstruction"] = instruction
    return None


def _decode_tools(raw_tools: Any) -> list[Tool]:
    # Gemini also takes `tools` as one object instead of an array of them; its first declaration remembers.
    as_object = isinstance(raw_tools, dict)
    tools: list[Tool] = []
    after_declarations = False
    for index, raw in enumerate([raw_tools] if as_object else _array(raw_tools, "tools")):
        path = f"tools[{index}]"
        entry = _object(raw, path)
        if "functionDeclarations" not in entry:
            tools.append(ProviderTool(provider=PROVIDER, body=entry))
            after_declarations = False
            continue
        others = {key: value for key, value in entry.items() if key != "functionDeclarations"}
        if others:
            tools.append(ProviderTool(provider=PROVIDER, body=others))
        declarations = _array(entry["functionDeclarations"], f"{path}.functionDeclarations")
        for position, declaration in enumerate(declarations):
            new_entry = after_declarations and position == 0
            tools.append(_decode_declaration(declaration, f"{path}.functionDeclarations[{position}]", new_entry))
        after_declarations = True
    first = tools[0] if tools else None
    if as_object and isinstance(first, ToolSpec):
        details = _gemini(first.provider_details)
        tools[0] = first.model_copy(update={"provider_details": {PROVIDER: {**details, "tools_object": True}}})
    return tools


def _decode_declaration(raw: Any, path: str, new_entry: bool) -> ToolSpec:
    snake: list[str] = []
    declaration = _camel_view(_object(raw, path), snake)
    name = _string(_required(declaration, "name", path), f"{path}.name")
    del declaration["name"]
    null_description = "description" in declaration and declaration["description"] is None
    description = _optional_string(declaration.pop("description", None), f"{path}.description")
    openapi = None
    if "parametersJsonSchema" in declaration:
        key_path = f"{path}.{_wire('parametersJsonSchema', snake)}"
        parameters = _object(declaration.pop("parametersJsonSchema"), key_path)
    elif "parameters" in declaration:
        openapi = _object(declaration.pop("parameters"), f"{path}.parameters")
        parameters = openapi_to_json_schema(openapi)
    else:
        parameters = _EMPTY_PARAMETERS
    details = _pack(
        snake_keys=snake,
        openapi_schema=openapi,
        extra=declaration,
        no_parameters=parameters is _EMPTY_PARAMETERS,
        new_entry=new_entry,
        null_description=null_description,
    )
    return ToolSpec(name=name, description=description, parameters=parameters, provider_details=details)


def _encode_tools(tools: Sequence[Tool]) -> list[dict[str, Any]] | dict[str, Any]:
    entries: list[dict[str, Any]] = []
    declarations: list[dict[str, Any]] | None = None
    for tool in tools:
        if isinstance(tool, ProviderTool):
            if tool.provider == PROVIDER:
                entries.append(dict(tool.body))
                declarations = None
            continue
        if declarations is None or _gemini(tool.provider_details).get("new_entry"):
            declarations = []
            entries.append({"functionDeclarations": declarations})
        declarations.append(encode_tool(tool))
    first = tools[0] if tools else None
    if len(entries) == 1 and isinstance(first, ToolSpec) and _gemini(first.provider_details).get("tools_object"):
        return entries[0]
    return entries


def encode_tool(spec: ToolSpec) -> dict[str, Any]:
    """A wire-form function declaration: `{"name", "description", "parametersJsonSchema"}`.

    Declarations decoded from Gemini's OpenAPI-subset `parameters` are written back in that form
    (unless the neutral schema was changed since).
    """
    details = _gemini(spec.provider_details)
    snake = details.get("snake_keys", ())
    declaration: dict[str, Any] = {"name": spec.name}
    if spec.description is not None or details.get("null_description"):
        declaration["description"] = spec.description
    openapi = details.get("openapi_schema")
    if openapi is not None and openapi_to_json_schema(openapi) == spec.parameters:
        declaration["parameters"] = openapi
    elif not (details.get("no_parameters") and spec.parameters == _EMPTY_PARAMETERS):
        declaration[_wire("parametersJsonSchema", snake)] = spec.parameters
    declaration.update(details.get("extra", {}))
    return declaration


_CHOICE_MODES: dict[str, Literal["auto", "none", "required"]] = {"AUTO": "auto", "ANY": "required", "NONE": "none"}


def _decode_tool_choice(raw: Any) -> ToolChoice:
    path = "toolConfig.functionCallingConfig"
    config = _object(raw, path)
    mode = _optional_string(config.get("mode"), f"{path}.mode") or "AUTO"
    names = config.get("allowedFunctionNames")
    if names is not None:
        names = [_string(name, f"{path}.allowedFunctionNames[{i}]") for i, name in enumerate(_array(names, path))]
    if mode == "ANY" and names is not None and len(names) == 1:
        return ToolChoice(mode="tool", name=names[0])
    neutral = _CHOICE_MODES.get(mode, "auto")
    canonical = {"required": "ANY", "none": "NONE", "auto": "AUTO"}[neutral]
    details = _pack(mode=mode if mode != canonical else None)
    if names is not None:  # kept even when empty: `[]` is what the sender wrote
        details = {PROVIDER: {**_gemini(details), "allowedFunctionNames": names}}
    return ToolChoice(mode=neutral, provider_details=details)


def _encode_tool_choice(choice: ToolChoice) -> dict[str, Any]:
    details = _gemini(choice.provider_details)
    mode = details.get("mode") or {"auto": "AUTO", "none": "NONE", "required": "ANY", "tool": "ANY"}[choice.mode]
    config: dict[str, Any] = {"mode": mode}
    if choice.mode == "tool" and choice.name is not None:
        config["allowedFunctionNames"] = [choice.name]
    elif "allowedFunctionNames" in details:
        config["allowedFunctionNames"] = details["allowedFunctionNames"]
    return config


_SCHEMA_KEYS = ("responseJsonSchema", "response_json_schema", "responseSchema", "response_schema")


def _decode_output_schema(config: dict[str, Any]) -> OutputSchema | None:
    """The response schema popped from `config`, with the JSON mime type that goes with it."""
    key = next((key for key in _SCHEMA_KEYS if key in config), None)
    if key is None:
        return None
    schema = _object(config.pop(key), f"generationConfig.{key}")
    openapi = schema if _CAMEL.get(key, key) == "responseSchema" else None
    snake = [key] if key in _CAMEL else []
    for mime_key in ("responseMimeType", "response_mime_type"):
        if config.get(mime_key) == "application/json":
            del config[mime_key]
            snake += [mime_key] if mime_key in _CAMEL else []
    json_schema = schema if openapi is None else openapi_to_json_schema(openapi)
    return OutputSchema(json_schema=json_schema, provider_details=_pack(snake_keys=snake, openapi_schema=openapi))


def _encode_output_schema(schema: OutputSchema) -> dict[str, Any]:
    details = _gemini(schema.provider_details)
    snake = details.get("snake_keys", ())
    out: dict[str, Any] = {_wire("responseMimeType", snake): "application/json"}
    openapi = details.get("openapi_schema")
    if openapi is not None and openapi_to_json_schema(openapi) == schema.json_schema:
        out[_wire("responseSchema", snake)] = openapi
    else:
        out[_wire("responseJsonSchema", snake)] = schema.json_schema
    return out


def _decode_generation_config(raw: Any, fields: dict[str, Any], options: dict[str, Any]) -> None:
    config = dict(_object(raw, "generationConfig"))
    path = "generationConfig"
    if "temperature" in config:
        fields["temperature"] = _number(config.pop("temperature"), f"{path}.temperature")
    if "topP" in config:
        fields["top_p"] = _number(config.pop("topP"), f"{path}.topP")
    if "maxOutputTokens" in config:
        fields["max_output_tokens"] = _integer(config.pop("maxOutputTokens"), f"{path}.maxOutputTokens")
    if "seed" in config:
        fields["seed"] = _integer(config.pop("seed"), f"{path}.seed")
    if "stopSequences" in config:
        stops = _array(config.pop("stopSequences"), f"{path}.stopSequences")
        fields["stop"] = tuple(_string(stop, f"{path}.stopSequences[{i}]") for i, stop in enumerate(stops))
    if (schema := _decode_output_schema(config)) is not None:
        fields["output_schema"] = schema
    if config or not raw:  # an empty generationConfig is written back too
        options["generationConfig"] = config


def _encode_generation_config(request: ModelRequest) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if request.temperature is not None:
        config["temperature"] = request.temperature
    if request.top_p is not None:
        config["topP"] = request.top_p
    if request.max_output_tokens is not None:
        config["maxOutputTokens"] = request.max_output_tokens
    if request.seed is not None:
        config["seed"] = request.seed
    if request.stop is not None:
        config["stopSequences"] = list(request.stop)
    if request.output_schema is not None:
        config.update(_encode_output_schema(request.output_schema))
    return config


def _merge(body: dict[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """`body` with `options` merged in: nested objects key by key, anything else replaced."""
    merged = dict(body)
    for key, value in options.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- responses ----------------------------------------------------------------------------------


def _decode_usage(raw: Any) -> Usage:
    usage = _object(raw, "usageMetadata")
    counts = {}
    for key in _USAGE_KEYS:
        if key in usage:
            counts[key] = _integer(usage[key], f"usageMetadata.{key}")
    thoughts = counts.get("thoughtsTokenCount", 0)
    input_tokens = counts.get("promptTokenCount", 0)
    output_tokens = counts.get("candidatesTokenCount", 0) + thoughts
    rest = {key: value for key, value in usage.items() if key not in _USAGE_KEYS}
    if "totalTokenCount" in counts and counts["totalTokenCount"] != _total(input_tokens, output_tokens, rest):
        rest["totalTokenCount"] = counts["totalTokenCount"]
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=counts.get("cachedContentTokenCount", 0),
        reasoning_tokens=thoughts,
        provider_details={PROVIDER: {"usage": rest}} if rest else {},
    )


def _total(input_tokens: int, output_tokens: int, rest: dict[str, Any]) -> int:
    tool_prompt = rest.get("toolUsePromptTokenCount", 0)
    return input_tokens + output_tokens + (tool_prompt if isinstance(tool_prompt, int) else 0)


def _encode_usage(usage: Usage) -> dict[str, Any]:
    rest = dict(_gemini(usage.provider_details).get("usage", {}))
    total = rest.pop("totalTokenCount", None)
    if total is None:
        total = _total(usage.input_tokens, usage.output_tokens, rest)
    # The API leaves zero counts out (proto3 JSON), so do we.
    counts = {
        "promptTokenCount": usage.input_tokens,
        "candidatesTokenCount": usage.output_tokens - usage.reasoning_tokens,
        "cachedContentTokenCount": usage.cached_input_tokens,
        "thoughtsTokenCount": usage.reasoning_tokens,
        "totalTokenCount": total,
    }
    out = {key: value for key, value in counts.items() if value}
    out.update(rest)
    return out


def _stop_reason(finish: str | None, message: Message) -> StopReason | None:
    if finish is None:
        return None
    if finish == "STOP" and message.tool_calls:
        return "tool_calls"
    return _STOP_REASONS.get(finish, "other")


def _finish_reason(response: ModelResponse) -> str | None:
    """The raw finish reason if it is Gemini's (it maps to the stop reason), else the stop reason's."""
    raw = response.raw_stop_reason
    if raw is not None and _stop_reason(raw, response.message) == response.stop_reason:
        return raw
    return _FINISH_REASONS.get(response.stop_reason) if response.stop_reason is not None else None


# --- errors -------------------------------------------------------------------------------------

_STATUS_KINDS: dict[str, ErrorKind] = {
    "RESOURCE_EXHAUSTED": "rate_limited",
    "UNAVAILABLE": "overloaded",
    "INTERNAL": "server_error",
    "UNKNOWN": "server_error",
    "DEADLINE_EXCEEDED": "timeout",
    "CANCELLED": "timeout",
    "UNAUTHENTICATED": "authentication",
    "PERMISSION_DENIED": "permission",
    "NOT_FOUND": "not_found",
    "INVALID_ARGUMENT": "bad_request",
    "FAILED_PRECONDITION": "bad_request",
}
_ADVICE: dict[str, str] = {
    "rate_limited": "wait and retry, or lower the request rate",
    "overloaded": "Gemini is overloaded; retry with backoff or try another model",
    "server_error": "retry later; if it persists, check the Gemini status page",
    "timeout": "the request was cut short; retry, or shorten the request",
    "authentication": "check the API key (GEMINI_API_KEY / GOOGLE_API_KEY) or the Vertex AI credentials",
    "permission": "check that the key or project may use this model and API",
    "not_found": "check the model name (list the models your key can use) and the API version",
    "bad_request": "fix the request; retrying it unchanged will fail again",
    "context_too_long": "shorten the conversation or use a model with a larger context window",
    "content_filtered": "the request was blocked by safety filters; rephrase it or adjust safetySettings",
    "quota_exhausted": "a daily or billing quota is used up; wait for it to reset or raise it in Google Cloud",
}
_CONTEXT_TOO_LONG = re.compile(r"token count.*(exceeds|only supports up to)|exceeds the maximum number of tokens", re.I)
_CONTENT_FILTERED = re.compile(
    r"responsible ai practices|prohibited content|blocked (due to|by) safety|safety filter", re.I
)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _classify(status: int, error: dict[str, Any]) -> tuple[ErrorKind, str | None, float | None]:
    """(kind, vendor type, retry delay from the body) of a Gemini error object."""
    vendor_status = error.get("status") if isinstance(error.get("status"), str) else None
    message = str(error.get("message", ""))
    details = [item for item in error.get("details", []) if isinstance(item, dict)]
    reasons = {item.get("reason") for item in details if str(item.get("@type", "")).endswith("ErrorInfo")}
    delay = None
    for item in details:
        if str(item.get("@type", "")).endswith("RetryInfo") and (match := _DURATION.match(str(item.get("retryDelay")))):
            delay = float(match.group(1))
    kind = _STATUS_KINDS.get(vendor_status or "", kind_from_status(status))
    if "API_KEY_INVALID" in reasons:
        kind = "authentication"
    elif kind == "rate_limited" and _quota_gone(details):
        kind = "quota_exhausted"
    elif kind == "bad_request" and _CONTEXT_TOO_LONG.search(message):
        kind = "context_too_long"
    elif kind == "bad_request" and _CONTENT_FILTERED.search(message):
        kind = "content_filtered"
    vendor_type = next((reason for reason in reasons if isinstance(reason, str)), None) or vendor_status
    return kind, vendor_type, delay


def _quota_gone(details: list[dict[str, Any]]) -> bool:
    """Whether a QuotaFailure names a per-day quota or a zero limit: waiting minutes will not help."""
    for item in details:
        if str(item.get("@type", "")).endswith("QuotaFailure"):
            for violation in item.get("violations", []):
                if isinstance(violation, dict) and (
                    "PerDay" in str(violation.get("quotaId", "")) or str(violation.get("quotaValue")) == "0"
                ):
                    return True
    return False


# --- the adapter --------------------------------------------------------------------------------


class GeminiAdapter:
    """Pure mappings between the neutral model and Gemini's generateContent JSON."""

    name = PROVIDER
    api = API

    def request_path(self, request: ModelRequest, stream: bool = False) -> str:
        """The URL path under the API version: `models/{model}:generateContent` (or the SSE stream)."""
        if not request.model:
            raise ValueError("a Gemini request needs a model name (ModelRequest.model), e.g. 'gemini-2.5-flash'")
        model = request.model if "/" in request.model else f"models/{request.model}"
        return f"{model}:streamGenerateContent?alt=sse" if stream else f"{model}:generateContent"

    def encode_request(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body for `generateContent`; `provider_options["gemini"]` is merged in last."""
        body: dict[str, Any] = {"contents": _encode_contents(request.messages)}
        if request.instructions is not None:
            body["systemInstruction"] = {"parts": [{"text": request.instructions}], "role": "user"}
        if request.tools:
            body["tools"] = _encode_tools(request.tools)
        if request.tool_choice is not None:
            body["toolConfig"] = {"functionCallingConfig": _encode_tool_choice(request.tool_choice)}
        if config := _encode_generation_config(request):
            body["generationConfig"] = config
        options = request.provider_options.get(PROVIDER)
        if options:
            GeminiOptions.model_validate(options)
            body = _merge(body, options)
        return body

    def decode_request(self, body: dict[str, Any]) -> ModelRequest:
        """A neutral request for an existing Gemini body (the model is not in it: None)."""
        from durable_llm.providers.gemini import server  # it imports this module: loaded on use

        return server.decode_request(body)

    def decode_response(self, body: dict[str, Any]) -> ModelResponse:
        """The neutral response for a `generateContent` answer (or a folded stream)."""
        body = _object(body, "body")
        model = _optional_string(body.get("modelVersion"), "modelVersion")
        details: dict[str, Any] = {}
        if extra := {key: value for key, value in body.items() if key not in _RESPONSE_KEYS}:
            details["response"] = extra
        candidates = _array(body.get("candidates", []), "candidates")
        finish = None
        parts: list[Part] = []
        if not candidates:
            details["no_candidates"] = True
            if "candidates" in body:
                details.setdefault("response", {})["candidates"] = []
        else:
            candidate = _object(candidates[0], "candidates[0]")
            finish = _optional_string(candidate.get("finishReason"), "candidates[0].finishReason")
            if "content" in candidate:
                content = _object(candidate["content"], "candidates[0].content")
                parts = _decode_parts(content.get("parts", []), "candidates[0].content.parts", model)
                if content.keys() != {"parts", "role"}:
                    details["content_keys"] = sorted(content)
            else:
                details["content_keys"] = None
            if extra := {key: value for key, value in candidate.items() if key not in ("content", "finishReason")}:
                details["candidate"] = extra
            if len(candidates) > 1:
                details["other_candidates"] = candidates[1:]
        message = Message(role="assistant", parts=tuple(parts))
        feedback = body.get("promptFeedback")
        block = feedback.get("blockReason") if isinstance(feedback, dict) else None
        return ModelResponse(
            id=_optional_string(body.get("responseId"), "responseId"),
            model=model,
            provider=PROVIDER,
            message=message,
            usage=_decode_usage(body["usageMetadata"]) if "usageMetadata" in body else Usage(),
            stop_reason="content_filter" if block else _stop_reason(finish, message),
            raw_stop_reason=finish or block,
            provider_details={PROVIDER: details} if details else {},
        )

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        """The body Gemini would have answered with (what our fake servers send)."""
        from durable_llm.providers.gemini import server  # it imports this module: loaded on use

        return server.encode_response(response)

    def decode_stream(self, sse_text: str) -> ModelResponse:
        """The neutral response for a recorded stream (SSE text, or the JSON array without alt=sse).

        An error object in the stream raises its classified `ProviderError`; a stream that ends
        before the answer's (first candidate's) `finishReason`, or a blocked prompt's `blockReason`,
        was cut short and raises `MalformedBody`.
        """
        return self.decode_events(stream_chunks(sse_text))

    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse:
        """`decode_stream` for chunks already decoded from the stream, in order."""
        chunks = events
        for chunk in chunks:
            if isinstance(error := chunk.get("error"), dict):
                code = error.get("code")
                status = code if isinstance(code, int) else 500
                raise self.decode_error(status, {}, json.dumps(chunk).encode())
        if not any(_ends_the_answer(chunk) for chunk in chunks):
            raise MalformedBody("events", "the stream ended before a chunk gave a finishReason: it was cut short")
        return self.decode_response(fold_chunks(chunks))

    def encode_stream(self, response: ModelResponse) -> str:
        """The text/event-stream Gemini sends for `response` from streamGenerateContent?alt=sse.

        `decode_stream` folds it back.
        """
        from durable_llm.providers.gemini import server  # it imports this module: loaded on use

        return server.encode_stream(response)

    def stream_text(self, event: dict[str, Any]) -> str:
        """The answer text one decoded stream chunk adds ("" for thoughts and anything else).

        The answer is the first candidate (`index` 0), as `decode_stream` folds it.
        """
        return "".join(delta.text for delta in self.stream_deltas(event) if delta.kind == "text")

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        """The typed pieces one decoded chunk adds to the answer (the first candidate): text, thoughts
        as reasoning, and each function call whole (its arguments as JSON text, with its name and id)."""
        candidates = event.get("candidates")
        answer = (
            [c for c in candidates if isinstance(c, dict) and c.get("index", 0) == 0]
            if isinstance(candidates, list)
            else []
        )
        try:
            parts = answer[0]["content"]["parts"]
        except (KeyError, IndexError, TypeError):
            return []
        deltas: list[StreamDelta] = []
        for part in parts if isinstance(parts, list) else []:
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            call = part.get("functionCall", part.get("function_call"))
            if isinstance(text, str) and text:
                deltas.append(StreamDelta("reasoning" if part.get("thought") else "text", text))
            elif isinstance(call, dict) and isinstance(call.get("name"), str):
                call_id = call.get("id")
                arguments = compact_json(call.get("args") or {})
                deltas.append(
                    StreamDelta(
                        "tool_arguments",
                        arguments,
                        call_id=call_id if isinstance(call_id, str) else None,
                        name=call["name"],
                    )
                )
        return deltas

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """The classified error for an HTTP error answer (body may be empty or not JSON)."""
        text, parsed = error_json(body)
        if isinstance(parsed, list) and parsed:
            parsed = parsed[0]  # the JSON-array stream wraps its error object in an array
        error = parsed.get("error") if isinstance(parsed, dict) else None
        if isinstance(error, dict):
            kind, vendor_type, delay = _classify(status, error)
            detail = str(error.get("message") or vendor_type or f"HTTP {status}")
        else:
            kind, vendor_type, delay = kind_from_status(status), None, None
            snippet = " ".join(text.split())[:200]
            detail = f"HTTP {status}" + (f": {snippet}" if snippet else " with an empty body")
        retry_after = retry_after_from_headers(headers)
        if retry_after is None:
            retry_after = delay
        return ERROR_TYPES[kind](
            f"{detail} ({_ADVICE[kind]})",
            provider=PROVIDER,
            status=status,
            retry_after=retry_after,
            vendor_type=vendor_type,
            body=text or None,
        )

    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]:
        """A wire-form function declaration (see the module-level `encode_tool`)."""
        return encode_tool(spec)


def _ends_the_answer(chunk: dict[str, Any]) -> bool:
    """Whether a stream chunk finishes the answer: the first candidate's finishReason, or a blocked prompt."""
    candidates = chunk.get("candidates")
    if isinstance(candidates, list) and any(
        isinstance(c, dict) and c.get("index", 0) == 0 and c.get("finishReason") for c in candidates
    ):
        return True
    feedback = chunk.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


ADAPTER = GeminiAdapter()
"""The Gemini adapter, found by `get_adapter("gemini")`."""
