"""`durable_llm.follow`: a conversation's events reach clients in any process as they happen, resumably."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from agent_kit import agent_worker, new_id

from durable_llm import (
    Agent,
    AgentInput,
    AgentWorkflow,
    ConversationNotFound,
    DurableLLMPlugin,
    ToolOptions,
    follow,
    send_message,
)
from durable_llm.events import (
    ApprovalRequested,
    ConversationEnded,
    Delta,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    UserMessage,
)
from durable_llm.testing import FakeVendorServer, ScriptedModel, call_tools, reply

FOLLOWER = Path(__file__).parent / "follow_process.py"
LONG_ANSWER = " ".join(f"word{i}" for i in range(300))  # about 2 KB, in ~100 pieces


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name.
    """
    return f"12:00 in {city}"


async def test_a_follower_sees_the_exchange_approves_its_tool_call_and_ends_with_the_chat(temporal_env):
    model = ScriptedModel([call_tools(("get_time", {"city": "Oslo"})), "Noon in Oslo."])
    plugin = DurableLLMPlugin(tools=[get_time], scripted_models={"clock": model})
    agent = Agent(model="test:clock", tools=[get_time], tool_options={"get_time": ToolOptions(requires_approval=True)})
    async with agent_worker(temporal_env, plugin) as (client, task_queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=task_queue
        )
        answer = asyncio.ensure_future(send_message(handle, "Time in Oslo?"))
        events = []
        async for event in follow(client, handle.id):
            events.append(event)
            if isinstance(event, ApprovalRequested):
                await handle.execute_update(AgentWorkflow.approve_tool_call, args=[event.call_id, True, None])
            if isinstance(event, TurnFinished):
                await handle.signal(AgentWorkflow.end_conversation)
        assert await answer == "Noon in Oslo."

    kinds = [type(e) for e in events]
    assert kinds[0] is UserMessage and kinds[-2:] == [TurnFinished, ConversationEnded]
    assert kinds.index(ApprovalRequested) < kinds.index(ToolCallStarted) < kinds.index(ToolCallFinished)
    finished = next(e for e in events if isinstance(e, ToolCallFinished))
    assert finished.name == "get_time" and finished.error is None and finished.duration_ms >= 0
    assert "".join(e.text for e in events if isinstance(e, Delta) and e.delta == "text") == "Noon in Oslo."
    arguments = [e for e in events if isinstance(e, Delta) and e.delta == "tool_arguments"]
    assert [(e.text, e.index) for e in arguments] == [('{"city":"Oslo"}', 0)]
    assert kinds.index(Delta) < kinds.index(ApprovalRequested)  # the call's arguments come with its answer
    turn = next(e for e in events if isinstance(e, TurnFinished))
    assert turn.turns == 2 and turn.stop_reason == "completed"
    published = [e.offset for e in events if not isinstance(e, Delta)]
    assert published == sorted(set(published))  # each once, in order
    assert [e.offset for e in events] == sorted(e.offset for e in events)


async def test_following_an_unknown_conversation_says_so(temporal_env):
    with pytest.raises(ConversationNotFound, match="no conversation 'nobody'"):
        async for _ in follow(temporal_env.client, "nobody"):
            pass


async def _follower(env, conversation_id: str, after: dict | None, deltas: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(FOLLOWER),
        env.client.service_client.config.target_host,
        env.client.namespace,
        conversation_id,
        json.dumps(after) if after else "",
        str(deltas),
        stdout=asyncio.subprocess.PIPE,
    )


async def _events(process: asyncio.subprocess.Process) -> list[dict]:
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_a_client_in_another_process_gets_the_answer_as_written_and_resumes_from_its_offset(
    temporal_env, monkeypatch
):
    with FakeVendorServer("openai", [reply(LONG_ANSWER)], event_interval=0.03) as vendor:
        for key, value in vendor.env().items():
            monkeypatch.setenv(key, value)
        plugin = DurableLLMPlugin()
        async with agent_worker(temporal_env, plugin) as (client, task_queue):
            handle = await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=Agent(model="openai:gpt-4.1-mini"), chat=True),
                id=new_id(),
                task_queue=task_queue,
            )
            first = await _follower(temporal_env, handle.id, None, deltas=3)
            await asyncio.sleep(1)  # the follower is connected before the answer starts
            answer = asyncio.ensure_future(send_message(handle, "Count to 300."))
            before = await _events(first)
            assert not answer.done(), "the follower got its pieces only once the turn had ended"
            resumed = await _follower(temporal_env, handle.id, before[-1], deltas=0)
            after = await _events(resumed)
            assert await answer == LONG_ANSWER

    events = before + after
    assert [e["kind"] for e in before] == ["user_message", "delta", "delta", "delta"]
    assert [e["kind"] for e in after if e["kind"] != "delta"] == ["turn_finished"]
    deltas = [e for e in events if e["kind"] == "delta"]
    # Nothing missed, nothing repeated: each piece goes where the text shown so far ends.
    shown = ""
    for delta in deltas:
        assert delta["position"] == len(shown) and delta["attempt"] == 1
        shown += delta["text"]
    assert shown == LONG_ANSWER
    assert len(deltas) > 3


