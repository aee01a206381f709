"""Chaos: a 20-turn chat with a tool call per turn while its worker process is SIGKILLed and restarted.

The worker runs in a process of its own, the model is the openai SDK against a fake vendor server
(answers take `MODEL_DELAY` s) and each turn calls a tool that works `TOOL_DELAY` s and leaves a
mark per run. At random moments the worker is killed (SIGKILL) and a new one started at once.
Printed:
- kills survived, turns lost (an answer missing or wrong: goal 0), user messages duplicated in the
  transcript (goal 0);
- model calls and tool runs repeated although no kill came while they were in flight (goal 0);
- recovery after each kill: from the kill until a new worker has taken over the interrupted work
  (the first workflow or activity task a worker other than the killed one started, from the
  history's event times), median and max (goal: every one < 5 s with the default options); and
  the stall: until a new worker completed a workflow task (the conversation moving again at its
  own pace, after the interrupted step itself has run).
Run: `.venv/bin/python bench/chaos.py [kills]` (~60 s for 10 kills).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

from bench_kit import dev_server
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, send_message
from durable_llm.conversation import ModelRequest, ToolResultPart
from durable_llm.storage import BLOB_DIRECTORY_VARIABLE
from durable_llm.testing import FakeVendorServer, call_tools, reply

TURNS = 20
KILLS = 10
MODEL_DELAY = 0.2
TOOL_DELAY = 0.5
IN_FLIGHT_MARGIN = 1.0
"""Seconds after a call arrived during which a kill can still catch it before its result is recorded."""
GOAL_RECOVERY = 5.0
MARKS_VARIABLE = "CHAOS_MARKS"


def record_step(turn: int) -> str:
    """Record that a turn's step ran (a side effect), working a while.

    Args:
        turn: The turn the step belongs to.
    """
    with open(os.environ[MARKS_VARIABLE], "a") as marks:
        marks.write(json.dumps({"turn": turn, "at": time.time(), "pid": os.getpid()}) + "\n")
    time.sleep(TOOL_DELAY)
    return f"step {turn} recorded"


async def serve(address: str, namespace: str, task_queue: str) -> None:
    """The worker process: default options, as a user would run it."""
    client = await Client.connect(address, namespace=namespace, plugins=[DurableLLMPlugin(tools=[record_step])])
    async with Worker(client, task_queue=task_queue, identity=f"worker-{os.getpid()}"):
        print("ready", flush=True)
        await asyncio.Event().wait()


class Vendor:
    """The scripted model: a tool call for each user message, then the answer; logs every call's arrival."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, request: ModelRequest):
        last = request.messages[-1]
        turn = int(next(m for m in reversed(request.messages) if m.role == "user").text.split()[-1])
        step = "answer" if any(isinstance(p, ToolResultPart) for p in last.parts) else "tool"
        with self._lock:
            self.arrivals.append((f"{turn}:{step}", time.time()))
        time.sleep(MODEL_DELAY)
        if step == "tool":
            return call_tools(("record_step", {"turn": turn}))
        return reply(f"answer {turn}")


