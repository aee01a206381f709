"""Python functions as tools: the spec generated from signature and docstring, and argument validation."""

import functools
import inspect
import json
import uuid
import warnings
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from pydantic import BaseModel, Field
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment
from tool_cases import (
    OWN_CASES,
    Category,
    Customer,
    FanSpeed,
    Slot,
    case_params,
    check_no_leak,
    check_parameters,
    contains_all,
    propose_meeting,
    send_invoice,
    set_fan_speed,
)

import durable_llm
from durable_llm import (
    MissingDocstringWarning,
    ToolArgumentError,
    ToolContext,
    ToolDefinitionError,
    ToolSpec,
    tool,
    tool_spec,
)


def spec_of(fn: Any, expected: dict) -> ToolSpec | None:
    """The spec of `fn`, or None when it was (acceptably) refused per `reject_ok`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingDocstringWarning)
            return tool_spec(fn)
    except ToolDefinitionError as error:
        mentions = expected.get("reject_ok", {}).get("mentions")
        assert mentions and any(m in str(error) for m in mentions), f"unexpected refusal: {error}"
        return None


def check_spec(spec: ToolSpec, expected: dict) -> None:
    assert spec.name == expected["name"]
    assert contains_all(spec.description, expected["description"]), spec.description
    params = spec.parameters
    assert params["type"] == "object" and params["additionalProperties"] is False and "$schema" not in params
    check_parameters(params, expected["params"])
    check_no_leak(params, expected.get("no_leak", []))
    if "context_param" in expected:
        assert spec.wants_context
        assert expected["context_param"] not in params["properties"]
    jsonschema.Draft202012Validator.check_schema(params)
    json.dumps(params)  # JSON-serialisable as it stands


@pytest.mark.parametrize(("fn", "expected"), case_params())
def test_shared_example_produces_its_expected_spec(fn, expected):
    spec = spec_of(fn, expected)
    if spec is not None:
        check_spec(spec, expected)


@pytest.mark.parametrize(("fn", "expected"), case_params(OWN_CASES))
def test_own_example_produces_its_expected_spec(fn, expected):
    spec = spec_of(fn, expected)
    assert spec is not None
    check_spec(spec, expected)


def test_parameter_schemas_carry_no_titles_and_nest_objects_inline():
    spec = tool_spec(send_invoice)
    text = json.dumps(spec.parameters)
    assert '"title"' not in text and "$ref" not in text and "$defs" not in text


def test_recursive_model_keeps_one_definition_at_the_root():
    from tool_cases import import_categories

    params = tool_spec(import_categories).parameters
    assert set(params["$defs"]) == {"Category"}
    children = params["properties"]["tree"]["properties"]["children"]
    assert children["items"] == {"$ref": "#/$defs/Category"}
    jsonschema.validate({"tree": {"name": "a", "children": [{"name": "b", "children": []}]}}, params)


def test_whole_long_description_is_kept_without_section_markup():
    def summarise(text: str) -> str:
        """Summarise a document.

        The summary keeps the document's own terms. It is written for a
        reader who has not seen the document.

        A second paragraph: long documents are summarised chapter by chapter.

        Args:
            text: The document.

        Returns:
            The summary.
        """
        return text

    spec = tool_spec(summarise)
    assert spec.description == (
        "Summarise a document.\n\nThe summary keeps the document's own terms. It is written for a\n"
        "reader who has not seen the document.\n\nA second paragraph: long documents are summarised chapter by chapter."
    )


def test_field_description_wins_over_docstring_and_undocumented_names_are_ignored():
    def rate(stars: Annotated[int, Field(ge=1, le=5, description="From 1 to 5 stars.")], ghost: str = "") -> None:
        """Rate a film.

        Args:
            stars: Docstring text that loses.
            ghost: A real parameter.
            missing: Mentioned, but not in the signature.
        """

    props = tool_spec(rate).parameters["properties"]
    assert props["stars"] == {"type": "integer", "description": "From 1 to 5 stars.", "maximum": 5, "minimum": 1}
    assert set(props) == {"stars", "ghost"}


def test_field_as_default_gives_default_and_constraints():
    def page(size: int = Field(20, ge=1, description="Results per page.")) -> None:
        """Page through results."""

    spec = tool_spec(page)
    assert spec.parameters["properties"]["size"] == {
        "type": "integer",
        "description": "Results per page.",
        "default": 20,
        "minimum": 1,
    }
    assert spec.validate_arguments("{}") == {"size": 20}


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool = True


def adopt(pet: Annotated[Cat | Dog, Field(discriminator="kind")], where: tuple[float, float]) -> None:
    """Adopt a pet.

    Args:
        pet: The pet to adopt.
        where: Latitude and longitude of its new home.
    """


def test_discriminated_union_becomes_any_of_requiring_the_tag():
    pet = tool_spec(adopt).parameters["properties"]["pet"]
    assert "oneOf" not in pet and "discriminator" not in pet
    assert [branch["required"] for branch in pet["anyOf"]] == [["kind"], ["kind"]]
    arguments = tool_spec(adopt).validate_arguments({"pet": {"kind": "dog"}, "where": [1, 2]})
    assert arguments == {"pet": Dog(), "where": (1.0, 2.0)}


def test_same_typed_tuple_is_an_array_of_fixed_length():
    where = tool_spec(adopt).parameters["properties"]["where"]
    assert where == {
        "type": "array",
        "description": "Latitude and longitude of its new home.",
        "maxItems": 2,
        "minItems": 2,
        "items": {"type": "number"},
    }
    assert tool_spec(adopt).strict_reason is None


def test_optional_without_default_is_required_and_nullable():
    def tag(label: str | None) -> None:
        """Tag a thing.

        Args:
            label: The label, or null to clear it.
        """

    params = tool_spec(tag).parameters
    assert params["required"] == ["label"]
    assert params["properties"]["label"]["type"] == ["string", "null"]


def test_none_default_on_plain_annotation_is_optional_and_accepts_null():
    def wait(seconds: float = None) -> None:  # type: ignore[assignment]  # noqa: RUF013  (the form users write)
        """Wait.

        Args:
            seconds: How long.
        """

    spec = tool_spec(wait)
    assert spec.parameters["required"] == []
    assert spec.validate_arguments('{"seconds": null}') == {"seconds": None}
    assert spec.validate_arguments("{}") == {"seconds": None}


def test_description_and_name_can_be_overridden():
    spec = tool_spec(set_fan_speed, name="fan", description="Control the fan.")
    assert (spec.name, spec.description) == ("fan", "Control the fan.")


def test_missing_docstring_warns_and_the_tool_still_works():
    def ping(host: str) -> None:
        pass

    with pytest.warns(MissingDocstringWarning, match="'ping' has no docstring") as caught:
        spec = tool_spec(ping)
    assert caught[0].filename == __file__  # the warning points at the caller
    assert spec.description is None
    assert spec.parameters["properties"] == {"host": {"type": "string"}}


def test_bound_method_classmethod_and_staticmethod_leave_out_self_and_cls():
    class Shelf:
        def put(self, item: str) -> None:
            """Put an item on the shelf."""

        @classmethod
        def make(cls, size: int) -> None:
            """Make a shelf."""

        @staticmethod
        def measure(width: float) -> None:
            """Measure a shelf."""

    assert list(tool_spec(Shelf().put).parameters["properties"]) == ["item"]
    assert list(tool_spec(Shelf.make).parameters["properties"]) == ["size"]
    assert list(tool_spec(Shelf.measure).parameters["properties"]) == ["width"]


def test_tool_decorator_in_a_class_body_leaves_out_self_and_keeps_the_method_callable():
    class Counter:
        def __init__(self) -> None:
            self.total = 0

        @tool
        def add(self, amount: int) -> int:
            """Add to the counter."""
            self.total += amount
            return self.total

    counter = Counter()
    assert counter.add(2) == 2
    spec = tool_spec(counter.add)
    assert spec == getattr(Counter.add, "__durable_llm_tool__")  # noqa: B009
    assert list(spec.parameters["properties"]) == ["amount"]
    assert spec.function is not None and spec.function(**spec.validate_arguments('{"amount": 3}')) == 5


def test_callable_instance_and_partial_are_described_by_what_they_call():
    class Lookup:
        def __call__(self, key: str, default: int = 0) -> int:
            """Look a key up."""
            return default

    def scale(value: float, factor: float) -> float:
        """Scale a value."""
        return value * factor

    assert tool_spec(Lookup()).name == "Lookup"
    assert list(tool_spec(Lookup()).parameters["properties"]) == ["key", "default"]
    doubled = tool_spec(functools.partial(scale, factor=2.0))
    assert doubled.name == "scale"
    assert doubled.parameters["required"] == ["value"]


async def test_decorator_keeps_sync_sync_and_async_async():
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tool(name="fetch_page", description="Fetch a page.")
    async def fetch(url: str) -> str:
        return url

    assert add(1, 2) == 3 and not inspect.iscoroutinefunction(add)
    assert inspect.iscoroutinefunction(fetch) and await fetch("x") == "x"
    assert tool_spec(add) is getattr(add, "__durable_llm_tool__")  # noqa: B009
    assert tool_spec(fetch).name == "fetch_page" and tool_spec(fetch).description == "Fetch a page."
    assert tool_spec(fetch).function is fetch


async def test_decorating_a_callable_that_takes_no_attributes_wraps_it_transparently():
    class Adder:
        __slots__ = ()

        def __call__(self, a: int, b: int) -> int:
            """Add two numbers."""
            return a + b

    class Fetcher:
        __slots__ = ()

        async def __call__(self, url: str) -> str:
            """Fetch a page."""
            return url

    add, fetch = tool(Adder()), tool(Fetcher())
    assert add(1, 2) == 3 and tool_spec(add).name == "Adder"
    assert inspect.iscoroutinefunction(fetch) and await fetch("x") == "x"
    assert tool_spec(fetch).function is fetch


def test_context_parameter_is_left_out_and_recorded():
    spec = tool_spec(propose_meeting)
    assert spec.wants_context
    assert list(spec.parameters["properties"]) == ["slots", "topic"]
    assert not tool_spec(set_fan_speed).wants_context


@pytest.mark.parametrize(
    ("source", "mentions"),
    [
        ("def f(message: str, *user_ids: str) -> None: ...", "user_ids"),
        ("def f(message: str, **options: str) -> None: ...", "options"),
        ("def f(message: str, count) -> None: ...", "count"),
        ("def f(message: str, /) -> None: ...", "message"),
        ("def f(city: str, ctx: ToolContext) -> None: ...", "ctx"),
        ("def f(when: 'Tomorrow') -> None: ...", "Tomorrow"),
        ("def f(lock: Lock) -> None: ...", "lock"),
    ],
)
def test_function_that_cannot_be_a_tool_is_refused_naming_the_parameter(source, mentions):
    import threading

    namespace: dict[str, Any] = {"ToolContext": ToolContext, "Lock": type(threading.Lock())}
    exec(source, namespace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingDocstringWarning)
        with pytest.raises(ToolDefinitionError, match=mentions):
            tool_spec(namespace["f"])


def test_tool_name_that_some_vendor_refuses_is_rejected():
    def météo(city: str) -> None:
        """Weather."""

    with pytest.raises(ToolDefinitionError, match="not accepted by every vendor"):
        tool_spec(météo)
    assert tool_spec(météo, name="meteo").name == "meteo"


def test_spec_survives_a_json_round_trip_without_its_function():
    spec = tool_spec(send_invoice)
    dumped = spec.model_dump_json()
    assert "function" not in json.loads(dumped) and "_coerce" not in dumped
    again = ToolSpec.model_validate_json(dumped)
    assert again == spec
    assert again.function is None and spec.function is send_invoice
    payload = pydantic_data_converter.payload_converter.to_payloads([spec])
    (through_temporal,) = pydantic_data_converter.payload_converter.from_payloads(payload, [ToolSpec])
    assert through_temporal == spec


def test_strict_reason_says_why_a_spec_cannot_be_strict():
    from tool_cases import upload_report

    assert tool_spec(send_invoice).strict_reason is None
    reason = tool_spec(upload_report).strict_reason
    assert reason is not None and "maxLength" in reason and "$.properties.title" in reason


# --- validate_arguments ----------------------------------------------------------------------------


def test_good_call_is_coerced_to_the_functions_types():
    arguments = tool_spec(send_invoice).validate_arguments(
        '{"customer": {"name": "Acme"}, "lines": [{"description": "Lamp", "amount_cents": 1999}], "due": "2025-07-01"}'
    )
    assert arguments == {
        "customer": Customer(name="Acme"),
        "lines": [{"description": "Lamp", "amount_cents": 1999}],
        "due": date(2025, 7, 1),
    }


def test_nested_dataclasses_enums_and_models_are_built():
    slots = tool_spec(propose_meeting).validate_arguments(
        {"slots": [{"start": "2025-07-01T09:30:00Z"}], "topic": "Plan"}
    )["slots"]
    assert slots == [Slot(start=datetime(2025, 7, 1, 9, 30, tzinfo=UTC), minutes=30)]
    assert tool_spec(set_fan_speed).validate_arguments({"room": "hall", "speed": 2})["speed"] is FanSpeed.HIGH

    from tool_cases import import_categories

    tree = tool_spec(import_categories).validate_arguments({"tree": {"name": "a", "children": [{"name": "b"}]}})
    assert tree == {"tree": Category(name="a", children=[Category(name="b")]), "replace": False}


def test_uuid_set_and_datetime_arguments_are_coerced():
    from tool_cases import archive_messages

    ident = uuid.uuid4()
    arguments = tool_spec(archive_messages).validate_arguments(
        {"folder": "inbox", "before": "2025-01-31", "ids": [str(ident), str(ident)]}
    )
    assert arguments == {"folder": "inbox", "before": date(2025, 1, 31), "ids": {ident}}


def test_nulls_strict_mode_sends_for_defaults_mean_the_default():
    from tool_cases import convert_units

    assert tool_spec(convert_units).validate_arguments('{"value": 2.5, "unit": "m", "precision": null}') == {
        "value": 2.5,
        "unit": "m",
        "precision": 2,
    }


def schema_only(spec: ToolSpec) -> ToolSpec:
    """The spec as another process sees it: decoded from JSON, without the function's types."""
    return ToolSpec.model_validate_json(spec.model_dump_json())


