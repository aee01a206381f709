"""Request fields besides messages, both directions: tools, tool choice, structured output, stop sequences."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from durable_llm.conversation import OutputSchema, ProviderTool, Tool, ToolChoice, ToolSpec, strict_schema
from durable_llm.providers.base import MalformedBody
from durable_llm.providers.openai_chat._common import PROVIDER, details_of, need, pd, pop, restore

_TOOL_CHOICE_MODES = ("auto", "none", "required")


class ChatCompletionsOptions(BaseModel):
    """Chat Completions settings with no neutral field: `ModelRequest.provider_options["openai_chat"]`.

    Merged into the request body as given (neutral fields win on a clash); unknown keys are allowed,
    since every compatible server adds its own (`reasoning_format`, `provider`, `thinking`, ...).
    """

    model_config = ConfigDict(extra="allow")

    reasoning_effort: str | None = None
    """"none", "minimal", "low", "medium" or "high", for reasoning models that take it."""
    parallel_tool_calls: bool | None = None
    n: int | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    """Another format than a JSON schema (`{"type": "json_object"}`); a schema goes in `output_schema`."""
    max_tokens: int | None = None
    """The older name of the output limit, for servers that know only it; `max_output_tokens` is sent as
    `max_completion_tokens`."""
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    service_tier: str | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    prompt_cache_key: str | None = None


def encode_tool(spec: ToolSpec) -> dict[str, Any]:
    """A function tool; strict mode whenever the schema allows it, unless `spec.strict` says otherwise."""
    details = details_of(spec)
    parameters, strict = spec.parameters, spec.strict
    absent = details.get("absent", ())
    if strict is None and "function.strict" not in absent:  # hand-built: strict where the schema allows
        rewritten, _why = strict_schema(parameters)
        parameters, strict = (rewritten, True) if rewritten is not None else (parameters, False)
    function: dict[str, Any] = {"name": spec.name, "parameters": parameters}
    if spec.description is not None:
        function["description"] = spec.description
    if strict is not None:
        function["strict"] = strict
    function_extras = {key: value for key, value in details.items() if key not in ("tool", "absent")}
    function_extras["absent"] = [path.removeprefix("function.") for path in absent if path.startswith("function.")]
    out = {"type": "function", "function": restore(function, function_extras)}
    return restore(out, {**details.get("tool", {}), "absent": [path for path in absent if "." not in path]})


def encode_any_tool(tool: Tool) -> dict[str, Any] | None:
    """A function tool, or a hosted tool of ours verbatim; None for another vendor's hosted tool."""
    if isinstance(tool, ProviderTool):
        return tool.body if tool.provider == PROVIDER else None
    return encode_tool(tool)


def decode_tool(tool: Any, at: str) -> Tool:
    if not isinstance(tool, dict):
        raise MalformedBody(at, "expected a tool object")
    if tool.get("type", "function") != "function" or not isinstance(tool.get("function"), dict):
        return ProviderTool(provider=PROVIDER, body=tool)
    outer = dict(tool)
    absent = [] if outer.pop("type", None) == "function" else ["type"]
    function = dict(outer.pop("function"))
    name = need(function, "name", str, f"{at}.function")
    description = pop(function, "description", str)  # a null one stays as sent
    parameters = pop(function, "parameters", dict)
    if parameters is None and "parameters" not in function:
        absent.append("function.parameters")
    strict = pop(function, "strict", bool)
    if strict is None and "strict" not in function:
        absent.append("function.strict")
    details: dict[str, Any] = dict(function)
    if outer:
        details["tool"] = outer
    if absent:
        details["absent"] = absent
    return ToolSpec(
        name=name,
        description=description,
        strict=strict,
        provider_details=pd(details),
        **({"parameters": parameters} if parameters is not None else {}),
    )


def encode_tool_choice(choice: ToolChoice) -> str | dict[str, Any]:
    raw = details_of(choice).get("tool_choice")
    if raw is not None:
        return raw
    if choice.mode == "tool":
        return {"type": "function", "function": {"name": choice.name}}
    return choice.mode


def decode_tool_choice(rest: dict[str, Any]) -> ToolChoice | None:
    choice = rest.get("tool_choice")
    if isinstance(choice, str) and choice in _TOOL_CHOICE_MODES:
        del rest["tool_choice"]
        return ToolChoice(mode=choice)
    if not isinstance(choice, dict):
        return None  # any other string (Mistral's "any") stays in provider_options
    del rest["tool_choice"]
    function = choice.get("function")
    if (
        choice.keys() == {"type", "function"}
        and choice["type"] == "function"
        and isinstance(function, dict)
        and function.keys() == {"name"}
        and isinstance(function["name"], str)
    ):
        return ToolChoice(mode="tool", name=function["name"])
    # Any other object (allowed_tools, a custom tool, ...) is kept verbatim.
    return ToolChoice(mode="required", provider_details=pd({"tool_choice": choice}))


def encode_output_schema(schema: OutputSchema) -> dict[str, Any]:
    details = details_of(schema)
    inner: dict[str, Any] = {"name": schema.name or "output", "schema": schema.json_schema}
    if schema.description is not None:
        inner["description"] = schema.description
    if schema.strict is not None:
        inner["strict"] = schema.strict
    out = {"type": "json_schema", "json_schema": restore(inner, {k: v for k, v in details.items() if k != "format"})}
    return restore(out, details.get("format", {}))


def decode_output_schema(rest: dict[str, Any]) -> OutputSchema | None:
    """`response_format` of type json_schema with a schema and a name; any other format stays as is."""
    fmt = rest.get("response_format")
    inner = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(inner, dict)
        or not isinstance(inner.get("schema"), dict)
        or not isinstance(inner.get("name"), str)
    ):
        return None
    outer = dict(rest.pop("response_format"))
    del outer["type"]
    details = dict(outer.pop("json_schema"))
    schema = details.pop("schema")
    if outer:
        details["format"] = outer
    return OutputSchema(
        json_schema=schema,
        name=details.pop("name"),
        description=pop(details, "description", str),
        strict=pop(details, "strict", bool),
        provider_details=pd(details),
    )


def decode_stop(rest: dict[str, Any]) -> tuple[str, ...] | None:
    """A list of stop sequences; a single string (or null) stays in provider_options as sent."""
    stop = rest.get("stop")
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        del rest["stop"]
        return tuple(stop)
    return None
