"""Tool functions with the spec each must produce: the shared examples and our own, and the checker.

The shared examples (`../shared/tool_examples.py`) are loaded in place, never copied. Our own
cases below use the same expectation format (documented at the top of that file), so one
checker runs on the neutral spec and on every vendor rendering.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from datetime import date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, TypedDict
from uuid import UUID

import pytest
from pydantic import BaseModel, Field

import durable_llm

EXAMPLES_PATH = Path(__file__).resolve().parents[2] / "shared" / "tool_examples.py"
MISSING_EXAMPLES = f"the shared tool examples are absent ({EXAMPLES_PATH} not found)"


@functools.cache
def shared_cases() -> list[tuple[Any, dict]]:
    """The shared examples, their context parameter re-annotated with `durable_llm.ToolContext`."""
    loader = importlib.util.spec_from_file_location("shared_tool_examples", EXAMPLES_PATH)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    for fn, spec in module.CASES:
        if "context_param" in spec:
            fn.__annotations__[spec["context_param"]] = durable_llm.ToolContext
    return module.CASES


def case_params(cases: list[tuple[Any, dict]] | None = None) -> list[Any]:
    """pytest params over cases (the shared ones by default), one skipped param when they are absent."""
    if cases is None:
        if not EXAMPLES_PATH.exists():
            return [pytest.param(None, None, marks=pytest.mark.skip(reason=MISSING_EXAMPLES), id="shared-absent")]
        cases = shared_cases()
    return [pytest.param(fn, spec, id=spec["name"]) for fn, spec in cases]


# --- checking a parameters schema against an expectation -------------------------------------------


def normalised(text: str) -> str:
    return " ".join(text.split()).lower()


def contains_all(text: str | None, wanted: str | list[str] | None) -> bool:
    if wanted is None:
        return True
    wanted = [wanted] if isinstance(wanted, str) else wanted
    return text is not None and all(normalised(w) in normalised(text) for w in wanted)


def resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        schema = {**root["$defs"][name], **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def branches(schema: dict, root: dict) -> list[dict]:
    """The schema's alternatives (itself, or each anyOf branch), resolved."""
    schema = resolve(schema, root)
    if "anyOf" in schema:
        return [b for branch in schema["anyOf"] for b in branches(branch, root)]
    return [schema]


def json_types(schema: dict, root: dict) -> set[str]:
    """Every JSON type the schema admits, null included."""
    found: set[str] = set()
    for branch in branches(schema, root):
        declared = branch.get("type")
        if declared is not None:
            found.update([declared] if isinstance(declared, str) else declared)
        else:
            found.update(_type_of(v) for v in branch.get("enum", ()))
    return found


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), "object")


def keyword(schema: dict, root: dict, name: str) -> Any:
    """`name` from the schema or the first alternative that has it."""
    for branch in [resolve(schema, root), *branches(schema, root)]:
        if name in branch:
            return branch[name]
    return None


def check_parameters(schema: dict, expected: dict, *, root: dict | None = None, check_required: bool = True) -> None:
    """Assert an object schema has exactly the expected properties, each as described."""
    root = root or schema
    schema = next(b for b in branches(schema, root) if "properties" in b or b.get("type") == "object")
    properties = schema.get("properties", {})
    assert set(properties) == set(expected), f"properties {sorted(properties)} != {sorted(expected)}"
    required = set(schema.get("required", ()))
    for name, want in expected.items():
        prop = properties[name]
        where = f"property {name!r}: {prop}"
        types = json_types(prop, root) - {"null"}
        if isinstance(want["type"], str):
            assert types == {want["type"]}, where
        elif want.get("all_types"):
            assert types == set(want["type"]), where
        else:
            assert types and types <= set(want["type"]), where
        if check_required:
            assert (name in required) == want["required"], f"{where}: required should be {want['required']}"
        assert contains_all(keyword(prop, root, "description"), want.get("desc_contains")), where
        if "enum" in want:
            assert set(keyword(prop, root, "enum")) - {None} == set(want["enum"]), where
        if "nullable" in want:
            assert ("null" in json_types(prop, root)) == want["nullable"], where
        if "format" in want:
            assert keyword(prop, root, "format") == want["format"], where
        for constraint, value in want.get("constraints", {}).items():
            assert keyword(prop, root, constraint) == value, where
        items = keyword(prop, root, "items")
        if "items_type" in want:
            assert want["items_type"] in json_types(items, root), where
        if "values_type" in want:
            values = keyword(prop, root, "additionalProperties")
            assert isinstance(values, dict) and want["values_type"] in json_types(values, root), where
        if "fields" in want:
            check_parameters(prop, want["fields"], root=root, check_required=check_required)
        if "items_fields" in want:
            check_parameters(items, want["items_fields"], root=root, check_required=check_required)


