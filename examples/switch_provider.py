"""One agent, three vendors and a local model: chosen by configuration only, and switched mid-conversation.

    python examples/switch_provider.py

Part 1 runs the same agent on OpenAI, Claude, Gemini and a local Llama served by Ollama (through
the Chat Completions format most local and hosted servers speak). Nothing in the agent's code
names a vendor: the model string comes from the configuration, here `load_settings(model=...)`,
which is what `DURABLE_LLM_MODEL=ollama:llama3.2` or `model = "..."` in durable_llm.toml do.

Part 2 starts a conversation on OpenAI, continues it on Claude, then on Gemini, and ends it on
the local model. Before each switch, `durable_llm.conversation.project` prepares the history for
the next one (drops reasoning tokens another vendor made, fixes tool-call ids, adds Gemini's
signature placeholder) and reports what it changed; `run_agent` carries the conversation on
inside a workflow.

Part 3 does the same to one running chat: `durable_llm.switch_model(handle, model)` has it
answer with the next vendor's model from its next call on (the projection is automatic).

Vendors with no API key in the environment, and Ollama when it is not running, are played by
local fake servers, so this runs offline.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from _offline import fake_vendors_without_keys
    from temporalio.client import Client
    from temporalio.worker import Worker

    from durable_llm import (
        Agent,
        AgentInput,
        AgentResult,
        AgentWorkflow,
        DurableLLMPlugin,
        Message,
        run_agent,
        send_message,
        switch_model,
    )
    from durable_llm.cli.demo import result_text
    from durable_llm.cli.server import connect
    from durable_llm.config import Settings, load_settings
    from durable_llm.conversation import (
        FrozenModel,
        ModelRequest,
        ModelResponse,
        ProjectionChange,
        ToolResultPart,
        project,
    )
    from durable_llm.testing import call_tools, reply

MODELS = ("openai:gpt-5-mini", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash", "ollama:llama3.2")
TASK_QUEUE = "switch-provider"
INSTRUCTIONS = "Answer questions about capital cities with the lookup_capital tool, in one sentence."

CAPITALS = {"france": "Paris", "japan": "Tokyo", "brazil": "Brasília", "kenya": "Nairobi", "canada": "Ottawa"}


def lookup_capital(country: str) -> str:
    """Look up the capital city of a country.

    Args:
        country: The country's English name, e.g. "France".
    """
    return CAPITALS.get(country.strip().lower(), f"unknown: no capital on file for {country}")


class Continuation(FrozenModel):
    """A conversation to carry on with `agent`: its history (projected for that vendor) and the next message."""

    agent: Agent
    messages: tuple[Message, ...]
    message: str


@workflow.defn
class ContinueConversation:
    """Carry an earlier conversation on with another agent (here: another vendor's model)."""

    @workflow.run
    async def run(self, continuation: Continuation) -> AgentResult:
        return await run_agent(continuation.agent, continuation.message, messages=continuation.messages)


async def ask_everywhere(client: Client, question: str) -> dict[str, AgentResult]:
    """Part 1: the same agent and question on each vendor; the model string is the only difference."""
    results: dict[str, AgentResult] = {}
    for model in MODELS:
        settings = load_settings(model=model)
        results[model] = await client.execute_workflow(
            AgentWorkflow.run,
            AgentInput(agent=_agent(settings), message=question),
            id=f"capital-{uuid.uuid4().hex[:8]}",
            task_queue=TASK_QUEUE,
        )
    return results


async def hop_between_vendors(client: Client, questions: Sequence[str]) -> list[AgentResult]:
    """Part 2: one conversation, each question on the next vendor in `MODELS`."""
    first = await client.execute_workflow(
        AgentWorkflow.run,
        AgentInput(agent=_agent(load_settings(model=MODELS[0])), message=questions[0]),
        id=f"hop-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )
    results = [first]
    for model, question in zip(MODELS[1:], questions[1:], strict=False):
        agent = _agent(load_settings(model=model))
        history, report = project(results[-1].messages, agent.provider, agent.model_name)
        print(f"  projected {len(history)} messages for {model}: " + (_changes(report.changes) or "no change needed"))
        results.append(
            await client.execute_workflow(
                ContinueConversation.run,
                Continuation(agent=agent, messages=history, message=question),
                id=f"hop-{uuid.uuid4().hex[:8]}",
                task_queue=TASK_QUEUE,
            )
        )
    return results


async def switch_a_running_chat(client: Client, questions: Sequence[str]) -> list[str]:
    """Part 3: one chat (one workflow), its model switched to the next vendor's before each question."""
    handle = await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=_agent(load_settings(model=MODELS[0])), chat=True),
        id=f"switching-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )
    answers = []
    for model, question in zip(MODELS, questions, strict=False):
        if model != MODELS[0]:
            await switch_model(handle, model)
        answers.append(await send_message(handle, question))
    await handle.signal(AgentWorkflow.end_conversation)
    return answers


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendors answer: look the country up, then say what the tool found."""
    last = request.messages[-1]
    if last.role == "tool":
        found = next(result_text(p) for p in last.parts if isinstance(p, ToolResultPart))
        return reply(f"That capital is {found}.")
    country = last.text.rstrip("?.! ").split()[-1]
    return call_tools(("lookup_capital", {"country": country}))


def _agent(settings: Settings) -> Agent:
    return settings.agent(name="capitals", instructions=INSTRUCTIONS, tools=[lookup_capital])


def _changes(changes: Sequence[ProjectionChange]) -> str:
    return "; ".join(f"{c.action} {c.what} ({c.detail})" for c in changes)


async def main() -> None:
    settings = load_settings()
    providers = [model.partition(":")[0] for model in MODELS]
    plugin = DurableLLMPlugin(tools=[lookup_capital])
    with fake_vendors_without_keys(providers, scripted_model):
        async with connect(settings, plugins=[plugin]) as connection:
            client = connection.client
            async with Worker(client, task_queue=TASK_QUEUE, workflows=[ContinueConversation]):
                print("Part 1: the same agent on each vendor, by configuration only")
                for model, result in (await ask_everywhere(client, "What is the capital of France?")).items():
                    print(f"  {model:32} {result.output}  ({result.turns} model calls)")
                print("\nPart 2: one conversation, moving from vendor to vendor")
                questions = ["What is the capital of Japan?", "And of Brazil?", "And of Kenya?", "And of Canada?"]
                for model, result in zip(MODELS, await hop_between_vendors(client, questions), strict=True):
                    print(f"  {model:32} {result.output}  (history: {len(result.messages)} messages)")
                print("\nPart 3: one running chat, its model switched before each question")
                for model, answer in zip(MODELS, await switch_a_running_chat(client, questions), strict=True):
                    print(f"  {model:32} {answer}")


if __name__ == "__main__":
    asyncio.run(main())
