"""A client in its own process following a conversation: prints each event as a JSON line.

Usage: python follow_process.py <address> <namespace> <conversation id> <after> <deltas>;
`after`: the JSON of the last event seen before (resume right after it), or "" (from the start).
Stops after that many `Delta` events (0: at the end of the exchange, its `TurnFinished`).
"""

from __future__ import annotations

import asyncio
import os
import sys

from temporalio.client import Client

from durable_llm import DurableLLMPlugin, follow
from durable_llm.events import EVENT_ADAPTER, Delta, TurnFinished


async def main(address: str, namespace: str, conversation_id: str, after: str, deltas: str) -> None:
    client = await Client.connect(address, namespace=namespace, plugins=[DurableLLMPlugin()])
    left = int(deltas)
    last = EVENT_ADAPTER.validate_json(after) if after else None
    async for event in follow(client, conversation_id, after=last):
        print(event.model_dump_json(), flush=True)
        if isinstance(event, Delta):
            left -= 1
            if left == 0:
                return
        if isinstance(event, TurnFinished):
            return


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
    sys.stdout.flush()
    os._exit(0)  # skips interpreter teardown, which can crash with Temporal's core threads (sdk-python#300)