BOTH = pytest.mark.parametrize("form", [lambda spec: spec, schema_only], ids=["from-function", "schema-only"])


def problems_of(spec: ToolSpec, raw: str | dict) -> tuple[str, list[tuple[str, ...]]]:
    with pytest.raises(ToolArgumentError) as caught:
        spec.validate_arguments(raw)
    assert caught.value.tool_name == spec.name
    return str(caught.value), [tuple(problem) for problem in caught.value.problems]


def convert_spec() -> ToolSpec:
    from tool_cases import convert_units

    return tool_spec(convert_units)


@BOTH
def test_missing_required_argument_is_named(form):
    message, problems = problems_of(form(convert_spec()), {"unit": "m"})
    assert problems == [("value", "This argument is required", "nothing")]
    assert "argument 'value': This argument is required; received nothing" in message


@BOTH
def test_wrong_type_names_argument_expected_type_and_value(form):
    message, problems = problems_of(form(convert_spec()), {"value": "tall", "unit": "m"})
    ((argument, expected, received),) = problems
    assert (argument, received) == ("value", '"tall"')
    assert "number" in expected
    assert "argument 'value'" in message and '"tall"' in message


@BOTH
def test_bad_enum_value_lists_the_allowed_ones(form):
    _, problems = problems_of(form(convert_spec()), {"value": 1, "unit": "yd"})
    ((argument, expected, received),) = problems
    assert (argument, received) == ("unit", '"yd"')
    assert '"m"' in expected.replace("'", '"') and '"ft"' in expected.replace("'", '"')


