"""An agent whose tools come from an MCP server, next to a plain Python tool, as a durable workflow.

    python examples/mcp_tools.py "How many people live in Lyon, and what is the weather there?"

The MCP server is this very file run as `python examples/mcp_tools.py serve` (written with the
`mcp` package's `MCPServer`, formerly FastMCP); the worker starts it over stdio. Its tools join the
agent's under the prefix "cities_": the conversation lists them once, in an activity, and each
call is an activity like any tool's. `MCPServer.http("http://host/mcp", headers=...)` reaches a
server over Streamable HTTP the same way. Needs `pip install 'durable-llm[mcp]'`.

The model comes from the configuration; without an API key a local fake vendor plays it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

from pydantic import BaseModel

TASK_QUEUE = "mcp-tools"
CITIES = {"lyon": 522_000, "paris": 2_103_000, "nantes": 320_000}


class Population(BaseModel):
    """What the `population` tool returns: the MCP result's structured content, and its text as JSON."""

    city: str
    inhabitants: int


def serve() -> None:
    """Run the MCP server side: one tool, `population`, over stdin/stdout."""
    import logging

    from mcp.server.mcpserver import MCPServer as FastMCP

    server = FastMCP("cities")

    @server.tool()
    def population(city: str) -> Population:
        """The number of inhabitants of a French city."""
        count = CITIES.get(city.strip().lower())
        if count is None:
            raise ValueError(f"no figure for {city}")
        return Population(city=city, inhabitants=count)

    logging.disable(logging.CRITICAL)
    server.run("stdio")


def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name, e.g. "Lyon".
    """
    return f"{city}: sunny, 24 °C"


def scripted_model(request):
    """What the fake vendor answers offline: call both tools, then sum up what they returned."""
    from durable_llm.testing import call_tools, reply

    results = [p for m in request.messages if m.role == "tool" for p in m.parts]
    if not results:
        return call_tools(("cities_population", {"city": "Lyon"}), ("get_weather", {"city": "Lyon"}))
    people, weather = results
    # Claude and OpenAI are sent the server's text (JSON here), Gemini its structured content.
    figures = people.value if isinstance(people.value, dict) else json.loads(people.text)
    sky = weather.value["output"] if isinstance(weather.value, dict) else weather.text
    return reply(f"Lyon has {figures['inhabitants']} inhabitants; {sky}.")


async def main(question: str) -> None:
    from _offline import fake_vendors_without_keys
    from temporalio.worker import Worker

    from durable_llm import AgentInput, AgentWorkflow, DurableLLMPlugin, MCPServer
    from durable_llm.cli.server import connect
    from durable_llm.config import load_settings

    settings = load_settings()
    cities = MCPServer.stdio([sys.executable, __file__, "serve"], prefix="cities_")
    agent = settings.agent(name="cities", instructions="Answer with the tools.", tools=[get_weather, cities])
    with fake_vendors_without_keys([settings.provider], scripted_model):
        plugin = DurableLLMPlugin(tools=[get_weather])
        async with connect(settings, plugins=[plugin]) as connection, Worker(connection.client, task_queue=TASK_QUEUE):
            result = await connection.client.execute_workflow(
                AgentWorkflow.run,
                AgentInput(agent=agent, message=question),
                id=f"mcp-tools-{uuid.uuid4().hex[:8]}",
                task_queue=TASK_QUEUE,
            )
    for message in result.messages:
        for call in message.tool_calls:
            print(f"tool call: {call.name}({call.arguments_raw})")
    print(f"agent: {result.output}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "How many people live in Lyon, and the weather?"))
