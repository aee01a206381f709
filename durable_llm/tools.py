"""Plain typed Python functions as tools: a `ToolSpec` from the signature and the docstring.

`tool_spec(fn)` builds a pydantic model of the signature (the types) and reads the docstring
(Google, NumPy, Sphinx or Epydoc; the descriptions), then keeps a JSON Schema simple enough for
every vendor: nested objects inlined, no titles, optional parameters with defaults. The model is
kept on the spec, so `spec.validate_arguments` hands the function its own types back.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import types
import typing
import warnings
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, NamedTuple, TypeVar, Union, overload

import typing_extensions
from docstring_parser import ParseError, epydoc, numpydoc, rest
from docstring_parser.common import Docstring
from docstring_parser.google import DEFAULT_SECTIONS, GoogleParser, Section, SectionType
from pydantic import BaseModel, ConfigDict, Field, PydanticUserError, TypeAdapter, ValidationError, create_model
from pydantic.errors import PydanticSchemaGenerationError
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from durable_llm.conversation.tools import (
    ArgumentProblem,
    ToolArgumentError,
    ToolSpec,
    argument_path,
    quote_received,
)

__all__ = [
    "MissingDocstringWarning",
    "ToolArgumentError",
    "ToolContext",
    "ToolDefinitionError",
    "schema_tool_spec",
    "tool",
    "tool_spec",
]

TOOL_ATTRIBUTE = "__durable_llm_tool__"
"""Where `@tool` keeps the spec on the function."""

F = TypeVar("F", bound=Callable[..., Any])


class ToolDefinitionError(TypeError):
    """A function that cannot be described to a model as a tool; the message names the parameter at fault."""


class MissingDocstringWarning(UserWarning):
    """A tool without a docstring: it works, but the model sees no description of it or its parameters."""


@dataclasses.dataclass(frozen=True)
class ToolContext:
    """What the agent loop tells a tool about the call it is running.

    Declare it as a tool's first parameter (`def lookup(ctx: ToolContext, city: str)`) to receive
    it; it is not part of the schema the model sees.
    """

    tool_call_id: str
    tool_name: str
    agent_name: str | None = None
    workflow_id: str | None = None

    def heartbeat(self, *details: Any) -> None:
        """Tell Temporal a long tool is still alive (with progress `details`); a no-op outside an activity."""
        from temporalio import activity

        if activity.in_activity():
            activity.heartbeat(*details)


def tool_spec(fn: Callable[..., Any], *, name: str | None = None, description: str | None = None) -> ToolSpec:
    """The `ToolSpec` describing `fn` to a model; `name` and `description` override the function's own.

    Raises `ToolDefinitionError` for what a model cannot call (`*args`, `**kwargs`, positional-only
    or un-annotated parameters) and warns (`MissingDocstringWarning`) when there is no docstring.
    """
    attached = getattr(fn, TOOL_ATTRIBUTE, None)
    if isinstance(attached, ToolSpec) and name is None and description is None:
        if attached.function is fn:
            return attached
        # `@tool` on a method saw the plain function; the spec must call the bound method.
        bound = attached.model_copy()
        bound._function = fn
        return bound
    return _build(fn, name=name, description=description, stacklevel=3)


def schema_tool_spec(name: str, description: str | None, schema: Mapping[str, Any]) -> ToolSpec:
    """The `ToolSpec` of a tool known only by its JSON Schema (e.g. an MCP server's `inputSchema`).

    The schema is cleaned as a function's is (definitions inlined unless recursive, no titles,
    nullable unions as type lists), so it renders for every vendor; calls are checked against it.
    Raises `ToolDefinitionError` for a name some vendor refuses or a schema that is not an object's.
    """
    if not _is_portable_name(name):
        raise ToolDefinitionError(
            f"tool name {name!r} is not accepted by every vendor: use 1 to 64 ASCII letters, digits, "
            "'_' or '-', starting with a letter or '_'"
        )
    if schema.get("type", "object") != "object":
        raise ToolDefinitionError(f"tool {name!r}: its parameters must be a JSON object schema, not {dict(schema)}")
    generated = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    definitions = generated.pop("$defs", None) or {}
    kept: dict[str, Any] = {}
    body = _tidy(_inline(generated, definitions, kept, frozenset()))
    parameters: dict[str, Any] = {**body, "type": "object", "properties": body.get("properties", {})}
    if kept:
        parameters["$defs"] = {key: _tidy(definition) for key, definition in kept.items()}
    return ToolSpec(name=name, description=description or None, parameters=parameters)


@overload
def tool(fn: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...
def tool(fn: F | None = None, /, *, name: str | None = None, description: str | None = None) -> F | Callable[[F], F]:
    """Mark a function as a tool: `@tool` or `@tool(name=..., description=...)`.

    The function is returned unchanged (sync stays sync, async stays async), with its spec in
    `fn.__durable_llm_tool__`; `tool_spec(fn)` returns that spec.
    """

    def attach(function: F) -> F:
        spec = _build(function, name=name, description=description, stacklevel=3 if fn is None else 4)
        target: Any = function
        holder = target.__func__ if isinstance(target, classmethod | staticmethod | types.MethodType) else target
        try:
            setattr(holder, TOOL_ATTRIBUTE, spec)
        except (AttributeError, TypeError):
            return typing.cast(F, _wrapper(function, spec))
        return function

    return attach if fn is None else attach(fn)


def _wrapper(function: Callable[..., Any], spec: ToolSpec) -> Callable[..., Any]:
    """A transparent wrapper for callables that take no attributes (builtins, slotted instances)."""
    if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(type(function).__call__):

        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await function(*args, **kwargs)

        wrapper: Callable[..., Any] = call_async
    else:

        def call(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        wrapper = call
    functools.update_wrapper(wrapper, function)
    setattr(wrapper, TOOL_ATTRIBUTE, spec)
    return wrapper


# --- from a callable to a spec ------------------------------------------------------------------


def _build(fn: Callable[..., Any], *, name: str | None, description: str | None, stacklevel: int) -> ToolSpec:
    function = _underlying_function(fn)
    tool_name = name or _default_name(fn, function)
    if not _is_portable_name(tool_name):
        raise ToolDefinitionError(
            f"tool name {tool_name!r} is not accepted by every vendor: use 1 to 64 ASCII letters, digits, "
            "'_' or '-', starting with a letter or '_' (pass name=... to choose another)"
        )
    parameters = _parameters(fn, function)
    hints = _type_hints(tool_name, function)
    doc = _docstring_of(fn, function)
    if doc is None and description is None:
        warnings.warn(
            MissingDocstringWarning(
                f"tool {tool_name!r} has no docstring: the model sees no description of it or its parameters"
            ),
            stacklevel=stacklevel,
        )
    documented = _parse_docstring(doc)

    wants_context = bool(parameters) and _is_context(hints.get(parameters[0].name))
    if wants_context:
        parameters = parameters[1:]
    fields = {
        f"p{index}": _field(tool_name, parameter, hints, documented.params)
        for index, parameter in enumerate(parameters)
    }
    model = _arguments_model(tool_name, fields)

    spec = ToolSpec(
        name=tool_name,
        description=(description if description is not None else documented.description) or None,
        parameters=_parameters_schema(tool_name, model),
    )
    spec._function = fn
    spec._coerce = functools.partial(_coerce, tool_name, model)
    spec._wants_context = wants_context
    return spec


def _underlying_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The plain function whose annotations and docstring describe `fn`."""
    if isinstance(fn, functools.partial):
        return _underlying_function(fn.func)
    if isinstance(fn, classmethod | staticmethod | types.MethodType):
        return inspect.unwrap(fn.__func__)
    if inspect.isfunction(fn) or inspect.isbuiltin(fn):
        return inspect.unwrap(fn)
    if callable(fn):
        return inspect.unwrap(type(fn).__call__)
    raise ToolDefinitionError(f"{fn!r} is not callable, so it cannot be a tool")


