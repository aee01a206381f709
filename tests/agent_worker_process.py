"""A worker process serving durable_llm agents on one task queue until it is killed (the crash test's victim).

Usage: python agent_worker_process.py <address> <namespace> <task queue>; prints "ready" once polling.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from agent_kit import checkpoint
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import DurableLLMPlugin


async def main(address: str, namespace: str, task_queue: str) -> None:
    import openai  # noqa: F401  (a worker that has been serving has its vendor SDK loaded)

    client = await Client.connect(address, namespace=namespace, plugins=[DurableLLMPlugin(tools=[checkpoint])])
    # A workflow task for a dead worker waits this long on its sticky queue before any worker may take it.
    async with Worker(client, task_queue=task_queue, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
