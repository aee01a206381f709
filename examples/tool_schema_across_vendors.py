"""One typed Python function, three vendor tool definitions.

Run: .venv/bin/python examples/tool_schema_across_vendors.py
"""

import json
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from durable_llm import get_adapter, tool, tool_spec


@tool
def book_meeting_room(
    room_id: str,
    start: datetime,
    duration_minutes: Annotated[int, Field(ge=15, le=480)] = 30,
    layout: Literal["boardroom", "theatre", "classroom"] = "boardroom",
    equipment: list[str] | None = None,
) -> str:
    """Reserve a meeting room.

    Rooms are held for ten minutes past the start if nobody checks in.

    Args:
        room_id: Identifier of the room, e.g. "HQ-4-Aurora".
        start: Start of the booking, including the timezone offset.
        duration_minutes: Length of the booking in minutes.
        layout: How the chairs are arranged.
        equipment: Extra equipment to set up, such as "projector".

    Returns:
        The booking identifier.
    """
    return "bk_1"


def main() -> None:
    spec = tool_spec(book_meeting_room)
    print(f"strict mode for OpenAI: {spec.strict_reason or 'possible'}\n")
    for vendor in ("openai", "anthropic", "gemini"):
        print(f"--- {vendor}")
        print(json.dumps(get_adapter(vendor).encode_tool(spec), indent=2))
    print("--- a model's call, validated")
    print(spec.validate_arguments('{"room_id": "HQ-4-Aurora", "start": "2025-06-02T09:00:00+02:00", "layout": null}'))


if __name__ == "__main__":
    main()
