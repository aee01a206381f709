"""History stays linear: every message enters the workflow history once, whatever the conversation's length."""

from __future__ import annotations

import itertools

from agent_kit import agent_worker, history_payload_bytes, new_id
from temporalio.api.enums.v1 import EventType

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin
from durable_llm.conversation import ModelRequest
from durable_llm.testing import ScriptedModel, call_tools

TURNS = 16
TEXT = "x" * 2000  # a 2 KB message each way


def measure(text: str) -> int:
    """Measure a text.

    Args:
        text: What to measure.
    """
    return len(text)


def one_tool_then_answer(request: ModelRequest):
    if request.messages[-1].role == "user":
        return call_tools(("measure", {"text": request.messages[-1].text[:100]}))
    return f"turn {len(request.messages)}: {TEXT}"


async def test_history_grows_linearly_with_the_number_of_turns(temporal_env):
    plugin = DurableLLMPlugin(tools=[measure], scripted_models={"m": ScriptedModel(one_tool_then_answer)})
    # As a worker in another process than the workflow's: the transcript comes through the query.
    plugin.agent_activities.read_in_process = False
    agent = Agent(model="test:m", instructions="Answer at length. " * 50, tools=[measure])
    sizes = []
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        sizes.append(await history_payload_bytes(handle))
        for turn in range(TURNS):
            await handle.execute_update(AgentWorkflow.send_message, f"{turn}: {TEXT}")
            sizes.append(await history_payload_bytes(handle))
        model_inputs = [
            len(event.activity_task_scheduled_event_attributes.input.SerializeToString())
            async for event in handle.fetch_history_events()
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
            and event.activity_task_scheduled_event_attributes.activity_type.name == "durable_llm.call_model"
        ]
        await handle.signal(AgentWorkflow.end_conversation)
        await handle.result()
    growth = [after - before for before, after in itertools.pairwise(sizes)]
    print(
        f"{TURNS} turns of 2 KB each way: history payloads {sizes[-1]} bytes, "
        f"{min(growth)}-{max(growth)} bytes per turn; model activity input at most {max(model_inputs)} bytes"
    )
    assert max(growth[1:]) - min(growth[1:]) < 200  # the same for the 2nd turn and the 16th
    assert growth[0] - growth[1] < 500  # the 1st also records, once, the markers of the workflow's patches
    assert max(model_inputs) < 300  # a reference, not the conversation
    assert len(model_inputs) == 2 * TURNS
    assert plugin.agent_activities.transcript_fetches == 2 * TURNS  # only what the worker lacked, once per call
