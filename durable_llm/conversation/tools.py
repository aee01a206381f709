"""Tool definitions carried by requests: function tools and vendor-hosted tools."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple

from pydantic import Field, PrivateAttr

from durable_llm.conversation.base import FrozenModel, ProviderDetails
from durable_llm.conversation.schema import omit_nulls_for_defaults, strict_schema

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError as SchemaValidationError


class ArgumentProblem(NamedTuple):
    """One thing wrong with a tool call's arguments.

    `argument` is the path of the value at fault ("contact.phones[0].number"; "" for the
    arguments as a whole), `expected` a sentence saying what it should be, `received` the JSON
    the model sent ("nothing" when it left a required argument out).
    """

    argument: str
    expected: str
    received: str

    def __str__(self) -> str:
        where = f"argument {self.argument!r}" if self.argument else "the arguments"
        return f"{where}: {self.expected}; received {self.received}"


class ToolArgumentError(ValueError):
    """Arguments a model sent that do not fit the tool; the message is written for the model to fix its call."""

    def __init__(self, tool_name: str, problems: Sequence[ArgumentProblem]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(
            f"Invalid arguments for tool {tool_name!r}:\n{lines}\nCorrect the arguments and call the tool again."
        )


class ToolSpec(FrozenModel):
    """A function tool the model may call: its name, description and JSON Schema parameters.

    `strict` is None to let the adapter decide (OpenAI strict mode whenever the schema allows
    it), or the value a decoded vendor request carried.

    A spec made from a Python function (`durable_llm.tool_spec`) also remembers, outside its
    JSON, the function and a validator built from its type hints; equality and serialisation
    only ever see the fields.
    """

    kind: Literal["function"] = "function"
    name: str
    description: str | None = None
    parameters: dict[str, Any] = {"type": "object", "properties": {}}
    strict: bool | None = None
    provider_details: ProviderDetails = Field(default_factory=dict)

    _function: Callable[..., Any] | None = PrivateAttr(default=None)
    _coerce: Callable[[dict[str, Any]], dict[str, Any]] | None = PrivateAttr(default=None)
    _wants_context: bool = PrivateAttr(default=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolSpec):
            return NotImplemented
        return self.__dict__ == other.__dict__

    @property
    def function(self) -> Callable[..., Any] | None:
        """The Python function this spec was made from; None for a spec decoded or deserialised."""
        return self._function

    @property
    def wants_context(self) -> bool:
        """Whether the function takes a leading `durable_llm.ToolContext` (not part of the schema)."""
        return self._wants_context

    @property
    def strict_reason(self) -> str | None:
        """Why the parameters cannot be expressed in OpenAI strict mode; None when they can."""
        return strict_schema(self.parameters)[1]

    def validate_arguments(self, raw: str | dict[str, Any]) -> dict[str, Any]:
        """The arguments of a call to this tool, checked and coerced, or `ToolArgumentError`.

        `raw` is the JSON text the model produced or the already-decoded object. Nulls sent for
        optional arguments that do not admit null (strict mode makes the model send them) mean
        "use the default". A spec made from a function returns the function's types (datetime,
        Enum members, nested models...); a spec known only by its JSON Schema returns the JSON
        values after checking them against the schema (draft 2020-12).
        """
        arguments = omit_nulls_for_defaults(self.parameters, _decode_arguments(self.name, raw))
        if self._coerce is not None:
            return self._coerce(arguments)
        validator = _validator(json.dumps(self.parameters))
        if validator is not None:
            problems = _schema_problems(validator.iter_errors(arguments))
            if problems:
                raise ToolArgumentError(self.name, problems)
        return arguments


class ProviderTool(FrozenModel):
    """A vendor-hosted tool (web search, code execution, ...), kept verbatim for that vendor."""

    kind: Literal["provider"] = "provider"
    provider: str
    body: dict[str, Any]


Tool = Annotated[ToolSpec | ProviderTool, Field(discriminator="kind")]


def quote_received(value: Any) -> str:
    """How a received value is quoted back to the model: compact JSON, shortened when long."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 120 else f"{text[:117]}..."


