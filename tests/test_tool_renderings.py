"""Every example tool rendered for OpenAI, Anthropic and Gemini: accepted by each SDK's types, nothing lost."""

import json
import warnings
from typing import Any

import jsonschema
import pytest
from tool_cases import OWN_CASES, assert_strict_shape, case_params, check_parameters

from durable_llm import MissingDocstringWarning, ToolDefinitionError, ToolSpec, get_adapter, tool_spec

CASES = [*case_params(), *case_params(OWN_CASES)]


def spec_or_skip(fn: Any, expected: dict) -> ToolSpec:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingDocstringWarning)
            return tool_spec(fn)
    except ToolDefinitionError:
        if "reject_ok" not in expected:
            raise
        pytest.skip("refused at definition time, as the example allows")


def check_schema(schema: dict) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    json.dumps(schema)


@pytest.mark.parametrize(("fn", "expected"), CASES)
def test_openai_rendering_is_a_function_tool_strict_whenever_possible(fn, expected):
    from openai.types.responses import FunctionToolParam
    from pydantic import TypeAdapter

    spec = spec_or_skip(fn, expected)
    rendered = get_adapter("openai").encode_tool(spec)
    TypeAdapter(FunctionToolParam).validate_python(rendered)
    assert rendered["type"] == "function" and rendered["name"] == expected["name"]
    assert rendered.get("description") == spec.description
    parameters = rendered["parameters"]
    check_schema(parameters)
    if expected.get("openai_strict", "required") == "required":
        assert rendered["strict"] is True, spec.strict_reason
    if rendered["strict"]:
        assert_strict_shape(parameters)
        # Strict mode requires every property; what matters is that each keeps type, enum and description.
        check_parameters(parameters, expected["params"], check_required=False)
    else:
        assert parameters == spec.parameters
        check_parameters(parameters, expected["params"])


@pytest.mark.parametrize(("fn", "expected"), CASES)
def test_anthropic_rendering_is_a_tool_param_with_the_whole_schema(fn, expected):
    from anthropic.types import ToolParam
    from pydantic import TypeAdapter

    spec = spec_or_skip(fn, expected)
    rendered = get_adapter("anthropic").encode_tool(spec)
    TypeAdapter(ToolParam).validate_python(rendered)
    assert rendered["name"] == expected["name"]
    assert rendered.get("description") == spec.description
    check_schema(rendered["input_schema"])
    check_parameters(rendered["input_schema"], expected["params"])


@pytest.mark.parametrize(("fn", "expected"), CASES)
def test_gemini_rendering_is_a_function_declaration_with_the_whole_schema(fn, expected):
    from google.genai.types import FunctionDeclaration

    spec = spec_or_skip(fn, expected)
    rendered = get_adapter("gemini").encode_tool(spec)
    declaration = FunctionDeclaration.model_validate(rendered)
    assert declaration.name == expected["name"]
    assert declaration.description == spec.description
    schema = declaration.parameters_json_schema
    assert isinstance(schema, dict), "expected the JSON Schema form (parametersJsonSchema)"
    check_schema(schema)
    check_parameters(schema, expected["params"])


@pytest.mark.parametrize("vendor", ["openai", "anthropic", "gemini"])
def test_rendering_of_a_round_tripped_spec_is_the_same(vendor):
    from tool_cases import send_invoice

    spec = tool_spec(send_invoice)
    adapter = get_adapter(vendor)
    assert adapter.encode_tool(ToolSpec.model_validate_json(spec.model_dump_json())) == adapter.encode_tool(spec)
