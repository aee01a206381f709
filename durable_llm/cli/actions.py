"""What each `durable-llm` command does, once its options are read (`commands` reads them)."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from datetime import datetime
from typing import TYPE_CHECKING, Any

from durable_llm.agent import AgentInput, AgentResult
from durable_llm.cli.exit import CommandError
from durable_llm.cli.offline import use_vendor
from durable_llm.cli.render import console, print_message, print_pending, print_usage, ui_hint
from durable_llm.cli.temporal import chosen_tools, connected, plugin, tool_name, tools_or_weather, worker_running
from durable_llm.cli.terminal import ask
from durable_llm.cli.watch import follow, follow_to_end, stream_offset
from durable_llm.config import Settings

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

DEMO_TASK_QUEUE = "durable-llm-demo"
"""The demo's own task queue, so a worker for other tools never picks up its tool calls."""


async def demo(settings: Settings, conversation: str | None, think: float) -> None:
    """The weather agent end to end, offline without a key; resumes an interrupted one."""
    from durable_llm.cli import demo as weather
    from durable_llm.workflow import AgentWorkflow

    async with AsyncExitStack() as stack:
        connection = await stack.enter_async_context(connected(settings, plugin(settings, weather.WEATHER_TOOLS)))
        client = connection.client
        resuming = conversation is not None
        conversation = conversation or f"weather-demo-{uuid.uuid4().hex[:8]}"
        handle = client.get_workflow_handle(conversation, result_type=AgentResult)
        switching = False
        if resuming:
            settings, switching = await _conversation_model(handle, settings)
        use_vendor(stack, settings, offline=False, think=think)
        await stack.enter_async_context(worker_running(client, DEMO_TASK_QUEUE))
        if resuming:
            console.print(f"Resuming [bold]{conversation}[/]: the workflow kept its state while nothing ran.")
            if switching:
                await _switch_model(handle, settings)
        else:
            agent = settings.agent(tools=weather.WEATHER_TOOLS, name="weather", instructions=weather.INSTRUCTIONS)
            await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=agent, message=weather.QUESTION),
                id=conversation,
                task_queue=DEMO_TASK_QUEUE,
                memo={"model": agent.model},
            )
        resume = f"durable-llm demo --conversation {conversation}"
        console.print(
            f"Conversation [bold]{conversation}[/]. Try durability: press Ctrl-C while it works, then run "
            f"[bold]{resume}[/] — it carries on from the last completed step.\n"
        )
        try:
            result = await follow_to_end(client, handle)
        except asyncio.CancelledError:
            console.print(f"\n[yellow]Interrupted.[/] The conversation is safe in Temporal; resume it with: {resume}")
            raise
        print_usage(result.usage, result.turns)
        console.print(f"\nEvery step is in the Temporal UI{ui_hint(connection, conversation)}")


async def one_shot(settings: Settings, prompt: str, tool_refs: Sequence[str], worker: bool, offline: bool) -> None:
    """One question, answered by a worker in this process or (`worker=False`) one running elsewhere."""
    from durable_llm.workflow import AgentWorkflow

    _check_offline(worker, offline)
    async with AsyncExitStack() as stack:
        tools = tools_or_weather(settings, tool_refs) if worker else chosen_tools(settings, tool_refs) or []
        connection = await stack.enter_async_context(connected(settings, plugin(settings, tools)))
        client = connection.client
        if worker:
            use_vendor(stack, settings, offline=offline)
            await stack.enter_async_context(worker_running(client, settings.task_queue))
            agent_tools: Sequence[Any] = tools
        else:
            agent_tools = await _agree_on_tools(client, settings, tool_refs)
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=settings.agent(tools=agent_tools), message=prompt),
            id=f"run-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            memo={"model": settings.model},
        )
        result = await follow_to_end(client, handle)
    print_usage(result.usage, result.turns)
    console.print(f"[dim]Conversation {handle.id}: durable-llm history {handle.id}[/]")


