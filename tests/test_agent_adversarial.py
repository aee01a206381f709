"""Nothing a model, a client or a tool sends can freeze, poison or repeat a conversation.

Each test drives the real dev server; the model is a real vendor SDK talking to a fake vendor
server on loopback, scripted to send what a careless or hostile party would.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import re

import pytest
from agent_kit import add, agent_worker, get_weather, new_id, wait_for_state
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ActivityError
from temporalio.worker import Replayer

from durable_llm import (
    Agent,
    AgentInput,
    AgentWorkflow,
    Checkpoint,
    DurableLLMPlugin,
    ToolCallPart,
    ToolOptions,
    send_message,
)
from durable_llm.agent import TranscriptSnapshot
from durable_llm.conversation import ModelRequest, ToolResultPart
from durable_llm.payload_guard import PayloadTooLarge
from durable_llm.storage import AesGcmCodec, LocalBlobDriver, external_storage, with_external_storage
from durable_llm.testing import FakeVendorServer, ScriptedModel, call_tools, reply

MODELS = {
    "openai": "openai:gpt-5-mini",
    "anthropic": "anthropic:claude-sonnet-4-5",
    "gemini": "gemini:gemini-2.5-flash",
}
ENOUGH = 60
"""Seconds any of these conversations takes at most; a stuck workflow task never ends."""


@pytest.fixture
def vendor_env(monkeypatch):
    """Start a fake server for a provider and point the worker's SDK at it."""
    servers: list[FakeVendorServer] = []

    def start(provider: str, script) -> FakeVendorServer:
        server = FakeVendorServer(provider, responses=script).start()
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def call(call_id: str | None, name: str, arguments: dict) -> ToolCallPart:
    return ToolCallPart(id=call_id, name=name, arguments_raw=json.dumps(arguments))


def results(message) -> list[ToolResultPart]:
    return [p for p in message.parts if isinstance(p, ToolResultPart)]


# 1. Tool-call ids are data, never Temporal ids.


@pytest.mark.parametrize("provider", list(MODELS))
async def test_duplicate_huge_and_unicode_call_ids_never_stall_the_conversation(temporal_env, vendor_env, provider):
    huge, odd = "x" * 10_000, "appel-\u00e9\u4e2d\U0001f600"
    calls = [
        call("dup", "add", {"a": 1, "b": 2}),
        call("dup", "add", {"a": 10, "b": 20}),
        call(huge, "get_weather", {"city": "Paris"}),
        call(odd, "add", {"a": 100, "b": 200}),
    ]
    server = vendor_env(provider, [call_tools(*calls), reply("Done.")])
    plugin = DurableLLMPlugin(tools=[add, get_weather])
    agent = Agent(model=MODELS[provider], tools=[add, get_weather])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        run = client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Sums."), id=new_id(), task_queue=queue
        )
        result = await asyncio.wait_for(run, ENOUGH)
    assert result.output == "Done."
    answered = results(result.messages[2])
    # Results pair with calls by position; the model's ids stay as it wrote them, whatever they are.
    assert [r.value for r in answered] == [3, 30, {"city": "Paris", "sky": "sunny", "celsius": 21}, 300]
    assert [r.call_id for r in answered] == ["dup", "dup", huge, odd]
    assert [c.id for c in result.messages[1].tool_calls] == ["dup", "dup", huge, odd]
    # The vendor got ids it takes: unique, each result answering its own call.
    second = server.requests[1]
    sent_calls, sent_results = second.messages[1].tool_calls, results(second.messages[2])
    assert len({c.id for c in sent_calls}) == 4
    assert [r.call_id for r in sent_results] == [c.id for c in sent_calls]
    assert all(len(c.id or "") <= 64 for c in sent_calls)


