"""A user's own tools, for the `durable-llm --tools cli_tools:TOOLS` tests."""


def world_clock(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name.
    """
    return f"12:00 in {city}"


TOOLS = [world_clock]
