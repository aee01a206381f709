"""`durable_llm.follow_conversation`: a client sees every message once, in order, and the agent's state."""

from __future__ import annotations

import asyncio

from agent_kit import agent_worker, new_id

from durable_llm import (
    Agent,
    AgentInput,
    AgentWorkflow,
    DurableLLMPlugin,
    ToolOptions,
    follow_conversation,
    send_message,
)
from durable_llm.testing import ScriptedModel, call_tools


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name.
    """
    return f"12:00 in {city}"


async def test_following_a_run_yields_each_message_once_then_the_result(temporal_env):
    model = ScriptedModel([call_tools(("get_time", {"city": "Paris"})), "Noon in Paris."])
    plugin = DurableLLMPlugin(tools=[get_time], scripted_models={"clock": model})
    agent = Agent(model="test:clock", tools=[get_time])
    async with agent_worker(temporal_env, plugin) as (client, task_queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Time in Paris?"), id=new_id(), task_queue=task_queue
        )
        result = asyncio.ensure_future(handle.result())
        updates = [update async for update in follow_conversation(handle, result, interval=0.05)]

    seen = [message for update in updates for message in update.messages]
    assert seen == list((await result).messages)
    assert [m.role for m in seen] == ["user", "assistant", "tool", "assistant"]
    assert updates[-1].status.state == "done" and updates[-1].offset == 4
    assert [u.offset for u in updates] == sorted(u.offset for u in updates)


async def test_following_a_reply_shows_the_approval_the_agent_waits_for(temporal_env):
    model = ScriptedModel([call_tools(("get_time", {"city": "Oslo"})), "Noon in Oslo."])
    plugin = DurableLLMPlugin(tools=[get_time], scripted_models={"clock": model})
    agent = Agent(model="test:clock", tools=[get_time], tool_options={"get_time": ToolOptions(requires_approval=True)})
    async with agent_worker(temporal_env, plugin) as (client, task_queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=task_queue
        )
        reply = asyncio.ensure_future(send_message(handle, "Time in Oslo?"))
        approvals, seen = [], []
        async for update in follow_conversation(handle, reply, interval=0.05):
            seen.extend(update.messages)
            for pending in update.status.pending_approvals:
                if pending.call_id not in {p.call_id for p in approvals}:
                    approvals.append(pending)
                    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[pending.call_id, True, None])
            last = update

    assert await reply == "Noon in Oslo."
    assert [(p.name, p.arguments_raw) for p in approvals] == [("get_time", '{"city":"Oslo"}')]
    assert [m.role for m in seen] == ["user", "assistant", "tool", "assistant"]  # the reply's message included
    assert last.offset == 4 and seen[-1].text == "Noon in Oslo."
