"""Reading a conversation through its queries: its messages (`read_messages`) and, by polling,
what is new in it (`follow_conversation`; `durable_llm.follow` streams its events instead).

Every look of `follow_conversation` is two queries (the messages after those already seen, and the agent's status);
queries are not written to the workflow's history, so following costs the conversation nothing.
Queries are answered by a worker of the conversation's task queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle

from durable_llm.agent import AgentResult, AgentStatus, HistoryPage
from durable_llm.conversation import Message
from durable_llm.workflow import AgentWorkflow

POLL_INTERVAL = 0.2
"""Seconds between two looks at a followed conversation."""


@dataclass(frozen=True)
class ConversationUpdate:
    """What a look at a conversation found."""

    messages: tuple[Message, ...]
    """The messages that arrived since the previous update, in order."""
    status: AgentStatus
    """What the agent is doing now, with the tool calls waiting for approval."""
    offset: int
    """How many messages the conversation holds so far: where the next update starts."""


async def follow_conversation(
    handle: WorkflowHandle[Any, Any],
    until: Awaitable[Any],
    *,
    offset: int = 0,
    interval: float = POLL_INTERVAL,
    rpc_timeout: timedelta | None = None,
) -> AsyncIterator[ConversationUpdate]:
    """Yield what is new in the conversation every `interval` seconds until `until` is done.

    `until` is what the caller waits for: the workflow's result (`handle.result()`) or the reply
    to a message (`send_message(...)`); pass it as a task and await that task afterwards for its
    value or its error. The last update, once `until` is done, holds the messages it brought
    (from the `AgentResult` itself when that is what it returned). Start at `offset` to skip
    messages already shown. `rpc_timeout` bounds each query (a conversation whose worker is gone
    does not answer).
    """
    done = asyncio.ensure_future(until)
    while True:
        ended = done.done()
        if ended and done.exception() is not None:
            return
        result = done.result() if ended else None
        if isinstance(result, AgentResult):
            messages = result.messages[offset:]
            status = AgentStatus(state="done", turns=result.turns, usage=result.usage)
        else:
            messages = await read_messages(handle, offset, rpc_timeout=rpc_timeout)
            status = await handle.query(AgentWorkflow.status, rpc_timeout=rpc_timeout)
        offset += len(messages)
        yield ConversationUpdate(messages, status, offset)
        if ended:
            return
        await asyncio.wait({done}, timeout=interval)


async def read_messages(
    handle: WorkflowHandle[Any, Any], offset: int = 0, *, rpc_timeout: timedelta | None = None
) -> tuple[Message, ...]:
    """The conversation's messages from `offset` on, read page by page (a page stays under gRPC's limit)."""
    messages: list[Message] = []
    while True:
        page: HistoryPage = await handle.query(
            AgentWorkflow.history, args=[offset + len(messages), 100], rpc_timeout=rpc_timeout
        )
        messages.extend(page.messages)
        if not page.messages or offset + len(messages) >= page.total:
            return tuple(messages)
