"""A worker process serving durable_llm agents on one task queue until it is killed (the crash test's victim).

Usage: python agent_worker_process.py <address> <namespace> <task queue> [stream]; prints "ready" once
polling. With "stream", its model calls stream (the plugin's `on_text` prints each piece of answer text).
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from agent_kit import checkpoint, get_weather
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import DurableLLMPlugin


async def main(address: str, namespace: str, task_queue: str, stream: str = "") -> None:
    import openai  # noqa: F401  (a worker that has been serving has its vendor SDK loaded)

    on_text = (lambda delta: print(f"text: {delta.text!r}", flush=True)) if stream == "stream" else None
    plugin = DurableLLMPlugin(tools=[checkpoint, get_weather], on_text=on_text)
    client = await Client.connect(address, namespace=namespace, plugins=[plugin])
    # A workflow task for a dead worker waits this long on its sticky queue before any worker may take it.
    async with Worker(client, task_queue=task_queue, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)):
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