def descriptions(schema: Any) -> list[str]:
    """Every description anywhere in a schema."""
    if isinstance(schema, dict):
        found = [schema["description"]] if isinstance(schema.get("description"), str) else []
        return found + [d for value in schema.values() for d in descriptions(value)]
    if isinstance(schema, list):
        return [d for value in schema for d in descriptions(value)]
    return []


def check_no_leak(schema: dict, leaks: list[str]) -> None:
    for text in descriptions(schema["properties"]):
        for leak in leaks:
            assert normalised(leak) not in normalised(text), f"{leak!r} leaked into {text!r}"


def assert_strict_shape(schema: Any, path: str = "$") -> None:
    """OpenAI strict mode's shape: every object closed and listing all its properties as required."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            assert_strict_shape(item, f"{path}[{i}]")
        return
    if not isinstance(schema, dict):
        return
    if "properties" in schema:
        assert schema.get("additionalProperties") is False, f"{path} is not closed"
        assert set(schema.get("required", ())) == set(schema["properties"]), f"{path} does not require everything"
    for bad in ("minLength", "maxLength", "uniqueItems", "prefixItems", "allOf", "oneOf", "not", "default"):
        assert bad not in schema, f"{bad} at {path}"
    for key, value in schema.items():
        if key == "properties":
            for name, prop in value.items():
                assert_strict_shape(prop, f"{path}.properties.{name}")
        elif key != "enum":
            assert_strict_shape(value, f"{path}.{key}")


# --- our own cases, one per kind the generator must handle -----------------------------------------


def search_catalogue(query: str, limit: int | None, shop: str = "all", *, sort: str = "relevance") -> list[str]:
    """Search the catalogue for products
    matching a query, across every shop.

    Results are ranked by relevance; sold-out products
    are listed last.

    Arguments:
        query (str): Words to look for, in any order.
        limit (int, optional): Most results to return;
            null for no limit.

    Keyword Args:
        shop: Only search this shop.
        sort: Sort order of the results.

    Yields:
        Product identifiers that were found.

    Examples:
        >>> search_catalogue("lamp", 3)
        ["lamp-1", "lamp-2"]
    """
    return []


def convert_units(value: float, unit: Literal["m", "ft"], precision: Annotated[int, Field(ge=0, le=10)] = 2) -> str:
    """Convert a length between metres and feet.

    Parameters
    ----------
    value : float
        The length to convert,
        as a decimal number.
    unit : {"m", "ft"}
        Unit the value is given in.

    Other Parameters
    ----------------
    precision : int
        Digits after the decimal point.

    Raises
    ------
    ValueError
        When the value is negative.

    Examples
    --------
    >>> convert_units(1.0, "m")
    '3.28 ft'
    """
    return ""


def resize_image(path: "str", width: "int", height: "int | None" = None, keep_ratio: "bool" = True) -> "str":  # noqa: UP037
    """Resize a stored image.

    The original is kept; the resized copy gets a new path.

    :param str path: Storage path of the image.
    :param int width: New width in pixels.
    :param height: New height in pixels; derived from the width
        when left out.
    :keyword keep_ratio: Keep the aspect ratio.
    :returns: Storage path of the resized copy.
    :raises FileNotFoundError: When no image is stored there.
    """
    return path


def archive_messages(folder: str, before: date, ids: set[UUID] | None = None) -> int:
    """Move old messages to the archive.

    @param folder: Mailbox folder to clean up.
    @type folder: str
    @param before: Archive messages received before this day.
    @keyword ids: Archive only these messages.
    @raise PermissionError: When the folder is read-only.
    @return: How many messages were archived.
    @rtype: int
    """
    return 0


class InvoiceLine(TypedDict):
    """One line of an invoice.

    Attributes:
        description: What was sold.
        amount_cents: Price in cents, tax included.
    """

    description: str
    amount_cents: int


class Customer(TypedDict):
    """Who pays.

    Attributes:
        name: Legal name of the customer.
        vat_id: VAT number, for businesses.
    """

    name: str
    vat_id: NotRequired[str]


def send_invoice(customer: Customer, lines: list[InvoiceLine], due: date) -> str:
    """Send an invoice by email.

    Args:
        customer: The customer billed.
        lines: What is billed, one line per product.
        due: Last day to pay.
    """
    return "inv_1"


class FanSpeed(IntEnum):
    OFF = 0
    LOW = 1
    HIGH = 2


def set_fan_speed(room: str, speed: FanSpeed) -> None:
    """Set the speed of a room's ceiling fan.

    Args:
        room: Name of the room.
        speed: 0 stops the fan, 2 is the fastest.
    """


class Inventory:
    """Stock of a warehouse."""

    @classmethod
    def restock(cls, sku: str, quantity: int = 1) -> int:
        """Order more of a product.

        Args:
            sku: Stock-keeping unit of the product.
            quantity: How many units to order.
        """
        return quantity

    @staticmethod
    def lookup(sku: str) -> int:
        """How many units of a product are in stock.

        :param sku: Stock-keeping unit of the product.
        """
        return 0


async def upload_report(
    title: Annotated[str, Field(max_length=80, description="Headline shown in the report list.")],
    sections: dict[str, int],
    timeout: float = None,  # type: ignore[assignment]  # noqa: RUF013  (the form users write)
) -> str:
    """Upload a generated report.

    Args:
        title: Ignored: the Field description above wins.
        sections: Page count of each section, by section name.
        timeout: Seconds to wait for the upload.
    """
    return ""


class Category(BaseModel):
    """A node of the product tree."""

    name: str = Field(description="Display name of the category.")
    children: list[Category] = Field(default_factory=list, description="Sub-categories.")


def import_categories(tree: Category, replace: bool = False) -> int:
    """Import a product category tree.

    Args:
        tree: The root category.
        replace: Drop the existing tree first.
    """
    return 0


def export_table(json: bool, copy: int = 1, schema: str = "public") -> str:
    """Export a database table.

    Args:
        json: Write JSON lines instead of CSV.
        copy: How many copies to write.
        schema: Database schema of the table.
    """
    return ""


@dataclasses.dataclass
class Slot:
    """A free slot in a calendar.

    Attributes:
        start: Start of the slot.
        minutes: Length of the slot.
    """

    start: datetime
    minutes: int = 30


def propose_meeting(ctx: durable_llm.ToolContext, slots: list[Slot], topic: str) -> str:
    """Propose a meeting to the participants.

    Args:
        ctx: Supplied by the agent loop.
        slots: Times that suit the organiser.
        topic: What the meeting is about.
    """
    return topic


OWN_CASES: list[tuple[Any, dict]] = [
    (search_catalogue, {
        "name": "search_catalogue",
        "description": ["Search the catalogue for products matching a query",
                        "sold-out products are listed last"],
        "params": {
            "query": {"type": "string", "required": True, "desc_contains": "Words to look for, in any order"},
            "limit": {"type": "integer", "required": True, "nullable": True,
                      "desc_contains": "Most results to return; null for no limit"},
            "shop": {"type": "string", "required": False, "desc_contains": "Only search this shop"},
            "sort": {"type": "string", "required": False, "desc_contains": "Sort order"},
        },
        "no_leak": ["Product identifiers", "lamp-1", "Yields", "Examples"],
    }),
    (convert_units, {
        "name": "convert_units",
        "description": "Convert a length between metres and feet",
        "params": {
            "value": {"type": "number", "required": True, "desc_contains": "The length to convert, as a decimal"},
            "unit": {"type": "string", "required": True, "enum": ["m", "ft"], "desc_contains": "Unit the value"},
            "precision": {"type": "integer", "required": False, "constraints": {"minimum": 0, "maximum": 10},
                          "desc_contains": "Digits after the decimal point"},
        },
        "no_leak": ["value is negative", "3.28 ft", "ValueError"],
    }),
    (resize_image, {
        "name": "resize_image",
        "description": ["Resize a stored image", "resized copy gets a new path"],
        "params": {
            "path": {"type": "string", "required": True, "desc_contains": "Storage path of the image"},
            "width": {"type": "integer", "required": True, "desc_contains": "New width in pixels"},
            "height": {"type": "integer", "required": False, "nullable": True,
                       "desc_contains": "derived from the width when left out"},
            "keep_ratio": {"type": "boolean", "required": False, "desc_contains": "Keep the aspect ratio"},
        },
        "no_leak": ["resized copy", "no image is stored", "FileNotFoundError"],
    }),
    (archive_messages, {
        "name": "archive_messages",
        "description": "Move old messages to the archive",
        "params": {
            "folder": {"type": "string", "required": True, "desc_contains": "Mailbox folder"},
            "before": {"type": "string", "required": True, "format": "date",
                       "desc_contains": "received before this day"},
            "ids": {"type": "array", "items_type": "string", "required": False, "nullable": True,
                    "desc_contains": "Archive only these messages"},
        },
        "no_leak": ["read-only", "How many messages", "rtype"],
        "openai_strict": "either",
    }),
    (send_invoice, {
        "name": "send_invoice",
        "description": "Send an invoice by email",
        "params": {
            "customer": {"type": "object", "required": True, "desc_contains": "The customer billed", "fields": {
                "name": {"type": "string", "required": True, "desc_contains": "Legal name"},
                "vat_id": {"type": "string", "required": False, "desc_contains": "VAT number"},
            }},
            "lines": {"type": "array", "items_type": "object", "required": True, "desc_contains": "per product",
                      "items_fields": {
                          "description": {"type": "string", "required": True, "desc_contains": "What was sold"},
                          "amount_cents": {"type": "integer", "required": True, "desc_contains": "Price in cents"},
                      }},
            "due": {"type": "string", "required": True, "format": "date", "desc_contains": "Last day to pay"},
        },
    }),
    (set_fan_speed, {
        "name": "set_fan_speed",
        "description": "Set the speed of a room's ceiling fan",
        "params": {
            "room": {"type": "string", "required": True, "desc_contains": "Name of the room"},
            "speed": {"type": "integer", "required": True, "enum": [0, 1, 2], "desc_contains": "2 is the fastest"},
        },
    }),
    (Inventory.restock, {
        "name": "restock",
        "description": "Order more of a product",
        "params": {
            "sku": {"type": "string", "required": True, "desc_contains": "Stock-keeping unit"},
            "quantity": {"type": "integer", "required": False, "desc_contains": "How many units to order"},
        },
    }),
    (Inventory.lookup, {
        "name": "lookup",
        "description": "How many units of a product are in stock",
        "params": {"sku": {"type": "string", "required": True, "desc_contains": "Stock-keeping unit"}},
    }),
    (upload_report, {
        "name": "upload_report",
        "description": "Upload a generated report",
        "params": {
            "title": {"type": "string", "required": True, "constraints": {"maxLength": 80},
                      "desc_contains": "Headline shown in the report list"},
            "sections": {"type": "object", "values_type": "integer", "required": True,
                         "desc_contains": "Page count of each section"},
            "timeout": {"type": "number", "required": False, "desc_contains": "Seconds to wait"},
        },
        "no_leak": ["Ignored"],
        "openai_strict": "either",
    }),
    (import_categories, {
        "name": "import_categories",
        "description": "Import a product category tree",
        "params": {
            "tree": {"type": "object", "required": True, "desc_contains": "The root category", "fields": {
                "name": {"type": "string", "required": True, "desc_contains": "Display name"},
                "children": {"type": "array", "items_type": "object", "required": False,
                             "desc_contains": "Sub-categories"},
            }},
            "replace": {"type": "boolean", "required": False, "desc_contains": "Drop the existing tree"},
        },
    }),
    (export_table, {
        "name": "export_table",
        "description": "Export a database table",
        "params": {
            "json": {"type": "boolean", "required": True, "desc_contains": "JSON lines"},
            "copy": {"type": "integer", "required": False, "desc_contains": "How many copies"},
            "schema": {"type": "string", "required": False, "desc_contains": "Database schema"},
        },
    }),
    (propose_meeting, {
        "name": "propose_meeting",
        "description": "Propose a meeting to the participants",
        "context_param": "ctx",
        "params": {
            "slots": {"type": "array", "items_type": "object", "required": True, "desc_contains": "suit the organiser",
                      "items_fields": {
                          "start": {"type": "string", "required": True, "format": "date-time",
                                    "desc_contains": "Start of the slot"},
                          "minutes": {"type": "integer", "required": False, "desc_contains": "Length of the slot"},
                      }},
            "topic": {"type": "string", "required": True, "desc_contains": "What the meeting is about"},
        },
        "no_leak": ["Supplied by the agent loop"],
    }),
]  # fmt: skip