async def test_approvals_of_calls_sharing_an_id_are_told_apart(temporal_env, vendor_env):
    vendor_env(
        "anthropic",
        [call_tools(call("same", "add", {"a": 1, "b": 1}), call("same", "add", {"a": 2, "b": 2})), reply("ok")],
    )
    plugin = DurableLLMPlugin(tools=[add])
    agent = Agent(model=MODELS["anthropic"], tools=[add], tool_options={"add": ToolOptions(requires_approval=True)})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Add."), id=new_id(), task_queue=queue
        )
        status = await wait_for_state(handle, "waiting_for_approval")
        for _ in range(100):  # both calls wait, each under its own key
            if len(status.pending_approvals) == 2:
                break
            await asyncio.sleep(0.05)
            status = await handle.query(AgentWorkflow.status)
        keys = [p.call_id for p in status.pending_approvals]
        assert sorted(keys) == ["1.0", "1.1"]
        assert [p.tool_call_id for p in status.pending_approvals] == ["same", "same"]
        await handle.execute_update(AgentWorkflow.approve_tool_call, args=["1.0", True])
        await handle.execute_update(AgentWorkflow.approve_tool_call, args=["1.1", False, "no"])
        result = await asyncio.wait_for(handle.result(), ENOUGH)
    first, second = results(result.messages[2])
    assert (first.value, first.is_error) == (2, False)
    assert second.is_error and second.text == "the user rejected this call: no"


async def test_a_flood_of_tool_calls_runs_a_bounded_number_and_answers_the_rest(temporal_env, monkeypatch):
    monkeypatch.setattr("durable_llm.loop.MAX_TOOL_CALLS_PER_TURN", 4)
    model = ScriptedModel([call_tools(*[("add", {"a": n, "b": 1}) for n in range(10)]), "Done."])
    plugin = DurableLLMPlugin(tools=[add], scripted_models={"m": model})
    agent = Agent(model="test:m", tools=[add])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        run = client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Add."), id=new_id(), task_queue=queue
        )
        result = await asyncio.wait_for(run, ENOUGH)
    answered = results(result.messages[2])
    assert [r.value for r in answered[:4]] == [1, 2, 3, 4]
    assert all(r.is_error and "at most 4 tool calls" in r.text for r in answered[4:]) and len(answered) == 10


# 2. A tool runs once unless its worker is lost.

CHARGES: list[str] = []


def charge_card(order: str) -> object:
    """Charge the customer's card for an order.

    Args:
        order: The order to charge.
    """
    CHARGES.append(order)
    return object() if order == "object" else b"\xff\xfe not utf-8"


async def test_a_tool_whose_result_cannot_be_serialised_runs_once_and_the_model_is_told(temporal_env, vendor_env):
    CHARGES.clear()
    server = vendor_env(
        "openai", [call_tools(("charge_card", {"order": "object"}), ("charge_card", {"order": "bytes"})), reply("ok")]
    )
    plugin = DurableLLMPlugin(tools=[charge_card])
    agent = Agent(model=MODELS["openai"], tools=[charge_card])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        run = client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Charge."), id=new_id(), task_queue=queue
        )
        result = await asyncio.wait_for(run, ENOUGH)
    assert sorted(CHARGES) == ["bytes", "object"]  # once each, never retried
    for outcome in results(result.messages[2]):
        assert outcome.is_error and outcome.text.startswith("charge_card failed:")
    # The model saw both errors in its next request.
    seen = [r.text for r in results(server.requests[1].messages[2])]
    assert len(seen) == 2 and all("charge_card failed" in text for text in seen)


def huge_error(size: int) -> str:
    """Fail with a very long message.

    Args:
        size: How many characters.
    """
    raise RuntimeError("e" * size)


async def test_a_tool_error_of_any_size_goes_back_to_the_model_shortened(temporal_env, vendor_env):
    vendor_env("gemini", [call_tools(("huge_error", {"size": 5_000_000})), reply("ok")])
    plugin = DurableLLMPlugin(tools=[huge_error], storage=False)
    agent = Agent(model=MODELS["gemini"], tools=[huge_error])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        run = client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Go."), id=new_id(), task_queue=queue
        )
        result = await asyncio.wait_for(run, ENOUGH)
    [outcome] = results(result.messages[2])
    assert outcome.is_error and outcome.text.endswith("(5,000,000 characters)") and len(outcome.text) < 5000


