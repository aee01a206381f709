"""Long conversations: automatic continue-as-new, transcripts by reference, large tool results.

Continue-as-new is the real one: a second dev server suggests it after `SUGGEST_AFTER_EVENTS`
history events instead of 4,096, so a chat hops to a new run every few exchanges.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from agent_kit import agent_worker, new_id, wait_for_state
from conftest import TEMPORAL_CLI
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHandle
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_llm import (
    AesGcmCodec,
    Agent,
    AgentInput,
    AgentResult,
    AgentWorkflow,
    DurableLLMPlugin,
    LocalBlobDriver,
    Message,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolOptions,
    ToolResultPart,
    Usage,
    send_message,
)
from durable_llm.testing import ScriptedModel, call_tools

SUGGEST_AFTER_EVENTS = 60


@pytest_asyncio.fixture(scope="module")
async def hopping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server that suggests continue-as-new after `SUGGEST_AFTER_EVENTS` events."""
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI),
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={SUGGEST_AFTER_EVENTS}",
        ],
    ) as env:
        yield env


def echo(request: ModelRequest) -> ModelResponse:
    """Repeats the last user message and counts what it was shown; one input token per message."""
    text = f"you said {request.messages[-1].text!r} ({len(request.messages)} messages)"
    return ModelResponse(
        provider="test",
        message=Message(role="assistant", parts=(TextPart(text=text),)),
        usage=Usage(input_tokens=len(request.messages), output_tokens=1),
    )


async def start_chat(client, queue: str, agent: Agent | None = None) -> WorkflowHandle:
    agent = agent or Agent(model="test:echo", instructions="Echo.")
    return await client.start_workflow(
        AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
    )


async def whole_history(handle: WorkflowHandle, limit: int) -> list[Message]:
    """Every message, read through the `history` query `limit` at a time."""
    messages: list[Message] = []
    while True:
        page = await handle.query(AgentWorkflow.history, args=[len(messages), limit])
        messages.extend(page.messages)
        if len(messages) >= page.total:
            return messages


async def end(handle: WorkflowHandle) -> AgentResult:
    await handle.signal(AgentWorkflow.end_conversation)
    return await asyncio.wait_for(handle.result(), timeout=30)


IN_PROCESS = pytest.mark.parametrize(
    "in_process", [True, False], ids=["activities_in_the_workflows_process", "elsewhere"]
)


@IN_PROCESS
async def test_continue_as_new_in_the_middle_of_a_chat_loses_no_message(hopping_env, in_process):
    plugin = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    plugin.agent_activities.read_in_process = in_process
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue)

        async def caller(name: str) -> list[str]:
            return [await send_message(handle, f"{name}{i}") for i in range(8)]

        replies = await asyncio.gather(*(caller(name) for name in "abc"))
        status = await handle.query(AgentWorkflow.status)
        result = await end(handle)

    print(f"24 messages from 3 concurrent callers: {status.run} runs")
    assert status.run >= 2  # hops happened while messages were coming in
    for name, answers in zip("abc", replies, strict=True):
        assert [a.split(" (")[0] for a in answers] == [f"you said '{name}{i}'" for i in range(8)]
    user_texts = [m.text for m in result.messages if m.role == "user"]
    assert sorted(user_texts) == sorted(f"{name}{i}" for name in "abc" for i in range(8))
    for number, (question, answer) in enumerate(zip(result.messages[::2], result.messages[1::2], strict=True)):
        assert answer.text == f"you said {question.text!r} ({2 * number + 1} messages)"
    # Totals carried from run to run: every call saw 1, 3, 5... messages.
    assert (result.turns, status.turns) == (24, 24)
    assert result.usage.input_tokens == sum(range(1, 48, 2))
    assert result.usage.output_tokens == 24


