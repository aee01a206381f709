"""Waiting on a worker, boundedly: is one serving the task queue, and which tools does it serve?

A client's update or query is answered by a worker; with none polling, Temporal keeps it waiting
for minutes. So a command first asks the server whether any worker polls the conversation's
task queue, and bounds its wait by `WORKER_WAIT` (a worker that stopped recently still counts as
polling for a while).

`durable-llm worker` also answers a small `ServedTools` workflow with the names of the tools it
runs, so a client that runs no worker of its own builds its agent with exactly those tools.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError

from durable_llm.cli.exit import CommandError

WORKER_WAIT = 10.0
"""Seconds a command waits for a worker to take what it asked before giving up."""

POLLER_GRACE = 2.0
"""Seconds a worker that has just started may take to show up as polling."""

SERVED_TOOLS_ACTIVITY = "durable_llm.cli.served_tools"

T = TypeVar("T")


class NoWorker(CommandError):
    """No worker took what this command asked of the task queue in time."""

    def __init__(self, task_queue: str, waited: float | None = None) -> None:
        how = f"answered within {waited:.0f} s" if waited is not None else "polls it"
        super().__init__(
            f"no worker is serving task queue {task_queue!r} (none {how}); start `durable-llm worker` "
            f"(with --task-queue {task_queue} and the conversation's --tools) and try again"
        )
        self.task_queue = task_queue


async def has_pollers(client: Client, task_queue: str) -> bool:
    """Whether the server has seen a worker poll `task_queue` for workflow tasks lately."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await client.workflow_service.describe_task_queue(request, timeout=timedelta(seconds=WORKER_WAIT))
    return bool(response.pollers)


async def require_worker(client: Client, task_queue: str) -> None:
    """Raise `NoWorker` unless a worker polls `task_queue` (within `POLLER_GRACE`)."""
    deadline = time.monotonic() + POLLER_GRACE
    while not await has_pollers(client, task_queue):
        if time.monotonic() >= deadline:
            raise NoWorker(task_queue)
        await asyncio.sleep(0.2)


async def within_worker_wait(waiting: Awaitable[T], task_queue: str) -> T:
    """`waiting`, unless it takes longer than `WORKER_WAIT` (then `NoWorker`)."""
    try:
        return await asyncio.wait_for(waiting, WORKER_WAIT)
    except TimeoutError:
        raise NoWorker(task_queue, WORKER_WAIT) from None


@contextmanager
def answered_in_time(conversation: str) -> Iterator[None]:
    """Queries of `conversation` in the block, bounded by `WORKER_WAIT`: a timeout becomes a clear `CommandError`."""
    from temporalio.service import RPCError, RPCStatusCode

    try:
        yield
    except RPCError as err:
        # The client reports its own deadline as CANCELLED ("Timeout expired"), the server's as DEADLINE_EXCEEDED.
        if err.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
            raise
        raise CommandError(
            f"{conversation} did not answer within {WORKER_WAIT:.0f} s: no worker is serving its task queue; "
            "start `durable-llm worker` (with the conversation's --task-queue and --tools)"
        ) from None


def query_timeout() -> timedelta:
    """The bound of one query of a conversation (`answered_in_time` reports it)."""
    return timedelta(seconds=WORKER_WAIT)


class ToolCatalog:
    """The activity that tells which tools this worker runs."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    @activity.defn(name=SERVED_TOOLS_ACTIVITY)
    async def served_tools(self) -> list[str]:
        """The names of the tools this worker runs."""
        return list(self.names)


@workflow.defn(name="durable_llm.cli.ServedTools")
class ServedTools:
    """Asks the worker that takes it which tools it runs (a local activity: that same worker answers)."""

    @workflow.run
    async def run(self) -> list[str]:
        """The tool names."""
        return await workflow.execute_local_activity(
            SERVED_TOOLS_ACTIVITY, result_type=list[str], start_to_close_timeout=timedelta(seconds=5)
        )


async def served_tools(client: Client, task_queue: str) -> tuple[str, ...] | None:
    """The names of the tools the `durable-llm worker` on `task_queue` runs.

    Raises `NoWorker` when no worker polls; None when workers poll but none answers (they are
    not `durable-llm worker`s: your own, which cannot say).
    """
    await require_worker(client, task_queue)
    try:
        names = await client.execute_workflow(
            ServedTools.run,
            id=f"served-tools-{uuid.uuid4().hex[:12]}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=WORKER_WAIT),
        )
    except WorkflowFailureError:  # timed out: no worker there registers the catalog
        return None
    return tuple(names)
