"""Fallback models: Claude is overloaded, so OpenAI answers the same turn.

    python examples/fallback_models.py

`Agent(model="anthropic:...", fallback_models=["openai:...", "gemini:..."])`: when a model call
fails past its `model_retry` budget on an error retries could fix (overloaded, rate limited, 5xx,
timeouts), the same turn goes to the next model, with the history projected for its vendor.
`result.model` names the model that answered. An error caused by the request (a 400) never
falls back.

Offline, a local fake Claude answers 529 (overloaded) to every call, and fake OpenAI and Gemini
servers answer from a script. With real API keys this uses the real vendors (and Claude is
probably not overloaded, so Claude answers).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin
from durable_llm.agent import RetryOptions
from durable_llm.cli.server import connect
from durable_llm.config import load_settings
from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers import get_provider
from durable_llm.testing import FakeVendorServer, reply

TASK_QUEUE = "fallback-models"
AGENT = Agent(
    name="support",
    model="anthropic:claude-sonnet-4-5",
    fallback_models=("openai:gpt-5-mini", "gemini:gemini-2.5-flash"),
    instructions="Answer in one sentence.",
    # Two tries a second apart, then the next model: a conversation should not wait minutes on an outage.
    model_retry=RetryOptions(maximum_attempts=2, initial_interval=timedelta(seconds=1)),
)


async def ask(client: Client, question: str) -> AgentResult:
    return await client.execute_workflow(
        AgentWorkflow.run,
        AgentInput(agent=AGENT, message=question),
        id=f"fallback-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake OpenAI and Gemini answer."""
    return reply("Your parcel ships tomorrow.")


async def main() -> None:
    saved = dict(os.environ)
    fakes = []
    try:
        for provider in ("anthropic", "openai", "gemini"):
            if get_provider(provider).credentials_missing() is None:
                continue
            server = FakeVendorServer(provider, responses=scripted_model).start()
            if provider == "anthropic":
                server.fail(529, times=1000)  # overloaded, whatever is asked
            os.environ.update(server.env())
            fakes.append(server)
            answer = "529 (overloaded)" if provider == "anthropic" else "from a script"
            print(f"(no {provider} key: a local fake {provider} server answers {answer})")
        async with (
            connect(load_settings(), plugins=[DurableLLMPlugin()]) as connection,
            Worker(connection.client, task_queue=TASK_QUEUE),
        ):
            result = await ask(connection.client, "When does my parcel ship?")
        print(f"{result.model} answered: {result.output}")
    finally:
        for server in fakes:
            server.close()
        os.environ.clear()
        os.environ.update(saved)


if __name__ == "__main__":
    asyncio.run(main())