def _default_name(fn: Callable[..., Any], function: Callable[..., Any]) -> str:
    if inspect.isroutine(fn) or isinstance(fn, functools.partial | classmethod | staticmethod):
        return function.__name__
    return type(fn).__name__  # a callable instance is named after its class


def _is_portable_name(name: str) -> bool:
    # OpenAI and Anthropic accept [a-zA-Z0-9_-]{1,64}; Gemini also wants a letter or '_' first.
    return (
        0 < len(name) <= 64
        and name.isascii()
        and (name[0].isalpha() or name[0] == "_")
        and all(c.isalnum() or c in "_-" for c in name)
    )


def _parameters(fn: Callable[..., Any], function: Callable[..., Any]) -> list[inspect.Parameter]:
    target = fn.__func__ if isinstance(fn, classmethod | staticmethod) else fn
    try:
        parameters = list(inspect.signature(target).parameters.values())
    except (TypeError, ValueError) as error:
        raise ToolDefinitionError(f"cannot read the signature of {fn!r}: {error}") from error
    # An unbound method (`@tool` in a class body, or a raw classmethod): the model never sends self/cls.
    first = parameters[0] if parameters else None
    if (
        first is not None
        and first.name in ("self", "cls")
        and first.annotation is inspect.Parameter.empty
        and (isinstance(fn, classmethod) or _defined_in_class(function))
        and not inspect.ismethod(fn)
    ):
        parameters = parameters[1:]
    return parameters