@BOTH
def test_constraint_violation_states_the_bound(form):
    _, problems = problems_of(form(convert_spec()), {"value": 1, "unit": "m", "precision": 11})
    assert problems == [("precision", "Input should be less than or equal to 10", "11")]


@BOTH
def test_unknown_argument_is_named_with_the_known_ones(form):
    _, problems = problems_of(form(convert_spec()), {"value": 1, "unit": "m", "colour": "red"})
    assert problems == [("colour", "Unknown argument; the known ones are: value, unit, precision", '"red"')]


@BOTH
def test_invalid_json_names_the_json_problem(form):
    message, problems = problems_of(form(convert_spec()), '{"value": 1, "unit": "m",}')
    ((argument, expected, received),) = problems
    assert argument == "" and received == '{"value": 1, "unit": "m",}'
    assert "not valid JSON (Expecting property name enclosed in double quotes at line 1, column 26)" in expected
    assert message.startswith("Invalid arguments for tool 'convert_units':\n- the arguments: ")


@BOTH
def test_arguments_that_are_not_an_object_are_refused(form):
    _, problems = problems_of(form(convert_spec()), "[1, 2]")
    assert problems == [("", "Input should be one JSON object of named arguments", "[1, 2]")]


@BOTH
def test_nested_problem_is_located_by_its_path(form):
    _, problems = problems_of(
        form(tool_spec(send_invoice)),
        {"customer": {"name": "Acme"}, "lines": [{"description": "Lamp", "amount_cents": "lots"}], "due": "2025-07-01"},
    )
    ((argument, expected, received),) = problems
    assert (argument, received) == ("lines[0].amount_cents", '"lots"')
    assert "integer" in expected