async def test_history_query_after_continue_as_new_returns_the_whole_conversation(hopping_env):
    plugin = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue)
        for i in range(12):
            await send_message(handle, f"message {i}")
        status = await handle.query(AgentWorkflow.status)
        paged = await whole_history(handle, limit=5)
        result = await end(handle)

    assert status.run >= 2
    assert len(paged) == 24
    assert paged == list(result.messages)
    assert [m.text for m in paged[::2]] == [f"message {i}" for i in range(12)]


@IN_PROCESS
async def test_a_worker_restarted_with_an_empty_cache_continues_a_long_conversation(hopping_env, in_process):
    agent = Agent(model="test:echo", instructions="Echo.")
    first = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    async with agent_worker(hopping_env, first) as (client, queue):
        handle = await start_chat(client, queue, agent)
        for i in range(12):
            await send_message(handle, f"before {i}")
        status = await handle.query(AgentWorkflow.status)
    assert status.run >= 2  # the earlier messages are in a snapshot, not in this run's history

    # A new worker: no cached workflow, no cached transcript. It replays the run, then answers.
    model = ScriptedModel(echo)
    second = DurableLLMPlugin(scripted_models={"echo": model})
    second.agent_activities.read_in_process = in_process
    async with agent_worker(hopping_env, second, task_queue=queue):
        reply = await send_message(handle, "after the restart")
        result = await end(handle)

    assert reply == "you said 'after the restart' (25 messages)"
    [request] = model.requests
    assert list(request.messages) == list(result.messages[:25])
    assert [m.text for m in request.messages[:24:2]] == [f"before {i}" for i in range(12)]
    assert request.instructions == "Echo."
    # In the workflow's process, from the replayed workflow's memory; elsewhere, the messages of
    # earlier runs from the snapshot blob and the rest from one query.
    reads = (second.agent_activities.snapshot_reads, second.agent_activities.transcript_fetches)
    assert reads == ((0, 0) if in_process else (1, 1))


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
async def test_many_runs_store_the_transcript_in_few_segments_and_a_fresh_worker_reads_them_all(
    hopping_env, tmp_path: Path, encrypted: bool
):
    converter = DataConverter(payload_codec=AesGcmCodec(os.urandom(32)) if encrypted else None)

    def client_with(plugin: DurableLLMPlugin) -> Client:
        service = hopping_env.client.service_client
        return Client(service, namespace=hopping_env.client.namespace, data_converter=converter, plugins=[plugin])

    queue = f"agent-{new_id()}"
    first = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)}, storage=LocalBlobDriver(tmp_path))
    client = client_with(first)
    async with Worker(client, task_queue=queue):
        handle = await start_chat(client, queue)
        for i in range(30):
            await send_message(handle, f"before {i}")
        status = await handle.query(AgentWorkflow.status)
        # What the current run started from (the checkpoint in its input), and how it loaded it (if the
        # last message made the chat continue as new, the new run may still be loading it).
        for _ in range(100):
            events = (await handle.fetch_history()).events
            [started_with] = await client.data_converter.decode(
                events[0].workflow_execution_started_event_attributes.input.payloads, [AgentInput]
            )
            loaded = [
                event.activity_task_completed_event_attributes.result.payloads[0].SerializeToString(deterministic=True)
                for event in events
                if event.HasField("activity_task_completed_event_attributes")
            ][: len(started_with.checkpoint.transcript.segments)]
            if len(loaded) == len(started_with.checkpoint.transcript.segments):
                break
            await asyncio.sleep(0.05)

    snapshot = started_with.checkpoint.transcript
    sizes = [segment.count - segment.start for segment in snapshot.segments]
    print(f"{status.run} runs, transcript of {snapshot.count} messages in segments of {sizes}")
    assert status.run >= 6
    # Contiguous, oldest (and largest) first, about log2(runs) of them: no run stored it all again.
    assert [segment.start for segment in snapshot.segments] == [0, *itertools.accumulate(sizes)][:-1]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes)
    assert 2 <= len(sizes) <= math.log2(status.run) + 1
    # Each segment came back to the workflow as the very reference it was stored under: no new blob.
    # (Compared as deterministic serializations: a payload's metadata map has no fixed byte order.)
    stored = [Payload.FromString(base64.b64decode(segment.payload)) for segment in snapshot.segments]
    assert sorted(loaded) == sorted(payload.SerializeToString(deterministic=True) for payload in stored)

    # A worker with nothing cached, in another process than the workflow: every segment is read back.
    model = ScriptedModel(echo)
    second = DurableLLMPlugin(scripted_models={"echo": model}, storage=LocalBlobDriver(tmp_path))
    second.agent_activities.read_in_process = False
    async with Worker(client_with(second), task_queue=queue):
        await send_message(handle, "after")
        result = await end(handle)

    [request] = model.requests
    assert [m.text for m in request.messages[::2]] == [*(f"before {i}" for i in range(30)), "after"]
    assert list(request.messages) == list(result.messages[:61])


