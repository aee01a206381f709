"""Record finished AgentWorkflow histories into tests/fixtures/histories/, for the replay test.

Run after a deliberate, compatible change to the workflow's history (and say why in the commit):
    .venv/bin/python tests/record_histories.py
The replay test then proves the current code still replays what the recorded code wrote, so a
change that would break running conversations fails CI instead of production workers.
"""

from __future__ import annotations

import asyncio
import sys
import sysconfig
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from agent_kit import add, agent_worker, get_weather, wait_for_state
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolOptions
from durable_llm.testing import ScriptedModel, call_tools

HISTORIES = Path(__file__).parent / "fixtures" / "histories"
TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"


async def tools_in_parallel(client: Client, queue: str) -> WorkflowHandle:
    """One message; the model calls two tools at once, then answers."""
    agent = Agent(model="test:weather", instructions="Be brief.", tools=[get_weather, add])
    return await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=agent, message="Weather in Paris, and 2+3?"),
        id="history-tools-in-parallel",
        task_queue=queue,
    )


async def chat_with_approval(client: Client, queue: str) -> WorkflowHandle:
    """A chat: a tool needing approval (approved), a follow-up message, then the end."""
    agent = Agent(
        model="test:weather", tools=[get_weather, add], tool_options={"add": ToolOptions(requires_approval=True)}
    )
    handle = await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=agent, message="Weather in Paris, and 2+3?", chat=True),
        id="history-chat-with-approval",
        task_queue=queue,
    )
    status = await wait_for_state(handle, "waiting_for_approval")
    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[status.pending_approvals[0].call_id, True])
    await wait_for_state(handle, "waiting_for_input")
    await handle.execute_update(AgentWorkflow.send_message, "Thanks!")
    await handle.signal(AgentWorkflow.end_conversation)
    return handle


SCENARIOS: dict[str, Callable[[Client, str], Awaitable[WorkflowHandle]]] = {
    "tools_in_parallel": tools_in_parallel,
    "chat_with_approval": chat_with_approval,
}


async def main() -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL_CLI)) as env:
        for name, scenario in SCENARIOS.items():
            model = ScriptedModel(
                [
                    call_tools(("get_weather", {"city": "Paris"}), ("add", {"a": 2, "b": 3})),
                    "Sunny in Paris; 2 + 3 = 5.",
                    "You are welcome.",
                ]
            )
            plugin = DurableLLMPlugin(tools=[get_weather, add], scripted_models={"weather": model})
            async with agent_worker(env, plugin) as (client, queue):
                handle = await scenario(client, queue)
                await handle.result()
                history = await handle.fetch_history()
            path = HISTORIES / f"{name}.json"
            path.write_text(history.to_json() + "\n")
            print(f"{path}: {len(history.events)} events")


if __name__ == "__main__":
    asyncio.run(main())
