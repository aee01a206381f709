"""OpenAI strict mode: the rewrite of a parameters schema, or the reason it cannot be strict."""

import jsonschema
import pytest

from durable_llm.conversation.schema import omit_nulls_for_defaults, strict_schema

BOOKING = {
    "type": "object",
    "properties": {
        "room_id": {"type": "string", "description": "Identifier of the room."},
        "duration_minutes": {"type": "integer", "description": "Length in minutes.", "minimum": 15, "default": 30},
        "due": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}], "default": None},
        "priority": {"type": "string", "enum": ["low", "high"], "default": "low"},
    },
    "required": ["room_id"],
    "additionalProperties": False,
}


def test_optional_properties_become_required_and_nullable_with_defaults_told_in_words():
    strict, reason = strict_schema(BOOKING)
    assert reason is None
    assert strict == {
        "type": "object",
        "properties": {
            "room_id": {"type": "string", "description": "Identifier of the room."},
            "duration_minutes": {
                "type": ["integer", "null"],
                "description": "Length in minutes. Default: 30.",
                "minimum": 15,
            },
            "due": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            "priority": {"type": ["string", "null"], "enum": ["low", "high", None], "description": 'Default: "low".'},
        },
        "required": ["room_id", "duration_minutes", "due", "priority"],
        "additionalProperties": False,
    }


def test_rewrite_is_valid_json_schema_and_accepts_what_the_original_accepted():
    strict, _ = strict_schema(BOOKING)
    assert strict is not None
    jsonschema.Draft202012Validator.check_schema(strict)
    call = {"room_id": "HQ-4", "duration_minutes": None, "due": "2025-03-01", "priority": None}
    jsonschema.validate(call, strict)
    jsonschema.validate(omit_nulls_for_defaults(BOOKING, call), BOOKING)


def test_strict_schema_is_idempotent():
    strict, _ = strict_schema(BOOKING)
    assert strict is not None
    assert strict_schema(strict) == (strict, None)


def test_nested_objects_are_closed_and_fully_required():
    schema = {
        "type": "object",
        "properties": {
            "stops": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}, "stay": {"type": "integer", "default": 0}},
                    "required": ["lat"],
                },
            }
        },
        "required": ["stops"],
    }
    strict, reason = strict_schema(schema)
    assert reason is None and strict is not None
    assert strict["additionalProperties"] is False
    assert strict["properties"]["stops"]["items"] == {
        "type": "object",
        "properties": {"lat": {"type": "number"}, "stay": {"type": ["integer", "null"], "description": "Default: 0."}},
        "required": ["lat", "stay"],
        "additionalProperties": False,
    }


def test_ref_with_sibling_description_is_inlined():
    schema = {
        "type": "object",
        "properties": {"contact": {"$ref": "#/$defs/Contact", "description": "The person to add."}},
        "required": ["contact"],
        "$defs": {"Contact": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    }
    strict, reason = strict_schema(schema)
    assert reason is None and strict is not None
    assert strict["properties"]["contact"] == {
        "type": "object",
        "description": "The person to add.",
        "properties": {"name": {"type": "string"}},
        "required": ["name"],
        "additionalProperties": False,
    }
    assert strict["$defs"]["Contact"]["additionalProperties"] is False


def test_recursive_ref_stays_a_bare_ref_and_optional_one_is_wrapped_with_null():
    schema = {
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/Node"}},
        "required": ["tree"],
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {"label": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}},
                "required": ["label"],
            }
        },
    }
    strict, reason = strict_schema(schema)
    assert reason is None and strict is not None
    assert strict["properties"]["tree"] == {"$ref": "#/$defs/Node"}
    assert strict["$defs"]["Node"]["properties"]["child"] == {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]}


def test_tool_without_arguments_is_strict():
    assert strict_schema({"type": "object", "properties": {}}) == (
        {"type": "object", "properties": {}, "required": [], "additionalProperties": False},
        None,
    )


@pytest.mark.parametrize(
    ("prop", "keyword", "path"),
    [
        (
            {"type": "object", "additionalProperties": {"type": "string"}},
            "free-form keys",
            "$.properties.x.additionalProperties",
        ),
        ({"type": "object"}, "without 'properties'", "$.properties.x"),
        ({"type": "string", "minLength": 2}, "'minLength'", "$.properties.x"),
        ({"type": "string", "maxLength": 20}, "'maxLength'", "$.properties.x"),
        ({"type": "array", "items": {"type": "string"}, "uniqueItems": True}, "'uniqueItems'", "$.properties.x"),
        ({"type": "array", "prefixItems": [{"type": "integer"}]}, "'prefixItems'", "$.properties.x"),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "'oneOf'", "$.properties.x"),
        ({"allOf": [{"type": "string"}]}, "'allOf'", "$.properties.x"),
        ({"type": "string", "format": "uri"}, "format 'uri'", "$.properties.x"),
        ({"type": "string", "not": {"const": "a"}}, "'not'", "$.properties.x"),
        ({"description": "anything"}, "without 'type'", "$.properties.x"),
        (
            {"type": "array", "items": {"type": "string", "pattern": "^a", "minLength": 1}},
            "'minLength'",
            "$.properties.x.items",
        ),
        (
            {"type": "object", "properties": {}, "patternProperties": {"^a": {}}},
            "'patternProperties'",
            "$.properties.x",
        ),
        ({"type": "object", "properties": {"y": {"type": "string"}}, "$defs": {}}, "'$defs'", "$.properties.x"),
    ],
)
def test_schema_that_cannot_be_strict_names_the_keyword_and_path(prop, keyword, path):
    schema = {"type": "object", "properties": {"x": prop}, "required": ["x"]}
    strict, reason = strict_schema(schema)
    assert strict is None
    assert reason is not None
    assert keyword in reason
    assert reason.endswith(f"at {path}")


def test_root_must_be_an_object_schema():
    strict, reason = strict_schema({"anyOf": [{"type": "object", "properties": {}}, {"type": "null"}]})
    assert strict is None and reason is not None and "at $" in reason


def test_objects_nested_too_deep_cannot_be_strict():
    schema = {"type": "string"}
    for _ in range(11):
        schema = {"type": "object", "properties": {"inner": schema}, "required": ["inner"]}
    strict, reason = strict_schema(schema)
    assert strict is None and reason is not None and "nested more than 10" in reason


def test_nulls_for_optional_non_nullable_properties_are_omitted_at_every_depth():
    schema = {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "default": 4},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "required": ["items"],
        "$defs": {"Item": {"type": "object", "properties": {"kind": {"type": "string", "default": "a"}}}},
    }
    arguments = {"count": None, "note": None, "items": [{"kind": None}, {"kind": "b"}]}
    assert omit_nulls_for_defaults(schema, arguments) == {"note": None, "items": [{}, {"kind": "b"}]}


def test_null_for_a_required_property_is_kept_for_validation_to_report():
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    assert omit_nulls_for_defaults(schema, {"name": None}) == {"name": None}