def _defined_in_class(function: Callable[..., Any]) -> bool:
    qualname = getattr(function, "__qualname__", "")
    owner = qualname.rpartition(".")[0]
    return bool(owner) and not owner.endswith("<locals>")


def _type_hints(tool_name: str, function: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function, include_extras=True)
    except Exception as error:  # NameError for an unknown name in a string annotation, and kin
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot resolve its type annotations: {error}") from error


def _docstring_of(fn: Callable[..., Any], function: Callable[..., Any]) -> str | None:
    doc = inspect.getdoc(function)
    if doc is None and not inspect.isroutine(fn) and not isinstance(fn, functools.partial):
        doc = inspect.getdoc(type(fn))
    return doc or None


def _is_context(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return isinstance(annotation, type) and issubclass(annotation, ToolContext)


def _field(
    tool_name: str, parameter: inspect.Parameter, hints: Mapping[str, Any], docs: Mapping[str, str]
) -> tuple[Any, Any]:
    """The pydantic field for one parameter: (annotation with alias and description, default)."""
    where = f"tool {tool_name!r}, parameter {parameter.name!r}"
    if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
        raise ToolDefinitionError(
            f"{where}: *{parameter.name} cannot be sent by a model, which calls tools with named arguments; "
            f"take a list instead ({parameter.name}: list[...])"
        )
    if parameter.kind is inspect.Parameter.VAR_KEYWORD:
        raise ToolDefinitionError(
            f"{where}: **{parameter.name} has no schema a model could follow; "
            "declare each argument, or take a dict or a model"
        )
    if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
        raise ToolDefinitionError(f"{where}: is positional-only, but tools are called with named arguments")
    if parameter.name not in hints:
        raise ToolDefinitionError(f"{where}: has no type annotation; annotate it so the model knows what to send")
    annotation = hints[parameter.name]
    if _is_context(annotation):
        raise ToolDefinitionError(f"{where}: a ToolContext parameter must come first")
    default = ... if parameter.default is inspect.Parameter.empty else parameter.default
    if default is None and not _admits_none(annotation):
        annotation = annotation | None  # `timeout: float = None` means an optional float
    annotation = _pydantic_compatible(annotation)
    metadata: dict[str, Any] = {"alias": parameter.name}
    if parameter.name in docs and not _has_description(annotation, default):
        metadata["description"] = docs[parameter.name]
    return Annotated[annotation, Field(**metadata)], default


def _admits_none(annotation: Any) -> bool:
    if typing.get_origin(annotation) is Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if annotation is None or annotation is type(None) or annotation is Any:
        return True
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return any(_admits_none(arg) for arg in typing.get_args(annotation))
    return False


def _has_description(annotation: Any, default: Any) -> bool:
    infos = [*getattr(annotation, "__metadata__", ()), default]
    return any(isinstance(info, FieldInfo) and info.description for info in infos)


def _pydantic_compatible(annotation: Any) -> Any:
    """`annotation` with stdlib `typing.TypedDict`s (refused by pydantic before Python 3.12) rebuilt."""
    if sys.version_info >= (3, 12):
        return annotation
    if typing.is_typeddict(annotation) and type(annotation).__module__ == "typing":
        return _extensions_typed_dict(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None or origin is Literal or not args:
        return annotation
    if origin is Annotated:
        return Annotated[(_pydantic_compatible(args[0]), *annotation.__metadata__)]  # type: ignore[misc]
    rebuilt = tuple(_pydantic_compatible(arg) for arg in args)
    if rebuilt == args:
        return annotation
    if origin in (Union, types.UnionType):
        return Union[rebuilt]  # noqa: UP007  (the | operator takes two operands, not a tuple)
    return origin[rebuilt[0] if len(rebuilt) == 1 else rebuilt]


def _extensions_typed_dict(cls: Any) -> Any:
    fields = {}
    for key, hint in typing.get_type_hints(cls, include_extras=True).items():
        # The wrapper decides; __required_keys__ misses it when annotations are strings.
        required = key in cls.__required_keys__
        while typing.get_origin(hint) in (typing.Required, typing.NotRequired):
            required = typing.get_origin(hint) is typing.Required
            hint = typing.get_args(hint)[0]
        hint = _pydantic_compatible(hint)
        fields[key] = hint if required else typing_extensions.NotRequired[hint]
    rebuilt: Any = typing_extensions.TypedDict(cls.__name__, fields)  # type: ignore[operator]
    rebuilt.__doc__, rebuilt.__module__, rebuilt.__qualname__ = cls.__doc__, cls.__module__, cls.__qualname__
    return rebuilt


def _arguments_model(tool_name: str, fields: dict[str, Any]) -> type[BaseModel]:
    # Fields are named p0, p1... and aliased to the parameter names, so any name (`json`,
    # `model_config`, `copy`) works without clashing with BaseModel's own attributes.
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=False)
    try:
        return create_model(f"{tool_name}_arguments", __config__=config, **fields)
    except (PydanticSchemaGenerationError, PydanticUserError) as error:
        for annotation, _default in fields.values():
            try:
                TypeAdapter(annotation)
            except (PydanticSchemaGenerationError, PydanticUserError):
                alias = typing.get_args(annotation)[-1].alias
                reason = str(error).splitlines()[0]
                raise ToolDefinitionError(
                    f"tool {tool_name!r}, parameter {alias!r}: its type cannot be validated from JSON: {reason}"
                ) from error
        raise ToolDefinitionError(f"tool {tool_name!r}: {error}") from error


def _coerce(tool_name: str, model: type[BaseModel], arguments: dict[str, Any]) -> dict[str, Any]:
    """Validate decoded arguments with the signature's model: the function's own types, by parameter name."""
    try:
        instance = model.model_validate(arguments)
    except ValidationError as error:
        known = [field.alias or name for name, field in model.model_fields.items()]
        raise ToolArgumentError(tool_name, _problems(error, arguments, known)) from error
    return {field.alias or name: getattr(instance, name) for name, field in model.model_fields.items()}


def _problems(error: ValidationError, arguments: dict[str, Any], known: list[str]) -> list[ArgumentProblem]:
    by_path: dict[str, tuple[list[str], str]] = {}
    for detail in error.errors(include_url=False):
        path = argument_path(_value_location(detail["loc"], arguments))
        top_level = "." not in path and "[" not in path
        if detail["type"] == "missing":
            expected, got = f"This {'argument' if top_level else 'field'} is required", "nothing"
        elif detail["type"] == "extra_forbidden":
            hint = f"; the known ones are: {', '.join(known)}" if top_level else ""
            expected, got = f"Unknown {'argument' if top_level else 'field'}{hint}", quote_received(detail["input"])
        else:
            expected, got = detail["msg"], quote_received(detail["input"])
        # A union fails once per member at the same place: say it once, with every alternative.
        by_path.setdefault(path, ([], got))[0].append(expected)
    return [ArgumentProblem(path, _alternatives(expected), got) for path, (expected, got) in by_path.items()]


def _value_location(loc: tuple[str | int, ...], arguments: Any) -> list[str | int]:
    """The part of a pydantic error location that walks the value, without union member tags."""
    located: list[str | int] = []
    value = arguments
    for index, item in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(value, dict) and isinstance(item, str) and (item in value or last):
            located.append(item)
            value = value.get(item)
        elif isinstance(value, list) and isinstance(item, int) and item < len(value):
            located.append(item)
            value = value[item]
        # Anything else names a union member ("int", "list[str]", "Contact"), not a place in the value.
    return located


def _alternatives(expected: list[str]) -> str:
    unique = list(dict.fromkeys(expected))
    prefix = "Input should be "
    if len(unique) > 1 and all(text.startswith(prefix) for text in unique):
        return prefix + " or ".join(text[len(prefix) :] for text in unique)
    return "; or ".join(unique)


# --- docstrings ---------------------------------------------------------------------------------


class _Documented(NamedTuple):
    description: str | None
    params: dict[str, str]


_EXTRA_GOOGLE_PARAM_SECTIONS = ("Keyword Args", "Keyword Arguments", "Kwargs", "Other Parameters", "Other Args")
_GOOGLE = GoogleParser(
    sections=[
        *DEFAULT_SECTIONS,
        *(Section(title, "param", SectionType.MULTIPLE) for title in _EXTRA_GOOGLE_PARAM_SECTIONS),
    ]
)
# Tried in docstring_parser's AUTO order; the parse that finds the most sections wins.
_PARSERS: tuple[Callable[[str], Docstring], ...] = (rest.parse, _GOOGLE.parse, numpydoc.parse, epydoc.parse)


def _parse_docstring(doc: str | None) -> _Documented:
    """The description (summary and long description, whole) and the parameter descriptions."""
    if not doc:
        return _Documented(None, {})
    parsed: list[Docstring] = []
    for parse in _PARSERS:
        try:
            parsed.append(parse(doc))
        except ParseError:
            continue
    if not parsed:
        return _Documented(doc, {})
    best = max(parsed, key=lambda docstring: len(docstring.meta))
    summary, details = best.short_description, best.long_description
    separator = "\n\n" if best.blank_after_short_description else "\n"
    description = separator.join(text for text in (summary, details) if text) or None
    params = {
        param.arg_name.lstrip("*"): _unwrap_lines(param.description)
        for param in best.params
        if param.description and param.arg_name
    }
    return _Documented(description, params)


def _unwrap_lines(text: str) -> str:
    """Continuation lines joined into one line per paragraph."""
    paragraphs = (" ".join(paragraph.split()) for paragraph in text.split("\n\n"))
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)