async def chat(
    settings: Settings, conversation: str | None, tool_refs: Sequence[str], worker: bool, offline: bool
) -> None:
    """A conversation at the terminal, new or re-attached, turn after turn."""
    from durable_llm.chat import send_message
    from durable_llm.cli.workers import require_worker
    from durable_llm.workflow import AgentWorkflow

    _check_offline(worker, offline)
    async with AsyncExitStack() as stack:
        tools = tools_or_weather(settings, tool_refs) if worker else chosen_tools(settings, tool_refs) or []
        connection = await stack.enter_async_context(connected(settings, plugin(settings, tools)))
        client = connection.client
        new = conversation is None
        conversation = conversation or f"chat-{uuid.uuid4().hex[:12]}"
        handle = client.get_workflow_handle(conversation, result_type=AgentResult)
        task_queue = settings.task_queue
        switching = False
        if not new:
            settings, switching = await _conversation_model(handle, settings)
            task_queue = (await handle.describe()).task_queue or task_queue
        if worker:
            use_vendor(stack, settings, offline=offline)
            await stack.enter_async_context(worker_running(client, settings.task_queue))
        else:
            await require_worker(client, task_queue)
        if switching:
            await _switch_model(handle, settings)
        if new:
            agent_tools = tools if worker else await _agree_on_tools(client, settings, tool_refs)
            await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=settings.agent(tools=agent_tools), chat=True),
                id=conversation,
                task_queue=settings.task_queue,
                memo={"model": settings.model},
            )
            offset, events_from = 0, 0  # events_from: then the last event shown (`watch.follow`)
        else:
            offset = await _print_so_far(handle)
            events_from = await stream_offset(client, conversation)
        console.print(
            f"Conversation [bold]{conversation}[/] with {settings.model}. "
            f"/end ends it; Ctrl-D leaves it open (durable-llm chat --conversation {conversation})."
        )
        while True:
            try:
                text = await ask("[bold cyan]you[/] > ")
            except EOFError:
                console.print(f"\nLeft open: durable-llm chat --conversation {conversation}")
                return
            if text.strip() == "/end":
                await handle.signal(AgentWorkflow.end_conversation)
                if worker:
                    await handle.result()
                console.print("Conversation ended.")
                return
            if not text.strip():
                continue
            if not worker:
                await require_worker(client, task_queue)
            # Our own message is printed by the terminal already; follow from after it.
            offset += 1
            # Resent if the chat is just continuing as new (a fresh run of the same conversation).
            update = asyncio.ensure_future(send_message(handle, text))
            offset, events_from = await follow(client, handle, offset, update, events_from)
            await update


async def history(settings: Settings, conversation: str, as_json: bool) -> None:
    """Print a conversation (or its JSON): messages with tool call ids, calls awaiting approval, usage."""
    from temporalio.client import WorkflowExecutionStatus

    from durable_llm.queries import read_messages
    from durable_llm.workflow import AgentWorkflow

    pending = ()
    async with connected(settings, plugin(settings, ()), quiet=as_json) as connection:
        handle = connection.client.get_workflow_handle(conversation, result_type=AgentResult)
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result()
            messages, usage, turns = result.messages, result.usage, result.turns
        else:
            # Queries need a worker; this one only replays the workflow (no tool or model activity).
            async with worker_running(connection.client, description.task_queue or "", workflows_only=True):
                messages = await read_messages(handle)
                status = await handle.query(AgentWorkflow.status)
            usage, turns, pending = status.usage, status.turns, status.pending_approvals
    state = description.status.name.lower() if description.status else "unknown"
    if as_json:
        body = {
            "conversation": conversation,
            "status": state,
            "turns": turns,
            "usage": usage.model_dump(mode="json"),
            "messages": [m.model_dump(mode="json") for m in messages],
            "pending_approvals": [p.model_dump(mode="json") for p in pending],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    console.print(f"Conversation [bold]{conversation}[/] ({state}), {len(messages)} messages\n")
    for message in messages:
        print_message(message)
    for waiting in pending:
        print_pending(conversation, waiting)
    print_usage(usage, turns)


async def approve(settings: Settings, conversation: str, call_id: str, approved: bool, reason: str | None) -> None:
    """Answer a tool call waiting for approval, through the conversation's worker (waited for boundedly)."""
    from durable_llm.cli.workers import require_worker, within_worker_wait
    from durable_llm.workflow import AgentWorkflow

    async with connected(settings, plugin(settings, ()), quiet=True) as connection:
        handle = connection.client.get_workflow_handle(conversation)
        task_queue = (await handle.describe()).task_queue or settings.task_queue
        await require_worker(connection.client, task_queue)
        update = handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])
        await within_worker_wait(update, task_queue)
    console.print(f"{'Approved' if approved else 'Rejected'} {call_id} in {conversation}.")


