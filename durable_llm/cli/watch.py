"""Showing a conversation at the terminal as it happens: its messages, a status line, approvals asked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from durable_llm.agent import AgentResult
from durable_llm.cli.render import LIVE, STATES, console, print_message
from durable_llm.cli.terminal import ask

if TYPE_CHECKING:
    from temporalio.client import WorkflowHandle


async def follow_to_end(handle: WorkflowHandle[Any, AgentResult], offset: int = 0) -> AgentResult:
    """Show the conversation until the workflow returns; returns its result."""
    result = asyncio.ensure_future(handle.result())
    await follow(handle, offset, result)
    return await result


async def follow(handle: WorkflowHandle[Any, Any], offset: int, until: Awaitable[Any]) -> int:
    """Show new messages and what the agent does until `until` is done; asks for approvals.

    Returns how many messages the conversation holds (the next offset).
    """
    from durable_llm.cli.workers import answered_in_time, query_timeout
    from durable_llm.follow import follow_conversation

    asked: set[str] = set()
    # Each query is bounded: a conversation whose worker has gone answers none.
    updates = follow_conversation(handle, until, offset=offset, rpc_timeout=query_timeout())
    with console.status("thinking…") as spinner, LIVE.watching(handle.id), answered_in_time(handle.id):
        async for update in updates:
            for message in update.messages:
                print_message(message)
            offset = update.offset
            status = update.status
            if status.state != "thinking":
                LIVE.forget()
            preview = LIVE.preview(max(20, console.width - 12))
            spinner.update(f"agent: {escape(preview)}" if preview else STATES.get(status.state, status.state))
            for pending in status.pending_approvals:
                if pending.call_id in asked:
                    continue
                asked.add(pending.call_id)
                spinner.stop()
                await _ask_approval(handle, pending.call_id, pending.name, pending.arguments_raw)
                spinner.start()
    return offset


async def _ask_approval(handle: WorkflowHandle[Any, Any], call_id: str, name: str, arguments: str) -> None:
    from durable_llm.workflow import AgentWorkflow

    console.print(f"[yellow]The agent wants to run[/] {escape(name)}({escape(arguments)}) [dim](call {call_id})[/]")
    answer = await ask("Allow it? [y/N] ")
    approved = answer.strip().lower() in ("y", "yes")
    reason = None if approved else "the user said no"
    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])