def test_schema_only_spec_returns_checked_json_values():
    spec = schema_only(tool_spec(send_invoice))
    raw = {"customer": {"name": "Acme"}, "lines": [], "due": "2025-07-01"}
    assert spec.validate_arguments(json.dumps(raw)) == raw


def test_union_problem_is_reported_once_with_every_alternative():
    def pick(choice: int | list[int]) -> None:
        """Pick."""

    _, problems = problems_of(tool_spec(pick), {"choice": "x"})
    ((argument, expected, received),) = problems
    assert argument == "choice" and received == '"x"'
    assert "valid integer" in expected and "valid list" in expected


def test_empty_arguments_text_is_a_call_without_arguments():
    def now() -> str:
        """The time."""
        return ""

    assert tool_spec(now).validate_arguments("") == {}


# --- ToolContext -----------------------------------------------------------------------------------


def test_tool_context_is_frozen_and_heartbeat_is_a_no_op_outside_an_activity():
    ctx = ToolContext(tool_call_id="call_1", tool_name="lookup", agent_name="helper", workflow_id="wf-1")
    with pytest.raises(AttributeError):
        ctx.tool_name = "other"  # type: ignore[misc]
    ctx.heartbeat("no activity here")


def test_tool_context_heartbeat_reaches_temporal_inside_an_activity():
    beats: list[Any] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    ctx = ToolContext(tool_call_id="call_1", tool_name="lookup")
    env.run(lambda: ctx.heartbeat("halfway", 50))
    assert beats == [("halfway", 50)]


def test_public_names_are_exported_from_the_package_root():
    for name in ("tool", "tool_spec", "ToolSpec", "ToolContext", "ToolArgumentError", "ToolDefinitionError"):
        assert name in durable_llm.__all__ and hasattr(durable_llm, name)
