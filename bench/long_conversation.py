"""A 1,000-turn chat completes through automatic continue-as-new; runs, bytes per run, wall time.

Each turn: a 2 KB user message (through `durable_llm.send_message`, which resends one refused
while the chat moves to its next run) and a scripted reply that states how many messages the
model was shown, so every reply checks that no message was lost across runs. Two servers: the
dev server's defaults (continue-as-new suggested from 4,096 events or ~4 MB), and one
suggesting it from 400 events, to show many hops. Turns go back to back, so their latency sits on
the ~50 ms steps the dev server settles into under that load (see bench/turn_overhead.py); the
slowest turns are the ones that waited for a hop.
Run: `.venv/bin/python bench/long_conversation.py` (about 2 minutes).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench_kit import dev_server, history_bytes, run_histories
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, LocalBlobDriver, send_message
from durable_llm.conversation import ModelRequest
from durable_llm.testing import ScriptedModel

TURNS = 1000
MESSAGE_BYTES = 2048
SERVERS = {"dev server defaults": (), "suggestContinueAsNew=400": ("limit.historyCount.suggestContinueAsNew=400",)}


def user_message(turn: int) -> str:
    return (f"turn {turn}: " + "a durable agent keeps every word. " * 64)[:MESSAGE_BYTES]


def count_reply(request: ModelRequest) -> str:
    return f"Noted {request.messages[-1].text[:12]!r}: {len(request.messages)} messages."


async def long_chat(server: str, dynamic_config: tuple[str, ...]) -> None:
    directory = tempfile.TemporaryDirectory(prefix="durable_llm_bench_")
    blobs = Path(directory.name)
    plugin = DurableLLMPlugin(scripted_models={"count": ScriptedModel(count_reply)}, storage=LocalBlobDriver(blobs))
    async with await dev_server(*dynamic_config) as env:
        client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
        async with Worker(client, task_queue="long"):
            handle = await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=Agent(model="test:count", instructions="Count."), chat=True),
                id=f"long-{uuid.uuid4()}",
                task_queue="long",
            )
            latencies: list[float] = []
            started = time.monotonic()
            for turn in range(1, TURNS + 1):
                sent = time.monotonic()
                reply = await send_message(handle, user_message(turn))
                latencies.append(time.monotonic() - sent)
                expected = f"Noted {user_message(turn)[:12]!r}: {2 * turn - 1} messages."
                assert reply == expected, f"turn {turn}: {reply!r}, expected {expected!r}"
            wall = time.monotonic() - started
            await handle.signal(AgentWorkflow.end_conversation)
            result = await handle.result()
            histories = await run_histories(client, handle.id, handle.first_execution_run_id or "")

    assert len(result.messages) == 2 * TURNS and result.turns == TURNS
    assert [m.text for m in result.messages[::2]] == [user_message(turn) for turn in range(1, TURNS + 1)]
    sizes = [history_bytes(history) for history in histories]
    events = [len(history.events) for history in histories]
    stored = sum(path.stat().st_size for path in blobs.rglob("*") if path.is_file())
    directory.cleanup()
    print(f"\n{server}: {TURNS} turns in {wall:.1f} s wall time, {len(histories)} runs, every reply correct")
    print(
        f"  history bytes per run: min {min(sizes):,}, max {max(sizes):,}, total {sum(sizes):,} "
        f"({sum(sizes) / TURNS:,.0f} B/turn); events per run: max {max(events):,}"
    )
    if len(histories) <= 5:
        print("  runs: " + ", ".join(f"{e:,} events / {b:,} B" for e, b in zip(events, sizes, strict=True)))
    print(
        f"  turn latency: median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {statistics.quantiles(latencies, n=100)[98] * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )
    print(
        f"  final transcript {len(result.messages)} messages; blob store {stored / 1e6:.1f} MB "
        "(messages over 1 KiB, snapshot segments, the result)"
    )


async def main() -> None:
    for server, dynamic_config in SERVERS.items():
        await long_chat(server, dynamic_config)


if __name__ == "__main__":
    asyncio.run(main())