async def worker(settings: Settings, tool_refs: Sequence[str], offline: bool) -> None:
    """A worker for the configured agents and tools, until Ctrl-C; it tells clients which tools it runs."""
    tools = tools_or_weather(settings, tool_refs)
    names = [tool_name(fn) for fn in tools]
    async with AsyncExitStack() as stack:
        use_vendor(stack, settings, offline=offline)
        connection = await stack.enter_async_context(connected(settings, plugin(settings, tools)))
        async with worker_running(connection.client, settings.task_queue, serving=names):
            console.print(
                f"Worker on task queue [bold]{settings.task_queue}[/]; tools: {', '.join(names) or 'none'}. "
                "Ctrl-C to stop."
            )
            await asyncio.Event().wait()


async def server(settings: Settings) -> None:
    """The embedded Temporal server of the data directory, until Ctrl-C; refused if one already serves it."""
    from durable_llm.cli.server import EmbeddedServer

    embedded = EmbeddedServer(
        port=settings.server_port,
        ui_port=settings.ui_port,
        data_dir=settings.data_dir,
        namespace=settings.temporal_namespace,
    )
    async with embedded:
        if not embedded.started:
            raise CommandError(
                f"a Temporal server already serves {embedded.data_dir}, on {embedded.address} (started by process "
                f"{embedded.owner_pid}; web UI {embedded.ui_url}): use that one, or set DURABLE_LLM_DATA_DIR "
                "(and DURABLE_LLM_SERVER_PORT) for another"
            )
        console.print(f"Temporal dev server on [bold]{embedded.address}[/], data in {embedded.db_file}")
        console.print(f"Web UI: [bold]{embedded.ui_url}[/]. Ctrl-C to stop.")
        await asyncio.Event().wait()


# -- shared steps ----------------------------------------------------------------------------------


async def _conversation_model(handle: WorkflowHandle[Any, Any], settings: Settings) -> tuple[Settings, bool]:
    """The settings with the model the conversation goes on with, and whether it must be switched to it.

    That is the configured model when the configuration names one other than a running
    conversation's (switch it with `_switch_model` once a worker runs), else the conversation's own.
    """
    from temporalio.client import WorkflowExecutionStatus

    description = await handle.describe()
    model = await description.memo_value("model", default=settings.model)
    running = description.status == WorkflowExecutionStatus.RUNNING
    if model == settings.model or settings.origin("model") == "default" or not running:
        return settings.model_copy(update={"model": model}), False
    return settings, True


async def _switch_model(handle: WorkflowHandle[Any, Any], settings: Settings) -> None:
    """Switch the running conversation to the configured model (a worker must be running), and say so."""
    from durable_llm.chat import switch_model

    previous = await switch_model(handle, settings.model)
    console.print(
        f"[yellow]Switched[/] {handle.id} from {previous} to {settings.model} (from {settings.origin('model')}): "
        "it answers with that model from now on."
    )


def _check_offline(worker: bool, offline: bool) -> None:
    if offline and not worker:
        raise CommandError(
            "--offline applies to the worker that calls the model: give it to `durable-llm worker`, not to --no-worker"
        )


async def _print_so_far(handle: WorkflowHandle[Any, Any]) -> int:
    """Print the conversation's messages so far; returns how many."""
    from durable_llm.cli.workers import answered_in_time, query_timeout
    from durable_llm.queries import read_messages

    with answered_in_time(handle.id):
        messages = await read_messages(handle, rpc_timeout=query_timeout())
    for message in messages:
        print_message(message)
    return len(messages)


async def _agree_on_tools(client: Client, settings: Settings, tool_refs: Sequence[str]) -> Sequence[Any]:
    """The agent's tools when a worker elsewhere runs them: the ones it says it serves.

    Tools chosen here too must be among those; a worker that cannot say (not a `durable-llm
    worker`) is trusted with the tools chosen here, and without any the command refuses.
    """
    from durable_llm.cli.workers import served_tools

    chosen: list[Callable[..., Any]] | None = chosen_tools(settings, tool_refs)
    served = await served_tools(client, settings.task_queue)
    if served is None and chosen is None:
        raise CommandError(
            f"the worker on task queue {settings.task_queue!r} does not say which tools it runs (it is not a "
            "`durable-llm worker`), so this agent would have none: name them with --tools or DURABLE_LLM_TOOLS"
        )
    if chosen is None:
        console.print(f"Tools of the worker on {settings.task_queue}: {', '.join(served or ()) or 'none'}.")
        return served or ()
    missing = [name for name in map(tool_name, chosen) if served is not None and name not in served]
    if missing:
        raise CommandError(
            f"the worker on task queue {settings.task_queue!r} does not run {', '.join(missing)} (it runs: "
            f"{', '.join(served or ()) or 'no tools'}); start it with the same --tools / DURABLE_LLM_TOOLS"
        )
    return chosen


