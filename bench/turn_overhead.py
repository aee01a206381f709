"""Per-turn latency of durable_llm's chat loop against the same round trip with nothing of ours in it.

All measured from the client, on one dev server and one worker process, interleaved turn by turn:
- durable_llm: `send_message` update on `AgentWorkflow` -> model activity (a scripted model that
  answers at once) -> reply. Ours in it: the agent session, the neutral model through the pydantic
  converter, the payload guard, the external storage size check, and the model activity getting
  the new user message (from memory: the workflow runs in the same process).
- durable_llm, by query: the same, with the model activity querying the workflow for the new
  message each turn, as it must when it runs in another process than the workflow.
- bare: an update on a minimal workflow that runs one activity returning a string, and returns it.
So a ratio is the cost of durable_llm on top of Temporal's own update + activity round trip;
a real model call (seconds) would dwarf all three.

Goal: ratio of the medians at most 1.15. Run: `.venv/bin/python bench/turn_overhead.py` (~40 s).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bench_kit import dev_server
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, LocalBlobDriver
from durable_llm.testing import ScriptedModel

TURNS = 300
WARMUP = 20
GOAL = 1.15
PAUSE = 0.06
"""Longest random pause before a timed turn, in seconds."""


@activity.defn
async def bare_reply(text: str) -> str:
    return f"you said {text!r}"


@workflow.defn
class BareChat:
    """The same shape as a chat turn with nothing else: an update that runs one activity."""

    def __init__(self) -> None:
        self.ended = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.ended)

    @workflow.update
    async def send(self, text: str) -> str:
        return await workflow.execute_activity(bare_reply, text, start_to_close_timeout=timedelta(seconds=30))

    @workflow.signal
    def end(self) -> None:
        self.ended = True


async def timed(send: Callable[[str], Awaitable[str]], text: str) -> float:
    started = time.perf_counter()
    await send(text)
    return time.perf_counter() - started


def summary(samples: list[float]) -> str:
    low, _, high = (q * 1000 for q in statistics.quantiles(samples, n=4))
    median, mean = statistics.median(samples) * 1000, statistics.mean(samples) * 1000
    return f"median {median:5.1f} ms  (quartiles {low:.1f}-{high:.1f} ms, mean {mean:.1f} ms)"


async def activity_times(handle: WorkflowHandle) -> list[float]:
    """How long each activity ran on the worker: its started -> completed event times, in seconds."""
    started: dict[int, float] = {}
    times = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_started_event_attributes"):
            started[event.activity_task_started_event_attributes.scheduled_event_id] = event.event_time.ToNanoseconds()
        elif event.HasField("activity_task_completed_event_attributes"):
            begin = started[event.activity_task_completed_event_attributes.scheduled_event_id]
            times.append((event.event_time.ToNanoseconds() - begin) / 1e9)
    return times[WARMUP:]


async def main() -> None:
    directory = tempfile.TemporaryDirectory(prefix="durable_llm_bench_")
    blobs = LocalBlobDriver(directory.name)
    echo = ScriptedModel(lambda request: f"you said {request.messages[-1].text!r}")
    in_memory = DurableLLMPlugin(scripted_models={"echo": echo}, storage=blobs)
    by_query = DurableLLMPlugin(scripted_models={"echo": echo}, storage=blobs)
    # As if the model activity ran in another process than the workflow: it queries for the new message.
    by_query.agent_activities.read_in_process = False
    agent = AgentInput(agent=Agent(model="test:echo"), chat=True)
    async with await dev_server() as env:
        client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[in_memory])
        other = Client(env.client.service_client, namespace=env.client.namespace, plugins=[by_query])
        async with (
            Worker(client, task_queue="turns", workflows=[BareChat], activities=[bare_reply]),
            Worker(other, task_queue="turns-by-query"),
        ):
            chats = {
                "durable_llm": await client.start_workflow(
                    AgentWorkflow.run, agent, id=f"ours-{uuid.uuid4()}", task_queue="turns"
                ),
                "durable_llm, by query": await other.start_workflow(
                    AgentWorkflow.run, agent, id=f"ours-{uuid.uuid4()}", task_queue="turns-by-query"
                ),
            }
            bare = await client.start_workflow(BareChat.run, id=f"bare-{uuid.uuid4()}", task_queue="turns")
            sends: dict[str, Callable[[str], Awaitable[str]]] = {
                name: (lambda text, handle=handle: handle.execute_update(AgentWorkflow.send_message, text))
                for name, handle in chats.items()
            }
            sends["bare"] = lambda text: bare.execute_update(BareChat.send, text)
            samples: dict[str, list[float]] = {name: [] for name in sends}
            pauses = random.Random(7)
            for turn in range(WARMUP + TURNS):
                for name, send in sends.items():
                    # A random pause first: the server's latency moves in steps, and turns sent back to back
                    # lock onto them in phase (one kind always landing early in a step, another late).
                    await asyncio.sleep(pauses.uniform(0, PAUSE))
                    took = await timed(send, f"message {turn}")
                    if turn >= WARMUP:
                        samples[name].append(took)
            ran = {name: await activity_times(handle) for name, handle in (*chats.items(), ("bare", bare))}
            for handle in chats.values():
                await handle.signal(AgentWorkflow.end_conversation)
            await bare.signal(BareChat.end)
    directory.cleanup()

    print(f"{TURNS} turns each, interleaved, after {WARMUP} warm-up turns")
    for name, values in samples.items():
        print(f"  {name:22} turn, seen by the client:            {summary(values)}")
    for name, values in ran.items():
        print(f"  {name:22} activity, started -> completed event: {summary(values)}")
    for plugin in (in_memory, by_query):
        activities = plugin.agent_activities
        print(f"  transcript queries, read_in_process={activities.read_in_process}: {activities.transcript_fetches}")
    bare_median = statistics.median(samples["bare"])
    for name in chats:
        ratio = statistics.median(samples[name]) / bare_median
        print(
            f"ratio of medians, {name} / bare: {ratio:.3f}x (goal <= {GOAL}x: {'met' if ratio <= GOAL else 'MISSED'})"
        )


if __name__ == "__main__":
    asyncio.run(main())