def _decode_arguments(tool_name: str, raw: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(raw, str):
        if not raw.strip():
            return {}  # some models send "" for a call without arguments
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            expected = (
                "Input should be one JSON object, but this text is not valid JSON "
                f"({error.msg} at line {error.lineno}, column {error.colno})"
            )
            snippet = raw if len(raw) <= 120 else f"{raw[:117]}..."
            raise ToolArgumentError(tool_name, [ArgumentProblem("", expected, snippet)]) from error
    if not isinstance(raw, dict):
        raise ToolArgumentError(
            tool_name, [ArgumentProblem("", "Input should be one JSON object of named arguments", quote_received(raw))]
        )
    return raw


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> Draft202012Validator | None:
    """A validator for a parameters schema, or None when the schema itself is not valid JSON Schema."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    schema = json.loads(schema_json)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError:
        return None  # a vendor accepted this schema; checking calls against it would only guess
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


_COMPARISONS = {
    "minimum": "greater than or equal to",
    "maximum": "less than or equal to",
    "exclusiveMinimum": "greater than",
    "exclusiveMaximum": "less than",
    "multipleOf": "a multiple of",
}
_COUNTS = {
    "minLength": ("at least", "characters"),
    "maxLength": ("at most", "characters"),
    "minItems": ("at least", "items"),
    "maxItems": ("at most", "items"),
    "minProperties": ("at least", "fields"),
    "maxProperties": ("at most", "fields"),
}


def _schema_problems(errors: Iterable[SchemaValidationError]) -> list[ArgumentProblem]:
    problems: dict[ArgumentProblem, None] = {}  # ordered and without the duplicates `required` yields
    for error in errors:
        problems.update(dict.fromkeys(_describe(error)))
    return list(problems)


def _describe(error: SchemaValidationError) -> list[ArgumentProblem]:
    path = argument_path(error.absolute_path)
    keyword = error.validator
    value: Any = error.validator_value
    instance: Any = error.instance
    if keyword == "required":
        field = "argument" if not path else "field"
        return [
            ArgumentProblem(_join(path, name), f"This {field} is required", "nothing")
            for name in value
            if name not in instance
        ]
    if keyword == "additionalProperties":
        schema: Any = error.schema
        known = list(schema.get("properties", {}))
        what = "argument" if not path else "field"
        hint = f"the known ones are: {', '.join(known)}" if known else "there are none"
        return [
            ArgumentProblem(_join(path, name), f"Unknown {what}; {hint}", quote_received(instance[name]))
            for name in instance
            if name not in known
        ]
    if keyword in ("anyOf", "oneOf") and error.context:
        branch_errors = [sub for sub in error.context if sub.absolute_path == error.absolute_path]
        if len(branch_errors) == len(error.context) and all(sub.validator == "type" for sub in branch_errors):
            types = [t for sub in branch_errors for t in _as_list(sub.validator_value)]
            return [ArgumentProblem(path, f"Input should be of type {' or '.join(types)}", quote_received(instance))]
        deepest = max(error.context, key=lambda sub: len(sub.absolute_path))
        return _describe(deepest)
    return [ArgumentProblem(path, _expectation(str(keyword), value, error.message), quote_received(instance))]


def _expectation(keyword: str, value: Any, message: str) -> str:
    if keyword == "type":
        return f"Input should be of type {' or '.join(_as_list(value))}"
    if keyword == "enum":
        return f"Input should be one of {', '.join(json.dumps(v) for v in value)}"
    if keyword == "const":
        return f"Input should be {json.dumps(value)}"
    if keyword in _COMPARISONS:
        return f"Input should be {_COMPARISONS[keyword]} {value}"
    if keyword in _COUNTS:
        bound, unit = _COUNTS[keyword]
        return f"Input should have {bound} {value} {unit}"
    if keyword == "pattern":
        return f"Input should match the pattern {value!r}"
    if keyword == "format":
        return f"Input should be a string in the {value!r} format"
    if keyword == "uniqueItems":
        return "Input items should all be different"
    return message


def argument_path(loc: Iterable[str | int]) -> str:
    """A location inside the arguments as the model would write it: `contact.phones[0].number`."""
    path = ""
    for item in loc:
        path = f"{path}[{item}]" if isinstance(item, int) else _join(path, item)
    return path


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