def start_worker(env_vars: dict[str, str], address: str, namespace: str, queue: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", address, namespace, queue],
        env={**os.environ, **env_vars},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def repeated_without_kill(arrivals: list[tuple[str, float]], kills: list[float]) -> int:
    """How many calls came again although no kill fell while the first of them was in flight."""
    by_key: dict[str, list[float]] = defaultdict(list)
    for key, at in arrivals:
        by_key[key].append(at)
    unexplained = 0
    for times in by_key.values():
        first = times[0]
        caught = any(first <= kill <= first + MODEL_DELAY + TOOL_DELAY + IN_FLIGHT_MARGIN for kill in kills)
        unexplained += 0 if caught else len(times) - 1
    return unexplained


async def main(kills_wanted: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    marks = workdir / "marks.jsonl"
    marks.touch()
    vendor = Vendor()
    env = await dev_server()
    server = FakeVendorServer("openai", responses=vendor).start()
    target, namespace = env.client.service_client.config.target_host, env.client.namespace
    worker_env = {**server.env(), MARKS_VARIABLE: str(marks), BLOB_DIRECTORY_VARIABLE: str(workdir / "blobs")}
    killed: list[tuple[float, str]] = []
    os.environ[BLOB_DIRECTORY_VARIABLE] = str(workdir / "blobs")
    queue = f"chaos-{uuid.uuid4()}"
    worker = start_worker(worker_env, target, namespace, queue)
    kills: list[float] = []
    stop = asyncio.Event()
    answered = asyncio.Event()

    async def killer() -> None:
        nonlocal worker
        rng = random.Random(7)
        while len(kills) < kills_wanted and not stop.is_set():
            # Each kill after the conversation got going again (an answer since the last one), at a random moment.
            answered.clear()
            await answered.wait()
            await asyncio.sleep(rng.uniform(0.0, 1.5))
            if stop.is_set():
                return
            worker.send_signal(signal.SIGKILL)
            kills.append(time.time())
            killed.append((kills[-1], f"worker-{worker.pid}"))
            worker.wait()
            worker = await asyncio.to_thread(start_worker, worker_env, target, namespace, queue)

    try:
        client = Client(env.client.service_client, namespace=namespace, plugins=[DurableLLMPlugin()])
        agent = Agent(model="openai:gpt-5-mini", tools=[record_step])
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=f"chaos-{uuid.uuid4()}", task_queue=queue
        )
        chaos = asyncio.create_task(killer())
        began = time.monotonic()
        answers = []
        for turn in range(1, TURNS + 1):
            answers.append(await send_message(handle, f"turn {turn}"))
            answered.set()
        elapsed = time.monotonic() - began
        stop.set()
        await chaos
        page = await handle.query(AgentWorkflow.history, args=[0, 10_000])
        history = await handle.fetch_history()
        await handle.signal(AgentWorkflow.end_conversation)
    finally:
        worker.kill()
        worker.wait()
        server.close()
        await env.shutdown()

    lost = sum(answer != f"answer {turn}" for turn, answer in enumerate(answers, 1))
    user_texts = Counter(m.text for m in page.messages if m.role == "user")
    duplicated = sum(count - 1 for count in user_texts.values())
    runs = [json.loads(line) for line in marks.read_text().splitlines()]
    tool_arrivals = [(f"{run['turn']}:run", run["at"]) for run in runs]
    events = [(event.event_time.ToDatetime().timestamp(), event) for event in history.events]

    def first_after(kill: float, dead: str, *kinds: str) -> float:
        for at, event in events:
            kind = event.WhichOneof("attributes")
            if at > kill and kind in kinds and getattr(event, kind).identity not in ("", dead):
                return at - kill
        return float("nan")

    started = ("workflow_task_started_event_attributes", "activity_task_started_event_attributes")
    recoveries = [first_after(kill, dead, *started) for kill, dead in killed]
    stalls = [first_after(kill, dead, "workflow_task_completed_event_attributes") for kill, dead in killed]
    print(f"{TURNS}-turn chat, a tool call per turn, {len(kills)} SIGKILLs of its worker, finished in {elapsed:.1f} s")
    print(f"  kills survived: {len(kills)}/{len(kills)}; turns lost: {lost}; user messages duplicated: {duplicated}")
    print(
        f"  model calls: {len(vendor.arrivals)} for {2 * TURNS} steps, repeated with no kill in flight: "
        f"{repeated_without_kill(vendor.arrivals, kills)}"
    )
    print(
        f"  tool runs: {len(runs)} for {TURNS} calls, repeated with no kill in flight: "
        f"{repeated_without_kill(tool_arrivals, kills)}"
    )
    if recoveries:
        worst = max(recoveries)
        print(
            f"  recovery after a kill: median {statistics.median(recoveries):.2f} s, max {worst:.2f} s "
            f"(goal: every one < {GOAL_RECOVERY:.0f} s: {'met' if worst < GOAL_RECOVERY else 'missed'})"
        )
        print("  each:", " ".join(f"{r:.1f}" for r in recoveries))
        print(f"  stall after a kill: median {statistics.median(stalls):.2f} s, max {max(stalls):.2f} s")
    if os.environ.get("CHAOS_DEBUG"):
        for kill in kills:
            print(f"kill at {kill:.2f}")
            for event in history.events:
                at = event.event_time.ToDatetime().timestamp()
                if kill - 0.3 < at < kill + 12:
                    print(f"  {at - kill:+.2f} {event.event_type} {event.WhichOneof('attributes')}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        asyncio.run(serve(*sys.argv[2:5]))
    else:
        asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else KILLS))
