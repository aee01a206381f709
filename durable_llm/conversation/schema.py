"""JSON Schema helpers for tool parameters: OpenAI's strict-mode rewrite, and nulls strict mode forces.

Pure JSON Schema (draft 2020-12): no vendor SDK. Strict mode is OpenAI's, but it is decided here
because whether a schema *can* be strict is a property of the schema, not of a request.
"""

from __future__ import annotations

import json
from typing import Any

STRICT_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
"""String formats strict mode accepts."""

MAX_OBJECT_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000
"""Strict mode's documented size limits: nesting of objects, properties in all, enum values in all."""

_ANY_TYPE_KEYWORDS = frozenset({"type", "description", "title", "enum", "const", "anyOf", "$ref"})
_TYPE_KEYWORDS: dict[str, frozenset[str]] = {
    "string": frozenset({"pattern", "format"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}),
    "integer": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}),
    "array": frozenset({"items", "minItems", "maxItems"}),
    "object": frozenset({"properties", "required", "additionalProperties"}),
    "boolean": frozenset(),
    "null": frozenset(),
}
_SUPPORTED_KEYWORDS = _ANY_TYPE_KEYWORDS.union(*_TYPE_KEYWORDS.values())
# Annotations that never constrain a value; strict mode rejects some of them ("'default' is not
# permitted"), and since every property becomes required they carry no meaning there.
_DROPPED_ANNOTATIONS = frozenset({"default", "examples", "$comment", "deprecated", "readOnly", "writeOnly", "$schema"})


class _NotStrict(Exception):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{problem} at {path}")


