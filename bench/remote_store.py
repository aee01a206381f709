"""What the blob threshold and the in-memory blob cache cost with a remote blob store (e.g. S3).

A remote store is emulated by the local one with 20 ms added to every store and every read (one
S3 round trip in the same region). Each turn a 2 KB user message and a 2 KB answer, so at the
1 KiB threshold (the default for a local store) both go to the store, and at 64 KiB (the default
for any other store) neither does. Per configuration, on one dev server:
- turn: median latency of a chat turn, client to reply, on a worker that keeps its workflows cached;
- evicted: the same on a worker that caches no workflow (`max_cached_workflows=0`): every workflow
  task replays the whole run, reading each blob it references again, as a busy worker does when
  conversations outnumber its cache;
- restart: the first turn after 60 turns on a fresh worker (nothing cached): the replay reads every
  blob of the run once, one round trip each, since Temporal decodes a history event by event.
Run: `.venv/bin/python bench/remote_store.py` (about a minute).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence

from bench_kit import dev_server
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.converter import StorageDriverClaim, StorageDriverRetrieveContext, StorageDriverStoreContext
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, LocalBlobDriver, external_storage
from durable_llm.storage import DEFAULT_CACHE_BYTES, LOCAL_THRESHOLD, REMOTE_THRESHOLD
from durable_llm.testing import ScriptedModel

ROUND_TRIP = 0.020
TURNS = 60
TEXT = "a durable agent keeps every word of a long conversation. " * 40
CONFIGURATIONS = {
    "1 KiB threshold, cached": (LOCAL_THRESHOLD, DEFAULT_CACHE_BYTES),
    "1 KiB threshold, no cache": (LOCAL_THRESHOLD, 0),
    "64 KiB threshold, cached": (REMOTE_THRESHOLD, DEFAULT_CACHE_BYTES),
}


class RemoteStore(LocalBlobDriver):
    """The local store, one round trip slower per call."""

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        await asyncio.sleep(ROUND_TRIP)
        return await super().store(context, payloads)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        await asyncio.sleep(ROUND_TRIP)
        return await super().retrieve(context, claims)


def plugin(directory: str, threshold: int, cache_bytes: int) -> DurableLLMPlugin:
    model = ScriptedModel(lambda request: f"{len(request.messages)} messages. {TEXT[:2048]}")
    storage = external_storage(RemoteStore(directory), threshold, cache_bytes=cache_bytes)
    return DurableLLMPlugin(scripted_models={"long": model}, storage=storage)


async def turns(client: Client, queue: str, count: int, **worker_options: object) -> tuple[str, list[float]]:
    """Start a chat on a new worker and time `count` turns; the workflow id and the latencies."""
    async with Worker(client, task_queue=queue, **worker_options):  # type: ignore[arg-type]
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=Agent(model="test:long"), chat=True),
            id=f"remote-{uuid.uuid4()}",
            task_queue=queue,
        )
        latencies = []
        for turn in range(count):
            started = time.perf_counter()
            await handle.execute_update(AgentWorkflow.send_message, f"turn {turn}: {TEXT[:2048]}")
            latencies.append(time.perf_counter() - started)
    return handle.id, latencies


async def measure(env, name: str, threshold: int, cache_bytes: int) -> str:
    directory = tempfile.TemporaryDirectory(prefix="durable_llm_bench_")
    connect = lambda: Client(  # noqa: E731
        env.client.service_client,
        namespace=env.client.namespace,
        plugins=[plugin(directory.name, threshold, cache_bytes)],
    )
    queue = f"remote-{uuid.uuid4()}"
    workflow_id, live = await turns(connect(), queue, TURNS)
    _, evicted = await turns(connect(), f"{queue}-evicted", 20, max_cached_workflows=0)
    # A fresh worker (and client): nothing cached anywhere.
    client = connect()
    async with Worker(client, task_queue=queue):
        handle = client.get_workflow_handle(workflow_id)
        started = time.perf_counter()
        await handle.execute_update(AgentWorkflow.send_message, "after the restart")
        restart = time.perf_counter() - started
        await handle.signal(AgentWorkflow.end_conversation)
    directory.cleanup()
    return (
        f"  {name:27} turn {statistics.median(live) * 1000:5.0f} ms   evicted (20th turn) {evicted[-1] * 1000:6.0f} ms"
        f"   restart after {TURNS} turns {restart:5.2f} s"
    )


async def main() -> None:
    async with await dev_server() as env:
        rows = [await measure(env, name, *settings) for name, settings in CONFIGURATIONS.items()]
    print(f"blob store with {ROUND_TRIP * 1000:.0f} ms per call; 2 KB messages and answers")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
