"""A weather agent with real National Weather Service tools, run as a durable Temporal workflow.

    python examples/weather_agent.py "Any weather alerts in Texas?"

The tools (`durable_llm.cli.demo.get_alerts` / `get_forecast`, the demo's) are plain async functions calling
api.weather.gov with httpx2; their docstrings are the schema the model sees. The model comes
from the configuration (`DURABLE_LLM_MODEL=gemini:gemini-2.5-flash`, durable_llm.toml, ...);
Temporal is `DURABLE_LLM_TEMPORAL_ADDRESS` / `TEMPORAL_ADDRESS`, or an embedded dev server.
Without an API key, a local fake of the vendor plays the model and a local sample stands in
for the NWS, so the example also runs offline. Answers are printed as the model writes them
(`DurableLLMPlugin(on_text=...)`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid

from _offline import fake_vendors_without_keys
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin, TextDelta
from durable_llm.cli.demo import INSTRUCTIONS, QUESTION, WEATHER_TOOLS, NWSStub, scripted_weather_model
from durable_llm.cli.server import connect
from durable_llm.config import Settings, load_settings

TASK_QUEUE = "weather-agent"


class PrintAsWritten:
    """Prints each model call's answer while the model writes it; the workflow records it whole."""

    def __init__(self) -> None:
        self.call: tuple[str, str, int] | None = None

    def __call__(self, delta: TextDelta) -> None:
        call = (delta.run_id, delta.call, delta.attempt)
        if call != self.call:  # a new call, or a retry starting over
            print("\nagent: " if self.call else "agent: ", end="")
            self.call = call
        print(delta.text, end="", flush=True)


async def ask(client: Client, settings: Settings, question: str) -> AgentResult:
    """Run the weather agent on `question` with a worker in this process; returns its result."""
    agent = settings.agent(name="weather", instructions=INSTRUCTIONS, tools=WEATHER_TOOLS)
    async with Worker(client, task_queue=TASK_QUEUE):
        return await client.execute_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, message=question),
            id=f"weather-{uuid.uuid4().hex[:8]}",
            task_queue=TASK_QUEUE,
        )


async def main(question: str) -> None:
    settings = load_settings()
    with contextlib.ExitStack() as offline:
        faked = offline.enter_context(fake_vendors_without_keys([settings.provider], scripted_weather_model))
        if faked and "NWS_BASE_URL" not in os.environ:
            os.environ.update(offline.enter_context(NWSStub()).env())
        plugin = DurableLLMPlugin(tools=WEATHER_TOOLS, on_text=PrintAsWritten())
        async with connect(settings, plugins=[plugin]) as connection:
            result = await ask(connection.client, settings, question)
    print("\n")
    for message in result.messages:
        for call in message.tool_calls:
            print(f"tool call: {call.name}({call.arguments_raw})")
    print(f"{result.turns} model calls, {result.usage.input_tokens} input / {result.usage.output_tokens} output tokens")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else QUESTION))
