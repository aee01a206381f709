"""Helpers shared by the agent tests: a worker with the plugin on a fresh task queue, history sizes."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from google.protobuf.message import Message as ProtoMessage
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_llm import AgentWorkflow, DurableLLMPlugin
from durable_llm.agent import AgentStatus


@asynccontextmanager
async def agent_worker(
    env: WorkflowEnvironment, plugin: DurableLLMPlugin, task_queue: str | None = None, **worker_options: Any
) -> AsyncIterator[tuple[Client, str]]:
    """A client carrying `plugin` and a worker (inheriting it), by default on a task queue of its own."""
    client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
    task_queue = task_queue or f"agent-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, **worker_options):
        yield client, task_queue


def new_id() -> str:
    return f"conversation-{uuid.uuid4()}"


async def wait_for_state(handle: WorkflowHandle, state: str, timeout: float = 10.0) -> AgentStatus:
    """Poll the `status` query until the agent is in `state`."""
    deadline = time.monotonic() + timeout
    while True:
        status = await handle.query(AgentWorkflow.status)
        if status.state == state:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"agent still {status.state!r} after {timeout} s, expected {state!r}")
        await asyncio.sleep(0.05)


async def history_payload_bytes(handle: WorkflowHandle) -> int:
    """Total size of every payload written to the workflow's history."""
    history = await handle.fetch_history()
    return sum(_payload_bytes(event) for event in history.events)


def _payload_bytes(message: Any) -> int:
    if isinstance(message, Payload):
        return message.ByteSize()
    total = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, ProtoMessage):
            total += _payload_bytes(value)
        else:  # a repeated field, or a map (e.g. headers)
            total += sum(_payload_bytes(item) for item in (value.values() if hasattr(value, "keys") else value))
    return total


def get_weather(city: str) -> dict:
    """The current weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return {"city": city, "sky": "sunny", "celsius": 21}


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


_ARRIVED: dict[str, int] = {}


async def rendezvous(group: str, size: int) -> str:
    """Wait until `size` calls of `group` are running at the same time (10 s at most).

    Args:
        group: Calls meet only those of the same group.
        size: How many calls must be running together.
    """
    _ARRIVED[group] = _ARRIVED.get(group, 0) + 1
    for _ in range(1000):
        if _ARRIVED[group] >= size:
            return f"met {size}"
        await asyncio.sleep(0.01)
    return f"alone: {_ARRIVED[group]} of {size} arrived in 10 s"


def slow_lookup(key: str) -> str:
    """Look a key up in a slow, blocking store (1 s).

    Args:
        key: What to look up.
    """
    time.sleep(1)
    return f"value of {key}"


def checkpoint(folder: str) -> str:
    """Mark that this worker process started the step, then work for 1 s.

    Args:
        folder: Where to leave the mark (a file named after the process id).
    """
    Path(folder, str(os.getpid())).touch()
    time.sleep(1)
    return f"checkpoint passed in process {os.getpid()}"
