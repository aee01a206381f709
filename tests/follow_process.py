"""A client in its own process following a conversation: prints each event as a JSON line.

Usage: python follow_process.py <address> <namespace> <conversation id> <from offset> <deltas>;
stops after that many `Delta` events (0: at the end of the exchange, its `TurnFinished`).
"""

from __future__ import annotations

import asyncio
import sys

from temporalio.client import Client

from durable_llm import DurableLLMPlugin, follow
from durable_llm.events import Delta, TurnFinished


async def main(address: str, namespace: str, conversation_id: str, from_offset: str, deltas: str) -> None:
    client = await Client.connect(address, namespace=namespace, plugins=[DurableLLMPlugin()])
    left = int(deltas)
    async for event in follow(client, conversation_id, from_offset=int(from_offset)):
        print(event.model_dump_json(), flush=True)
        if isinstance(event, Delta):
            left -= 1
            if left == 0:
                return
        if isinstance(event, TurnFinished):
            return


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