# --- JSON Schema ----------------------------------------------------------------------------------


class _DocumentedJsonSchema(GenerateJsonSchema):
    """Pydantic's generator, with field descriptions from a class docstring's Attributes section."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        cls = schema["cls"]
        aliases = {name: field.alias or name for name, field in cls.model_fields.items()}
        return _document(super().model_schema(schema), cls, aliases)

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        return _document(super().dataclass_schema(schema), schema["cls"], {})

    def typed_dict_schema(self, schema: core_schema.TypedDictSchema) -> JsonSchemaValue:
        cls = schema.get("cls")
        json_schema = super().typed_dict_schema(schema)
        return json_schema if cls is None else _document(json_schema, cls, {})


def _document(json_schema: JsonSchemaValue, cls: type, aliases: Mapping[str, str]) -> JsonSchemaValue:
    doc = cls.__dict__.get("__doc__")
    if not doc or (dataclasses.is_dataclass(cls) and doc.startswith(f"{cls.__name__}(")):
        return json_schema  # none, or the signature dataclasses writes in its place
    documented = _parse_docstring(inspect.cleandoc(doc))
    json_schema.pop("description", None)
    if documented.description:
        json_schema["description"] = documented.description
    properties = json_schema.get("properties", {})
    for name, text in documented.params.items():
        prop = properties.get(aliases.get(name, name))
        if isinstance(prop, dict) and "description" not in prop:
            prop["description"] = text
    return json_schema


def _parameters_schema(tool_name: str, model: type[BaseModel]) -> dict[str, Any]:
    """The parameters object schema: nested objects inlined (`$defs` kept only for recursive types)."""
    try:
        generated = model.model_json_schema(schema_generator=_DocumentedJsonSchema)
    except Exception as error:  # PydanticInvalidForJsonSchema and kin: a type with no JSON form
        raise ToolDefinitionError(f"tool {tool_name!r}: a parameter's type has no JSON Schema: {error}") from error
    definitions = generated.pop("$defs", {})
    kept: dict[str, Any] = {}
    body = _tidy(_inline(generated, definitions, kept, frozenset()))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": body.get("properties", {}),
        "required": body.get("required", []),
        "additionalProperties": False,
    }
    if kept:
        schema["$defs"] = {name: _tidy(definition) for name, definition in kept.items()}
    return schema


_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = (
    "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedItems", "unevaluatedProperties",
)  # fmt: skip


def _map_subschemas(schema: dict[str, Any], change: Callable[[Any], Any]) -> dict[str, Any]:
    """`schema` with `change` applied to each subschema it directly holds (never to property names)."""
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: change(sub) for name, sub in schema[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            out[key] = [change(sub) for sub in schema[key]]
    for key in _SCHEMA_VALUES:
        if isinstance(schema.get(key), dict):
            out[key] = change(schema[key])
    return out


def _inline(schema: Any, definitions: dict[str, Any], kept: dict[str, Any], expanding: frozenset[str]) -> Any:
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        siblings = _map_subschemas(
            {k: v for k, v in schema.items() if k != "$ref"}, _inliner(definitions, kept, expanding)
        )
        if name in expanding:  # a recursive type: keep one definition at the root and refer to it
            if name not in kept:
                kept[name] = {}
                kept[name] = _inline(definitions[name], definitions, kept, frozenset({name}))
            return {"$ref": ref, **siblings}
        # The reference's own keywords (the parameter's description) win over the definition's.
        return {**_inline(definitions[name], definitions, kept, expanding | {name}), **siblings}
    return _map_subschemas(schema, _inliner(definitions, kept, expanding))


def _inliner(definitions: dict[str, Any], kept: dict[str, Any], expanding: frozenset[str]) -> Callable[[Any], Any]:
    return lambda sub: _inline(sub, definitions, kept, expanding)


def _tidy(schema: Any) -> Any:
    """The plain form of a pydantic schema: no titles, `const` as a one-value `enum`, `anyOf [X, null]`
    as a type list, discriminated `oneOf` as `anyOf`, a same-typed tuple as `items`."""
    if not isinstance(schema, dict):
        return schema
    schema = _map_subschemas({k: v for k, v in schema.items() if k != "title"}, _tidy)
    if "const" in schema and "enum" not in schema:
        schema["enum"] = [schema.pop("const")]
    if "discriminator" in schema:
        # Pydantic's OpenAPI-style tag: its mapping points at definitions now inlined, and the tag
        # already makes the branches exclusive, so anyOf says the same in plainer JSON Schema.
        tag = schema.pop("discriminator").get("propertyName")
        schema["anyOf"] = [_requiring(branch, tag) for branch in schema.pop("oneOf", schema.get("anyOf", []))]
    prefix = schema.get("prefixItems")
    if isinstance(prefix, list) and prefix and "items" not in schema and all(item == prefix[0] for item in prefix):
        # tuple[float, float]: a typed array of fixed length (minItems/maxItems), which every vendor knows.
        schema["items"] = schema.pop("prefixItems")[0]
    branches = schema.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        (other,) = [branch for branch in branches if branch != {"type": "null"}]
        if isinstance(other.get("type"), str):
            outer = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**other, **outer, "type": [other["type"], "null"]}
            if "enum" in other:
                schema["enum"] = [*other["enum"], None]
    # Type and description first, so the schema reads like the signature it came from.
    return {key: schema[key] for key in sorted(schema, key=lambda key: _LEADING_KEYS.get(key, len(_LEADING_KEYS)))}


_LEADING_KEYS = {"type": 0, "description": 1}


def _requiring(schema: Any, name: str | None) -> Any:
    """`schema` with property `name` required: a discriminated union cannot do without its tag."""
    if not isinstance(schema, dict) or name not in schema.get("properties", {}):
        return schema
    return {**schema, "required": list(dict.fromkeys([*schema.get("required", []), name]))}