# 3. Blob references are data from outside.


def crafted_reference(reference: Payload, digest: str) -> Payload:
    """`reference` (a real blob-store reference) pointing at `digest` instead."""
    real = re.search(rb"[0-9a-f]{64}", reference.data)
    assert real is not None
    data = reference.data.replace(real.group(), json.dumps(digest)[1:-1].encode())
    return Payload(metadata=dict(reference.metadata), data=data, external_payloads=reference.external_payloads)


async def a_reference(converter) -> Payload:
    [reference] = await converter.encode(["x" * 5000])
    assert len(reference.external_payloads) > 0
    return reference


@pytest.mark.parametrize("digest", ["../../../../etc/hostname", "0" * 63 + "/", "fifo"])
async def test_a_crafted_blob_reference_fails_its_workflow_cleanly_and_reads_nothing(temporal_env, tmp_path, digest):
    store = tmp_path / "store"
    driver = LocalBlobDriver(store)
    plugin = DurableLLMPlugin(tools=[add], storage=driver)
    if digest == "fifo":  # a FIFO planted in the store under a well-formed name: opening it must not block
        digest = "ab" * 32
        fifo = driver.path_for(digest)
        fifo.parent.mkdir(parents=True)
        os.mkfifo(fifo)
    agent = Agent(model="test:unused", tools=[add])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        reference = crafted_reference(await a_reference(client.data_converter), digest)
        snapshot = TranscriptSnapshot(count=1, payload=base64.b64encode(reference.SerializeToString()).decode())
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, chat=True, checkpoint=Checkpoint(transcript=snapshot, run=2)),
            id=new_id(),
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), ENOUGH)
    assert "invalid blob reference" in str(failed.value.cause)


async def test_an_honest_chat_goes_on_while_crafted_references_arrive(temporal_env, tmp_path):
    driver = LocalBlobDriver(tmp_path / "store")
    fifo = driver.path_for("cd" * 32)
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    plugin = DurableLLMPlugin(tools=[add], storage=driver, scripted_models={"echo": _echo_model()})
    agent = Agent(model="test:echo")
    async with agent_worker(temporal_env, plugin) as (client, queue):
        reference = crafted_reference(await a_reference(client.data_converter), "cd" * 32)
        snapshot = TranscriptSnapshot(count=1, payload=base64.b64encode(reference.SerializeToString()).decode())
        attacks = [
            await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=agent, chat=True, checkpoint=Checkpoint(transcript=snapshot, run=2)),
                id=new_id(),
                task_queue=queue,
            )
            for _ in range(8)
        ]
        honest = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        for number in range(3):
            answer = await asyncio.wait_for(send_message(honest, f"message {number}"), 20)
            assert answer == f"echo: message {number}"
        for attack in attacks:
            with pytest.raises(WorkflowFailureError):
                await asyncio.wait_for(attack.result(), ENOUGH)


def _echo_model():
    return ScriptedModel(lambda request: f"echo: {request.messages[-1].text}")


# 4. A failed exchange does not poison the chat.