STATES_LISTED = ("running", "completed", "failed", "canceled", "terminated", "continued_as_new", "timed_out")
"""The states `list --state` takes (Temporal's execution statuses)."""


async def conversation_rows(client: Client, state: str | None, limit: int) -> list[dict[str, Any]]:
    """The conversations on the server, newest activity first (Temporal visibility and the workflows' memo)."""
    from durable_llm.workflow import AGENT_WORKFLOW

    if state is not None and state not in STATES_LISTED:
        raise CommandError(f"unknown state {state!r}: choose one of {', '.join(STATES_LISTED)}")
    query = f"WorkflowType = '{AGENT_WORKFLOW}'"
    if state is not None:
        query += f" AND ExecutionStatus = '{''.join(word.capitalize() for word in state.split('_'))}'"
    rows = []
    async for execution in client.list_workflows(query, limit=limit):
        memo = await execution.memo()
        updated = memo.get("updated")
        last = execution.close_time or (datetime.fromisoformat(updated) if updated else execution.start_time)
        rows.append(
            {
                "id": execution.id,
                "agent": memo.get("agent"),
                "model": memo.get("model"),
                "state": execution.status.name.lower() if execution.status else "unknown",
                "turns": memo.get("turns"),
                "tokens": memo.get("tokens"),
                "last_activity": last.isoformat(),
            }
        )
    rows.sort(key=lambda row: row["last_activity"], reverse=True)
    return rows


async def list_conversations(settings: Settings, state: str | None, limit: int, as_json: bool) -> None:
    """Print the conversations on the server, newest activity first: id, agent, model, state, turns, tokens."""
    from rich.table import Table

    async with connected(settings, plugin(settings, ()), quiet=True) as connection:
        rows = await conversation_rows(connection.client, state, limit)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print("No conversations" + (f" {state}" if state else "") + " on this server.")
        return
    table = Table("conversation", "agent", "model", "state", "turns", "tokens", "last activity", box=None)
    for row in rows:
        tokens = row["tokens"]
        table.add_row(
            row["id"],
            str(row["agent"] or ""),
            str(row["model"] or ""),
            row["state"],
            "" if row["turns"] is None else str(row["turns"]),
            f"{tokens:,}" if isinstance(tokens, int) else "",
            datetime.fromisoformat(row["last_activity"]).astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


LOOPBACK = ("127.0.0.1", "localhost", "::1")


async def ui(
    settings: Settings, host: str, port: int, token: str | None, tool_refs: Sequence[str], worker: bool
) -> None:
    """Serve the web chat until Ctrl-C, with a worker in this process unless `worker` is False."""
    import secrets

    try:
        import uvicorn

        from durable_llm.cli.ui import make_app
    except ImportError as err:
        raise CommandError(
            f"durable-llm ui needs the ui extra ({err.name} is missing): pip install 'durable-llm[ui]'"
        ) from None

    if host not in LOOPBACK and token is None:
        token = secrets.token_urlsafe(16)  # the page acts as the user: not without a token off this machine
    async with AsyncExitStack() as stack:
        tools = tools_or_weather(settings, tool_refs) if worker else chosen_tools(settings, tool_refs) or []
        connection = await stack.enter_async_context(connected(settings, plugin(settings, tools)))
        client = connection.client
        if worker:
            use_vendor(stack, settings, offline=False)
            await stack.enter_async_context(worker_running(client, settings.task_queue))
            agent_tools: Sequence[Any] = tools
        else:
            agent_tools = await _agree_on_tools(client, settings, tool_refs)
        temporal_ui = None
        if connection.server is not None:
            temporal_ui = f"{connection.server.ui_url}/namespaces/{connection.server.namespace}/workflows/{{id}}"
        app = make_app(
            client,
            lambda: settings.agent(tools=agent_tools),
            settings.task_queue,
            token=token,
            temporal_ui=temporal_ui,
        )
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        address = f"http://{'[' + host + ']' if ':' in host else host}:{port}/" + (f"?token={token}" if token else "")
        console.print(f"Web chat on {address} — Ctrl-C to stop.")
        await server.serve()