def fetch_page(size: int) -> str:
    """Fetch a large page of text.

    Args:
        size: How many characters.
    """
    return ("All work and no play makes Jack a dull boy. " * (size // 44 + 1))[:size]


async def test_a_5mb_tool_result_is_stored_by_reference_and_the_model_sees_it(temporal_env, blob_directory: Path):
    model = ScriptedModel([call_tools(("fetch_page", {"size": 5_000_000})), "It is about Jack."])
    plugin = DurableLLMPlugin(tools=[fetch_page], scripted_models={"m": model})
    agent = Agent(model="test:m", tools=[fetch_page])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="What is the page about?"), id=new_id(), task_queue=queue
        )
        result = await asyncio.wait_for(handle.result(), timeout=30)
        history = History(events=(await handle.fetch_history()).events)

    [page] = model.requests[1].messages[2].parts
    assert isinstance(page, ToolResultPart)
    assert page.text == fetch_page(5_000_000)
    assert result.output == "It is about Jack."
    # The 5 MB went to the blob store: the history holds references.
    print(f"5 MB tool result: workflow history {history.ByteSize():,} bytes")
    assert history.ByteSize() < 20_000
    assert any(path.stat().st_size > 5_000_000 for path in blob_directory.rglob("*") if path.is_file())


def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: Which file.
    """
    return f"deleted {path}"


def look(step: int) -> str:
    """Look around.

    Args:
        step: Which step this is.
    """
    return f"step {step} done"


def busy_then_delete(request: ModelRequest) -> ModelResponse | str:
    """Twelve rounds of `look` (past the continue-as-new suggestion), then a call needing approval."""
    rounds = sum(m.role == "tool" for m in request.messages)
    if request.messages[-1].role == "user" and request.messages[-1].text != "Clean up.":
        return f"you said {request.messages[-1].text!r}"
    if rounds < 12:
        return call_tools(("look", {"step": rounds}))
    if rounds == 12:
        return call_tools(("delete_file", {"path": "/tmp/old"}))
    return "Cleaned up."


async def test_a_call_waiting_for_approval_holds_continue_as_new_until_answered(hopping_env):
    plugin = DurableLLMPlugin(tools=[look, delete_file], scripted_models={"m": ScriptedModel(busy_then_delete)})
    agent = Agent(
        model="test:m",
        tools=[look, delete_file],
        tool_options={"delete_file": ToolOptions(requires_approval=True)},
        max_turns=20,
    )
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue, agent)
        cleaning = asyncio.create_task(send_message(handle, "Clean up."))
        status = await wait_for_state(handle, "waiting_for_approval")
        # Suggested by now, but the run cannot end mid-exchange; a new message waits for the next run.
        waiting = asyncio.create_task(send_message(handle, "and then?"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert (await handle.query(AgentWorkflow.status)).run == 1
        await handle.execute_update(AgentWorkflow.approve_tool_call, args=[status.pending_approvals[0].call_id, True])
        assert await asyncio.wait_for(cleaning, timeout=10) == "Cleaned up."
        reply = await asyncio.wait_for(waiting, timeout=10)
        after = await handle.query(AgentWorkflow.status)
        result = await end(handle)

    assert reply == "you said 'and then?'"
    assert after.run == 2
    deleted, cleaned, question, answer = result.messages[-4:]
    [outcome] = deleted.parts
    assert isinstance(outcome, ToolResultPart) and outcome.text == "deleted /tmp/old"
    assert [m.text for m in (cleaned, question, answer)] == ["Cleaned up.", "and then?", reply]


async def test_without_external_storage_a_chat_still_continues_as_new(hopping_env, blob_directory: Path):
    blobs_before = sorted(blob_directory.rglob("*"))
    plugin = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)}, storage=False)
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue)
        for i in range(12):
            await send_message(handle, f"message {i}")
        status = await handle.query(AgentWorkflow.status)
        result = await end(handle)

    assert status.run >= 2  # the transcript travelled inside the next run's input
    assert [m.text for m in result.messages[::2]] == [f"message {i}" for i in range(12)]
    assert sorted(blob_directory.rglob("*")) == blobs_before


def read_book(title: str) -> str:
    """Read a whole book.

    Args:
        title: Which book.
    """
    return fetch_page(1_600_000)


def read_then_echo(request: ModelRequest) -> ModelResponse | str:
    """Reads a book when asked to, then repeats what it is told."""
    last = request.messages[-1]
    if last.role == "tool":
        return "Read it."
    if last.text == "Read the book.":
        return call_tools(("read_book", {"title": "The Shining"}))
    return f"you said {last.text!r}"


async def test_a_chat_whose_transcript_cannot_be_stored_goes_on_in_the_same_run(hopping_env):
    # No blob store, and a transcript too large to travel inline: continuing as new is impossible.
    plugin = DurableLLMPlugin(tools=[read_book], scripted_models={"m": ScriptedModel(read_then_echo)}, storage=False)
    texts = ["Read the book.", *(f"message {i}" for i in range(7))]
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue, Agent(model="test:m", tools=[read_book]))
        replies = [await send_message(handle, text) for text in texts]
        status = await handle.query(AgentWorkflow.status)
        await handle.signal(AgentWorkflow.end_conversation)
        history = await handle.fetch_history()

    assert replies == ["Read it.", *(f"you said 'message {i}'" for i in range(7))]
    assert (status.run, status.turns) == (1, 9)
    saves = [
        event
        for event in history.events
        if event.activity_task_scheduled_event_attributes.activity_type.name == "durable_llm.save_transcript"
    ]
    assert len(saves) >= 2  # tried again after a later model call


async def test_a_follower_keeps_receiving_the_events_of_a_chat_across_its_continue_as_new(hopping_env):
    from durable_llm import follow
    from durable_llm.events import ConversationEnded, Delta, UserMessage

    plugin = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue)
        events = []

        async def follower() -> None:
            async for event in follow(client, handle.id):
                events.append(event)

        following = asyncio.ensure_future(follower())
        replies = [await send_message(handle, f"message {i}") for i in range(12)]
        status = await handle.query(AgentWorkflow.status)
        await end(handle)
        await asyncio.wait_for(following, timeout=30)

    assert status.run >= 2  # the chat continued as new while followed
    assert [e.text for e in events if isinstance(e, UserMessage)] == [f"message {i}" for i in range(12)]
    assert [e.text for e in events if isinstance(e, Delta)] == replies
    published = [e.offset for e in events if not isinstance(e, Delta)]
    assert published == sorted(set(published))  # one sequence of offsets across the runs, each event once
    assert [e.offset for e in events] == sorted(e.offset for e in events)  # a piece sits before the next event
    assert isinstance(events[-1], ConversationEnded)