@pytest.mark.parametrize("provider", list(MODELS))
async def test_a_turn_the_vendor_refuses_for_good_leaves_the_chat_usable(temporal_env, vendor_env, provider):
    def vendor(request: ModelRequest):
        if any("BAD ATTACHMENT" in m.text for m in request.messages):
            raise ValueError("this attachment cannot be read")  # the fake server answers 400
        return reply(f"answer {len(request.messages)}")

    server = vendor_env(provider, vendor)
    plugin = DurableLLMPlugin()
    agent = Agent(model=MODELS[provider])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        assert await send_message(handle, "hello") == "answer 1"
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await asyncio.wait_for(send_message(handle, "look: BAD ATTACHMENT"), ENOUGH)
        assert isinstance(failed.value.cause, ActivityError)
        assert "attachment cannot be read" in str(failed.value.cause.cause)
        # The next message is answered, and the model no longer sees the failed one.
        assert await asyncio.wait_for(send_message(handle, "and now?"), ENOUGH) == "answer 3"
        assert [m.text for m in server.requests[-1].messages] == ["hello", "answer 1", "and now?"]
        status = await handle.query(AgentWorkflow.status)
        [failed_exchange] = status.failed_exchanges
        assert (failed_exchange.start, failed_exchange.end) == (2, 3)
        assert "attachment cannot be read" in failed_exchange.error
        # Kept for the record.
        page = await handle.query(AgentWorkflow.history, args=[0, 100])
        assert [m.text for m in page.messages] == ["hello", "answer 1", "look: BAD ATTACHMENT", "and now?", "answer 3"]
        await handle.signal(AgentWorkflow.end_conversation)
        await handle.result()


# 5. An update argument over the payload limit is refused before it is accepted.


async def test_a_message_too_large_for_the_history_is_refused_at_send_time_and_the_chat_goes_on(temporal_env):
    plugin = DurableLLMPlugin(storage=False, scripted_models={"echo": _echo_model()})
    agent = Agent(model="test:echo")
    big = "y" * (3 * 1024 * 1024)
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        # Refused before it leaves (the worker cannot: its answer to an update would carry the 3 MiB).
        with pytest.raises(PayloadTooLarge, match=r"send_message.*Turn the blob store on"):
            await send_message(handle, big)
        assert await asyncio.wait_for(send_message(handle, "small"), 20) == "echo: small"
        await handle.signal(AgentWorkflow.end_conversation)
        result = await asyncio.wait_for(handle.result(), 20)
    assert [m.text for m in result.messages] == ["small", "echo: small"]


# Smaller ones.


async def test_vendor_error_text_is_encrypted_in_the_history_with_a_codec(temporal_env, vendor_env, tmp_path):
    server = vendor_env("anthropic", [reply("never")])
    server.fail(
        400, body={"type": "error", "error": {"type": "invalid_request_error", "message": "SECRET-CUSTOMER-42"}}
    )
    converter = with_external_storage(
        dataclasses.replace(pydantic_data_converter, payload_codec=AesGcmCodec(os.urandom(32))),
        external_storage(LocalBlobDriver(tmp_path)),
    )
    plugin = DurableLLMPlugin()
    client = Client(
        temporal_env.client.service_client,
        namespace=temporal_env.client.namespace,
        data_converter=converter,
        plugins=[plugin],
    )
    from temporalio.worker import Worker

    queue = new_id()
    async with Worker(client, task_queue=queue):
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=Agent(model=MODELS["anthropic"]), message="hi"),
            id=new_id(),
            task_queue=queue,
        )
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), ENOUGH)
        history = await handle.fetch_history()
    assert "SECRET-CUSTOMER-42" in str(failed.value.cause.cause)  # the client, with the key, reads it
    assert b"SECRET-CUSTOMER-42" not in history.to_json().encode()


async def test_a_replayer_with_agent_workflow_listed_and_the_plugin_replays(temporal_env):
    plugin = DurableLLMPlugin(scripted_models={"echo": _echo_model()})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=Agent(model="test:echo"), message="hi"), id=new_id(), task_queue=queue
        )
        await handle.result()
        history = await handle.fetch_history()
    replayer = Replayer(workflows=[AgentWorkflow], plugins=[DurableLLMPlugin()])
    await replayer.replay_workflow(history)


@pytest.mark.parametrize("model", ["openai:gpt-5 ", " openai:gpt-5", "openai:gpt\n-5", "openai:gpt-5\t"])
def test_a_model_string_with_whitespace_or_control_characters_is_refused(model):
    with pytest.raises(ValueError, match="model"):
        Agent(model=model)
