"""Showing a conversation at the terminal as it happens: the answer as it is written, its messages,
a status line, approvals asked. Driven by the conversation's events (`durable_llm.follow`), so it
is the same whether the worker runs in this process or elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from durable_llm.agent import AgentResult
from durable_llm.cli.render import LIVE, STATES, console, print_message
from durable_llm.cli.terminal import ask

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from durable_llm.events import ConversationEvent, Event


async def follow_to_end(client: Client, handle: WorkflowHandle[Any, AgentResult], offset: int = 0) -> AgentResult:
    """Show the conversation until the workflow returns; returns its result."""
    result = asyncio.ensure_future(handle.result())
    await follow(client, handle, offset, result)
    return await result


async def stream_offset(client: Client, conversation: str) -> int:
    """Where the conversation's next event will be (follow from there to see only what comes).

    A query: ask it of a conversation already running, not of one just started (an update
    arriving with the query's workflow task can then go unprocessed)."""
    from temporalio.contrib.workflow_streams import WorkflowStreamClient

    from durable_llm.cli.workers import answered_in_time

    with answered_in_time(conversation):
        return await asyncio.wait_for(WorkflowStreamClient.create(client, conversation).get_offset(), 30)


async def follow(
    client: Client, handle: WorkflowHandle[Any, Any], offset: int, until: Awaitable[Any], events_from: int | Event = 0
) -> tuple[int, int | Event]:
    """Show new messages and the answer being written until `until` is done; asks for approvals.

    `offset`: the messages already shown; `events_from`: the first event to show, or the last
    event shown. Messages are read (one query) when an event says the conversation moved on,
    never polled. Returns how many messages the conversation holds and where to follow from
    next time (the last event shown).
    """
    from durable_llm.events import AgentSwitched, ApprovalRequested, Delta, Event, ToolCallStarted
    from durable_llm.live import follow as conversation_events

    done = asyncio.ensure_future(until)
    if isinstance(events_from, Event):
        events = aiter(conversation_events(client, handle.id, after=events_from))
    else:
        events = aiter(conversation_events(client, handle.id, from_offset=events_from))
    asked: set[str] = set()
    with console.status(STATES["thinking"]) as spinner:
        next_event: asyncio.Future[ConversationEvent] = asyncio.ensure_future(anext(events))
        try:
            while True:
                await asyncio.wait({next_event, done}, return_when=asyncio.FIRST_COMPLETED)
                if done.done():
                    break
                if isinstance(next_event.exception(), StopAsyncIteration):  # the stream ended first
                    await asyncio.wait({done})
                    break
                event = next_event.result()
                events_from = event
                next_event = asyncio.ensure_future(anext(events))
                if isinstance(event, Delta):
                    if LIVE.receive(event):  # a new model call: the messages before it are complete
                        offset = await _print_new(handle, offset)
                    preview = LIVE.preview(max(20, console.width - 12))
                    spinner.update(f"agent: {escape(preview)}" if preview else STATES["thinking"])
                    continue
                offset = await _print_new(handle, offset)
                if isinstance(event, ToolCallStarted):
                    spinner.update(STATES["running_tools"])
                elif isinstance(event, AgentSwitched):
                    console.print(
                        f"[dim]{escape(event.from_agent)} hands the conversation to {escape(event.to_agent)}[/]"
                    )
                elif isinstance(event, ApprovalRequested) and event.call_id not in asked:
                    asked.add(event.call_id)
                    spinner.stop()
                    await _ask_approval(handle, event.call_id, event.name, event.arguments_raw)
                    spinner.start()
        finally:
            next_event.cancel()
            await asyncio.gather(next_event, return_exceptions=True)
            LIVE.forget()
    if done.exception() is not None:
        return offset, events_from
    result = done.result()
    if isinstance(result, AgentResult):  # the workflow is over: its result has every message
        for message in result.messages[offset:]:
            print_message(message)
        return len(result.messages), events_from
    return await _print_new(handle, offset), events_from


async def _print_new(handle: WorkflowHandle[Any, Any], offset: int) -> int:
    from durable_llm.cli.workers import answered_in_time, query_timeout
    from durable_llm.queries import read_messages

    with answered_in_time(handle.id):
        messages = await read_messages(handle, offset, rpc_timeout=query_timeout())
    for message in messages:
        print_message(message)
    return offset + len(messages)


async def _ask_approval(handle: WorkflowHandle[Any, Any], call_id: str, name: str, arguments: str) -> None:
    from durable_llm.workflow import AgentWorkflow

    console.print(f"[yellow]The agent wants to run[/] {escape(name)}({escape(arguments)}) [dim](call {call_id})[/]")
    answer = await ask("Allow it? [y/N] ")
    approved = answer.strip().lower() in ("y", "yes")
    reason = None if approved else "the user said no"
    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])
