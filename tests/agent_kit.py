"""Helpers shared by the agent tests: a worker with the plugin on a fresh task queue, history sizes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_llm import DurableLLMPlugin


@asynccontextmanager
async def agent_worker(
    env: WorkflowEnvironment, plugin: DurableLLMPlugin, **worker_options: Any
) -> AsyncIterator[tuple[Client, str]]:
    """A client carrying `plugin` and a worker (inheriting it) on a task queue of its own."""
    client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
    task_queue = f"agent-{uuid.uuid4()}"
    async with Worker(client, task_queue=task_queue, **worker_options):
        yield client, task_queue


def new_id() -> str:
    return f"conversation-{uuid.uuid4()}"


async def history_payload_bytes(handle: WorkflowHandle) -> int:
    """Total size of every payload written to the workflow's history."""
    history = await handle.fetch_history()
    return sum(_payload_bytes(event) for event in history.events)


def _payload_bytes(message: Any) -> int:
    from temporalio.api.common.v1 import Payload

    if isinstance(message, Payload):
        return message.ByteSize()
    total = 0
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.label == field.LABEL_REPEATED:
            items = value.values() if hasattr(value, "values") and callable(value.values) else value
            total += sum(_payload_bytes(item) for item in items if hasattr(item, "ListFields"))
        else:
            total += _payload_bytes(value)
    return total