async def _one_exchange_history(client, task_queue: str, followed: bool) -> list:
    handle = await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=Agent(model="openai:gpt-4.1-mini"), chat=True),
        id=new_id(),
        task_queue=task_queue,
    )
    # Both begin once the workflow's first task is done: a query arriving with it (here the follower's
    # first) can make the worker leave an update of that task unprocessed, costing one more task, once.
    await handle.query(AgentWorkflow.status)
    answer = asyncio.ensure_future(send_message(handle, "Count to 300."))
    if followed:
        deltas = []
        async for event in follow(client, handle.id):
            deltas += [event] if isinstance(event, Delta) else []
            if isinstance(event, TurnFinished):
                break
        assert len(deltas) > 1 and "".join(d.text for d in deltas) == LONG_ANSWER
    assert await answer == LONG_ANSWER
    await handle.signal(AgentWorkflow.end_conversation)
    await handle.result()
    return list((await handle.fetch_history()).events)


async def test_a_followed_streamed_exchange_adds_nothing_to_the_history(temporal_env, monkeypatch):
    from temporalio.api.history.v1 import History

    import durable_llm.activities

    with FakeVendorServer("openai", [reply(LONG_ANSWER)] * 2, event_interval=0.02) as vendor:
        for key, value in vendor.env().items():
            monkeypatch.setenv(key, value)
        async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, task_queue):
            with monkeypatch.context() as unstreamed:  # the same exchange, its answer neither streamed nor reported
                unstreamed.setattr(durable_llm.activities, "_answer_reporter", lambda turn, agent: None)
                plain = await _one_exchange_history(client, task_queue, followed=False)
            streamed = await _one_exchange_history(client, task_queue, followed=True)

    assert [e.event_type for e in streamed] == [e.event_type for e in plain]  # no signal, no update of a follower
    plain_bytes, streamed_bytes = History(events=plain).ByteSize(), History(events=streamed).ByteSize()
    assert abs(streamed_bytes - plain_bytes) < plain_bytes * 0.02, (plain_bytes, streamed_bytes)


async def test_following_an_ended_conversation_reads_its_events_and_ends(temporal_env):
    plugin = DurableLLMPlugin(scripted_models={"hello": ScriptedModel(["Hello there."])})
    async with agent_worker(temporal_env, plugin) as (client, task_queue):
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=Agent(model="test:hello"), message="Hi"),
            id=new_id(),
            task_queue=task_queue,
        )
        await handle.result()
        events = [event async for event in follow(client, handle.id)]
        tail = [event async for event in follow(client, handle.id, after=events[0])]

    assert [type(e) for e in events] == [UserMessage, Delta, TurnFinished, ConversationEnded]
    assert events[1].text == "Hello there." and tail == events[1:]


async def test_workers_send_heartbeats_often_enough_for_the_answer_to_stream_unless_told_otherwise(temporal_env):
    from datetime import timedelta

    from temporalio.client import Client
    from temporalio.worker import Worker

    from durable_llm.plugin import HEARTBEAT_THROTTLE

    client = Client(temporal_env.client.service_client, plugins=[DurableLLMPlugin()])
    assert (
        Worker(client, task_queue=new_id()).config(active_config=True)["max_heartbeat_throttle_interval"]
        == HEARTBEAT_THROTTLE
    )
    own = Worker(client, task_queue=new_id(), max_heartbeat_throttle_interval=timedelta(seconds=5))
    assert own.config(active_config=True)["max_heartbeat_throttle_interval"] == timedelta(seconds=5)
