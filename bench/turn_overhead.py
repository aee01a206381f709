"""Per-turn latency of durable_llm's chat loop against the same round trip with nothing of ours in it.

All measured from the client, on one dev server, interleaved turn by turn:
- durable_llm: `send_message` update on `AgentWorkflow` -> model activity (a scripted model that
  answers at once) -> reply. Ours in it: the agent session, the neutral model through the pydantic
  converter, the payload guard, the external storage size check, and the model activity getting
  the new user message (from memory when the workflow runs in the same process).
- bare: an update on a minimal workflow that runs one activity returning a string, and returns it.
Three set-ups, each with its own bare baseline:
- one worker process (in this process);
- two worker processes, as a deployment runs them: both serve workflows and activities on one task
  queue. Temporal hands an activity back to the worker whose workflow task scheduled it (eager
  activity dispatch), so the model activity still finds the transcript in memory; the bench
  prints how many transcript queries each worker made;
- worst case, a cache miss every turn: the model activity queries the workflow for the new message
  each turn, as it must when it runs in another process than the workflow (in this process,
  with the in-memory read turned off).
So a ratio is the cost of durable_llm on top of Temporal's own update + activity round trip;
a real model call (seconds) would dwarf all of them.

Goal: ratio of the medians at most 1.15. Run: `.venv/bin/python bench/turn_overhead.py` (~100 s).
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

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


def echo_model() -> ScriptedModel:
    return ScriptedModel(lambda request: f"you said {request.messages[-1].text!r}")


async def serve(address: str, blob_directory: str) -> None:
    """A worker process: durable_llm and the bare chat on one task queue, until SIGTERM."""
    plugin = DurableLLMPlugin(scripted_models={"echo": echo_model()}, storage=LocalBlobDriver(blob_directory))
    client = await Client.connect(address, plugins=[plugin])
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Worker(client, task_queue="deployed", workflows=[BareChat], activities=[bare_reply]):
        print("ready", flush=True)
        await stop.wait()
    print(plugin.agent_activities.transcript_fetches, flush=True)


def start_worker_processes(address: str, blob_directory: str, count: int) -> list[subprocess.Popen[str]]:
    script = str(Path(__file__).resolve())
    workers = [
        subprocess.Popen([sys.executable, script, "serve", address, blob_directory], stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    return workers


def stop_worker_processes(workers: list[subprocess.Popen[str]]) -> list[int]:
    """Stop the workers; the transcript queries each one made."""
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    return [int(worker.communicate(timeout=30)[0].split()[-1]) for worker in workers]


async def main() -> None:
    directory = tempfile.TemporaryDirectory(prefix="durable_llm_bench_")
    blobs = LocalBlobDriver(directory.name)
    in_memory = DurableLLMPlugin(scripted_models={"echo": echo_model()}, storage=blobs)
    by_query = DurableLLMPlugin(scripted_models={"echo": echo_model()}, storage=blobs)
    # As if the model activity ran in another process than the workflow: it queries for the new message.
    by_query.agent_activities.read_in_process = False
    agent = AgentInput(agent=Agent(model="test:echo"), chat=True)
    async with await dev_server() as env:
        address = env.client.service_client.config.target_host
        client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[in_memory])
        other = Client(env.client.service_client, namespace=env.client.namespace, plugins=[by_query])
        workers = start_worker_processes(address, directory.name, 2)
        async with (
            Worker(client, task_queue="turns", workflows=[BareChat], activities=[bare_reply]),
            Worker(other, task_queue="turns-by-query", workflows=[BareChat], activities=[bare_reply]),
        ):
            chats: dict[str, WorkflowHandle] = {}
            for name, starter, queue in (
                ("one process", client, "turns"),
                ("two processes", client, "deployed"),
                ("cache miss", other, "turns-by-query"),
            ):
                chats[name] = await starter.start_workflow(
                    AgentWorkflow.run, agent, id=f"ours-{uuid.uuid4()}", task_queue=queue
                )
                chats[f"{name}, bare"] = await starter.start_workflow(
                    BareChat.run, id=f"bare-{uuid.uuid4()}", task_queue=queue
                )
            sends: dict[str, Callable[[str], Awaitable[str]]] = {
                name: (
                    (lambda text, handle=handle: handle.execute_update(BareChat.send, text))
                    if name.endswith("bare")
                    else (lambda text, handle=handle: handle.execute_update(AgentWorkflow.send_message, text))
                )
                for name, handle in chats.items()
            }
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
            ran = {name: await activity_times(handle) for name, handle in chats.items()}
            for name, handle in chats.items():
                await handle.signal(BareChat.end if name.endswith("bare") else AgentWorkflow.end_conversation)
        queries = stop_worker_processes(workers)
    directory.cleanup()

    print(f"{TURNS} turns each, interleaved, after {WARMUP} warm-up turns")
    for name, values in samples.items():
        print(f"  {name:20} turn, seen by the client:            {summary(values)}")
    for name, values in ran.items():
        print(f"  {name:20} activity, started -> completed event: {summary(values)}")
    print(
        f"  transcript queries: one process {in_memory.agent_activities.transcript_fetches}, "
        f"two processes {' + '.join(map(str, queries))}, cache miss {by_query.agent_activities.transcript_fetches}"
    )
    for name in ("one process", "two processes", "cache miss"):
        ratio = statistics.median(samples[name]) / statistics.median(samples[f"{name}, bare"])
        if name == "cache miss":  # forced on every turn: what a miss costs, not a deployment
            print(f"ratio of medians, durable_llm / bare, {name:13}: {ratio:.3f}x (worst case, for reference)")
            continue
        verdict = "met" if ratio <= GOAL else "MISSED"
        print(f"ratio of medians, durable_llm / bare, {name:13}: {ratio:.3f}x (goal <= {GOAL}x: {verdict})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        asyncio.run(serve(*sys.argv[2:4]))
    else:
        asyncio.run(main())
