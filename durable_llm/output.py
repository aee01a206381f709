"""Structured output: the type an agent's final answer must have, how the model is asked for it, how it is checked.

`Agent(output_type=Refund)` keeps two things: an `OutputSpec` (the JSON schema, which serialises
with the agent into workflow histories) and the Python type itself (never serialised). Where the
type is at hand (the `Agent` object your code built, e.g. in `run_agent` inside your workflow) the
answer is validated with pydantic and becomes a `Refund`; where only the schema travelled (an
`AgentWorkflow` started from a client) it is validated against the schema and stays JSON, which the
client reads back typed with `AgentResult[Refund]` or `result.output_as(Refund)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import JsonValue, TypeAdapter, ValidationError

from durable_llm.conversation import (
    FrozenModel,
    Message,
    OutputSchema,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
)
from durable_llm.conversation.schema import omit_nulls_for_defaults, strict_schema

FINAL_ANSWER_TOOL = "final_answer"
"""With `output_mode="tool"`, the tool the model calls with its answer as the arguments."""

WRAPPER_KEY = "result"
"""The one property a non-object answer is wrapped in (vendors take only an object schema at the root)."""

OutputValidator = Callable[[Any], Any]
"""A function given the validated answer; returns it (or a replacement) or raises `OutputRejected`."""


class OutputRejected(Exception):
    """Raised by an output validator: the answer is refused and `message` goes back to the model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class OutputInvalid(Exception):
    """The model's answer is not JSON of the output type; the message tells the model what to fix."""


class OutputSpec(FrozenModel):
    """The JSON schema an agent's final answer must match: the serialisable half of `output_type`.

    `wrapped`: the type's schema is not an object (a list, a number, a string...), so the model is
    asked for `{"result": <value>}` and the value is taken out of it.
    """

    name: str
    json_schema: dict[str, JsonValue]
    wrapped: bool = False

    @classmethod
    def for_type(cls, output_type: Any) -> OutputSpec:
        """The spec of a pydantic model, dataclass, TypedDict, `list[...]` or primitive type."""
        try:
            schema = TypeAdapter(output_type).json_schema()
        except Exception as err:
            raise ValueError(
                f"output_type {output_type!r} has no JSON schema ({err}); use a pydantic model, dataclass, "
                "TypedDict, list[...] or a primitive such as int or str"
            ) from err
        name = re.sub(r"[^A-Za-z0-9_-]", "_", getattr(output_type, "__name__", "") or "output")[:64] or "output"
        return cls(name=name, json_schema=schema, wrapped=schema.get("type") != "object")

    def request_schema(self) -> OutputSchema:
        """What the model is asked for: strict (closed objects, every property required) when the schema allows."""
        schema: dict[str, Any] = dict(self.json_schema)
        if self.wrapped:
            defs = schema.pop("$defs", None)
            schema = {"type": "object", "properties": {WRAPPER_KEY: schema}, "required": [WRAPPER_KEY]}
            if defs is not None:
                schema["$defs"] = defs
        strict, _why = strict_schema(schema)
        return OutputSchema(name=self.name, json_schema=strict or schema, strict=True if strict else None)

    def parse(self, text: str) -> Any:
        """The JSON value of an answer, unwrapped, without the nulls strict mode sent for defaults.

        Raises `OutputInvalid` if it is not JSON of the requested shape.
        """
        try:
            value = json.loads(_without_fence(text))
        except ValueError as err:
            raise OutputInvalid(f"the answer is not valid JSON ({err}); answer with JSON only") from None
        if self.wrapped:
            if not isinstance(value, dict) or WRAPPER_KEY not in value:
                raise OutputInvalid(f'the answer must be a JSON object {{"{WRAPPER_KEY}": ...}}')
            value = value[WRAPPER_KEY]
        return omit_nulls_for_defaults(dict(self.json_schema), value)


def final_answer_tool(spec: OutputSpec) -> ToolSpec:
    """The tool a model without native structured output answers through (`output_mode="tool"`)."""
    schema = spec.request_schema()
    return ToolSpec(
        name=FINAL_ANSWER_TOOL,
        description=f"Give your final answer (a {spec.name}) as this tool's arguments. Call it once you know it.",
        parameters=schema.json_schema,
    )


def answer_of(message: Message, tool_mode: bool) -> tuple[str, ToolCallPart | None] | None:
    """The final answer a model message holds (its JSON, and the call it came in), or None if it holds none.

    Natively the answer is a message without tool calls; in tool mode, a call to `final_answer`
    (or, leniently, a message without calls).
    """
    calls = message.tool_calls
    if not calls:
        return message.text, None
    if tool_mode:
        call = next((c for c in calls if c.name == FINAL_ANSWER_TOOL), None)
        if call is not None:
            return call.arguments_raw, call
    return None


def answer_results(
    calls: tuple[ToolCallPart, ...], answer: ToolCallPart, problem: OutputInvalid | None
) -> tuple[ToolResultPart, ...]:
    """The results of a turn answered through `final_answer`: the answer accepted or refused, other calls not run."""

    def result(call: ToolCallPart) -> ToolResultPart:
        if call is answer:
            text, error = ("answer accepted", False) if problem is None else (retry_prompt(str(problem)), True)
        else:
            text, error = "not run: the final answer was given in the same turn", True
        return ToolResultPart(call_id=call.id, name=call.name, content=(TextPart(text=text),), is_error=error)

    return tuple(result(call) for call in calls)


def check_output(
    spec: OutputSpec, text: str, output_type: Any = None, validators: Sequence[OutputValidator] = ()
) -> Any:
    """The final answer as a value of `output_type` (or, without the type, as JSON valid against the schema).

    Raises `OutputInvalid` with what the model should fix: errors of validation or a validator's message.
    """
    value = spec.parse(text)
    if output_type is not None:
        try:
            value = TypeAdapter(output_type).validate_python(value)
        except ValidationError as err:
            raise OutputInvalid(_pydantic_errors(err)) from None
    else:
        value = _check_schema(dict(spec.json_schema), value)
    for validate in validators:
        try:
            value = validate(value)
        except OutputRejected as err:
            raise OutputInvalid(err.message) from None
    return value


def _check_schema(schema: dict[str, Any], value: Any) -> Any:
    from jsonschema import Draft202012Validator  # passed through the workflow sandbox by the plugin

    errors = sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"- {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:20]]
        raise OutputInvalid("the answer does not match the schema:\n" + "\n".join(lines))
    return value


def _pydantic_errors(err: ValidationError) -> str:
    lines = [
        f"- {'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
        for e in err.errors(include_url=False, include_input=False)[:20]
    ]
    return "the answer does not match the schema:\n" + "\n".join(lines)


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _without_fence(text: str) -> str:
    """The answer without a markdown code fence around it (a model without native structured output may add one)."""
    text = text.strip()
    match = _FENCE.match(text)
    return match.group(1) if match else text


def retry_prompt(problem: str) -> str:
    """The user message that asks the model for a corrected answer."""
    return f"Your answer was not accepted: {problem}\nAnswer again with JSON that fixes this."
