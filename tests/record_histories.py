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

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolOptions, send_message
from durable_llm.conversation import ModelRequest
from durable_llm.testing import ScriptedModel, call_tools

HISTORIES = Path(__file__).parent / "fixtures" / "histories"
TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"
SUGGEST_AFTER_EVENTS = 40
"""The server of `chat_continued_as_new` suggests continue-as-new this early, so the chat hops once."""


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


async def chat_continued_as_new(client: Client, queue: str) -> WorkflowHandle:
    """A chat that continues as new once (the server suggests it early), then one more message and the end."""
    handle = await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=Agent(model="test:echo", instructions="Echo."), chat=True),
        id="history-chat-continued-as-new",
        task_queue=queue,
    )
    while (await handle.query(AgentWorkflow.status)).run == 1:
        await send_message(handle, "Hello again.")
    await send_message(handle, "Last one.")
    await handle.signal(AgentWorkflow.end_conversation)
    return handle


SCENARIOS: dict[str, Callable[[Client, str], Awaitable[WorkflowHandle]]] = {
    "tools_in_parallel": tools_in_parallel,
    "chat_with_approval": chat_with_approval,
}


def echo(request: ModelRequest) -> str:
    return f"you said {request.messages[-1].text!r}"


async def record(env: WorkflowEnvironment, name: str, scenario: Callable[[Client, str], Awaitable[WorkflowHandle]]):
    """Run `scenario` and write the history of each of its runs (`<name>.json`, or `<name>.<run>.json`)."""
    weather = ScriptedModel(
        [
            call_tools(("get_weather", {"city": "Paris"}), ("add", {"a": 2, "b": 3})),
            "Sunny in Paris; 2 + 3 = 5.",
            "You are welcome.",
        ]
    )
    plugin = DurableLLMPlugin(
        tools=[get_weather, add], scripted_models={"weather": weather, "echo": ScriptedModel(echo)}
    )
    async with agent_worker(env, plugin) as (client, queue):
        handle = await scenario(client, queue)
        await handle.result()
        runs = []
        run_id = handle.first_execution_run_id
        while run_id:
            history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
            runs.append(history)
            last = history.events[-1]
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
    for number, history in enumerate(runs, start=1):
        path = HISTORIES / (f"{name}.json" if len(runs) == 1 else f"{name}.run{number}.json")
        path.write_text(history.to_json() + "\n")
        print(f"{path}: {len(history.events)} events")


async def main() -> None:
    HISTORIES.mkdir(parents=True, exist_ok=True)
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL_CLI)) as env:
        for name, scenario in SCENARIOS.items():
            await record(env, name, scenario)
    hopping = ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}"]
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI), dev_server_extra_args=hopping
    ) as env:
        await record(env, "chat_continued_as_new", chat_continued_as_new)


if __name__ == "__main__":
    asyncio.run(main())