def strict_schema(parameters: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """OpenAI's strict-mode rewrite of a tool's parameters schema, or (None, why it cannot be strict).

    The rewrite closes every object (`additionalProperties: false`), lists every property in
    `required`, makes the optional ones nullable (a model then sends null to mean "left out";
    `omit_nulls_for_defaults` turns those back), and drops annotations strict mode refuses
    (`examples`; `default` moves into the description as "Default: 30."). A `$ref` with sibling
    keywords is inlined. Anything strict mode cannot express (free-form dicts, `minLength`,
    `oneOf`, unsupported formats, `$defs` below the root...) makes it give up, naming the keyword
    and its JSON path (`$` is the root).
    """
    try:
        return _StrictRewrite(parameters).root(), None
    except _NotStrict as error:
        return None, str(error)


class _StrictRewrite:
    def __init__(self, root: dict[str, Any]) -> None:
        self._root = root
        self._defs: dict[str, Any] = root.get("$defs", {}) if isinstance(root, dict) else {}
        self._properties = 0
        self._enum_values = 0

    def root(self) -> dict[str, Any]:
        schema = self._root
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise _NotStrict("$", 'the parameters must be one object schema ({"type": "object", ...})')
        body = {key: value for key, value in schema.items() if key != "$defs"}
        rewritten = self._node(body, "$", object_depth=0, is_root=True)
        if "$defs" in schema:
            rewritten["$defs"] = {
                name: self._node(definition, f"$.$defs.{name}", object_depth=0)
                for name, definition in self._defs.items()
            }
        return rewritten

    def _node(
        self,
        schema: Any,
        path: str,
        *,
        object_depth: int,
        is_root: bool = False,
        expanding: frozenset[str] = frozenset(),
    ) -> dict[str, Any]:
        if not isinstance(schema, dict):
            raise _NotStrict(path, f"a boolean schema ({schema!r}) is not supported")
        schema = {key: value for key, value in schema.items() if key not in _DROPPED_ANNOTATIONS}
        if "$ref" in schema:
            return self._ref(schema, path, object_depth=object_depth, expanding=expanding)
        if "$defs" in schema and not is_root:
            raise _NotStrict(path, "'$defs' is only supported at the root")
        for key in schema:
            if key not in _SUPPORTED_KEYWORDS:
                raise _NotStrict(path, f"keyword {key!r} is not supported")
        types = _types(schema)
        if not types and not {"anyOf", "enum", "const"} & schema.keys():
            raise _NotStrict(path, "a schema without 'type' (any value) is not supported")
        unknown_types = [t for t in types if t not in _TYPE_KEYWORDS]
        if unknown_types:
            raise _NotStrict(path, f"type {unknown_types[0]!r} is not supported")
        if types:
            allowed = _ANY_TYPE_KEYWORDS.union(*(_TYPE_KEYWORDS[t] for t in types))
            for key in schema:
                if key not in allowed:
                    raise _NotStrict(path, f"keyword {key!r} does not apply to type {' | '.join(types)}")
        if "format" in schema and schema["format"] not in STRICT_FORMATS:
            raise _NotStrict(path, f"format {schema['format']!r} is not supported")
        for key in ("enum", "const"):
            if key in schema:
                self._enum_values += len(schema[key]) if key == "enum" else 1
                if self._enum_values > MAX_ENUM_VALUES:
                    raise _NotStrict(path, f"more than {MAX_ENUM_VALUES} enum values in all")

        out = dict(schema)
        if "object" in types:
            out.update(self._object(schema, path, object_depth=object_depth + 1, is_root=is_root))
        if "items" in schema:
            out["items"] = self._node(schema["items"], f"{path}.items", object_depth=object_depth, expanding=expanding)
        elif "array" in types:
            raise _NotStrict(path, "an array without 'items' is not supported")
        if "anyOf" in schema:
            if is_root:
                raise _NotStrict(path, "'anyOf' is not supported at the root")
            out["anyOf"] = [
                self._node(branch, f"{path}.anyOf[{i}]", object_depth=object_depth, expanding=expanding)
                for i, branch in enumerate(schema["anyOf"])
            ]
        return out

    def _object(self, schema: dict[str, Any], path: str, *, object_depth: int, is_root: bool) -> dict[str, Any]:
        if object_depth > MAX_OBJECT_DEPTH:
            raise _NotStrict(path, f"objects nested more than {MAX_OBJECT_DEPTH} levels deep")
        extra = schema.get("additionalProperties", False)
        if extra is not False:
            what = "a schema (a dict with free-form keys)" if isinstance(extra, dict) else repr(extra)
            raise _NotStrict(
                f"{path}.additionalProperties", f"'additionalProperties' is {what}; objects must be closed"
            )
        # A root without properties is a tool without arguments; deeper down it is a free-form dict.
        if "properties" not in schema and not is_root and "additionalProperties" not in schema:
            raise _NotStrict(path, "an object without 'properties' (a free-form dict) is not supported")
        properties: dict[str, Any] = schema.get("properties", {})
        self._properties += len(properties)
        if self._properties > MAX_PROPERTIES:
            raise _NotStrict(path, f"more than {MAX_PROPERTIES} properties in all")
        required = set(schema.get("required", ()))
        rewritten = {}
        for name, prop in properties.items():
            prop_path = f"{path}.properties.{name}"
            strict_prop = self._node(prop, prop_path, object_depth=object_depth)
            if name not in required:
                strict_prop = _nullable(_noting_default(strict_prop, prop))
            rewritten[name] = strict_prop
        return {"properties": rewritten, "required": list(properties), "additionalProperties": False}

    def _ref(
        self, schema: dict[str, Any], path: str, *, object_depth: int, expanding: frozenset[str]
    ) -> dict[str, Any]:
        ref = schema["$ref"]
        if ref == "#":
            target = self._root
        elif isinstance(ref, str) and ref.startswith("#/$defs/") and ref[len("#/$defs/") :] in self._defs:
            target = self._defs[ref[len("#/$defs/") :]]
        else:
            raise _NotStrict(path, f"'$ref' {ref!r} does not point into the root's '$defs'")
        if len(schema) == 1:
            return {"$ref": ref}
        # Strict mode refuses siblings next to $ref: inline the target, the siblings taking precedence.
        if ref in expanding:
            raise _NotStrict(path, f"'$ref' {ref!r} with sibling keywords refers to itself")
        merged = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
        merged.pop("$defs", None)
        return self._node(merged, path, object_depth=object_depth, expanding=expanding | {ref})


def _types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def admits_null(schema: Any) -> bool:
    """Whether `schema` (as written, `$ref`s not followed) accepts JSON null."""
    if not isinstance(schema, dict):
        return schema is True
    if "null" in _types(schema) or None in schema.get("enum", ()) or ("const" in schema and schema["const"] is None):
        return True
    return any(admits_null(branch) for branch in schema.get("anyOf", ()))


def _noting_default(strict_prop: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """`strict_prop` with the default it lost (strict mode refuses `default`) told in its description."""
    default = original.get("default")
    if default is None or "$ref" in strict_prop:
        return strict_prop
    note = f"Default: {json.dumps(default, ensure_ascii=False)}."
    description = strict_prop.get("description")
    return {**strict_prop, "description": f"{description} {note}" if description else note}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` also accepting null, in the plainest form strict mode takes."""
    if admits_null(schema):
        return schema
    if "anyOf" in schema:
        return {**schema, "anyOf": [*schema["anyOf"], {"type": "null"}]}
    if "type" in schema and "$ref" not in schema and "const" not in schema:
        nullable = {**schema, "type": [*_types(schema), "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if "enum" in schema and "$ref" not in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    # $ref (no siblings allowed) or const: wrap, keeping the description beside the union.
    notes = {key: schema[key] for key in ("description", "title") if key in schema}
    inner = {key: value for key, value in schema.items() if key not in notes}
    return {"anyOf": [inner, {"type": "null"}], **notes}


def omit_nulls_for_defaults(parameters: dict[str, Any], arguments: Any) -> Any:
    """`arguments` without the nulls sent for optional properties whose schema does not admit null.

    Strict mode makes every optional property nullable and required, so a model sends null for
    "use the default"; dropping those nulls lets the default apply. Follows nested objects, arrays
    and `$ref`s into the root's `$defs`.
    """
    return _omit_nulls(parameters, arguments, parameters.get("$defs", {}), depth=0)


def _omit_nulls(schema: Any, value: Any, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > 64:
        return value
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = {**defs.get(ref[len("#/$defs/") :], {}), **schema}
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        cleaned = {}
        for key, item in value.items():
            prop = properties.get(key)
            if item is None and prop is not None and key not in required and not admits_null(prop):
                continue
            cleaned[key] = _omit_nulls(prop, item, defs, depth + 1) if prop is not None else item
        value = cleaned
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        value = [_omit_nulls(schema["items"], item, defs, depth + 1) for item in value]
    # A union: clean along the one branch that describes this kind of value (objects or arrays).
    for branch in schema.get("anyOf", ()):
        if isinstance(branch, dict) and _describes(branch, value):
            return _omit_nulls(branch, value, defs, depth + 1)
    return value


def _describes(schema: dict[str, Any], value: Any) -> bool:
    types = _types(schema)
    if isinstance(value, dict):
        return "object" in types or "properties" in schema or "$ref" in schema
    if isinstance(value, list):
        return "array" in types or "items" in schema
    return False
