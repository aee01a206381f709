"""`durable-llm`: run durable agents from a terminal, with no Temporal server to install.

    durable-llm demo               # the weather agent, end to end (no API key needed)
    durable-llm run "prompt"       # one question, one answer
    durable-llm chat               # a conversation; --conversation ID re-attaches to one
    durable-llm history ID         # what was said, tool calls and tokens (--json)
    durable-llm worker --tools my_app.tools:TOOLS
    durable-llm server             # the embedded Temporal server and its web UI, alone

The model comes from the configuration (see `durable_llm.config`): `--model`, then
`DURABLE_LLM_MODEL`, then durable_llm.toml, then `[tool.durable_llm]` in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from durable_llm.agent import AgentInput, AgentResult, AgentStatus, HistoryPage
from durable_llm.config import ConfigError, Settings, import_tools, load_settings
from durable_llm.conversation import (
    Message,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from durable_llm.streaming import TextDelta

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle

    from durable_llm.plugin import DurableLLMPlugin
    from durable_llm.server import Connection

app = typer.Typer(
    help="Durable LLM agents on OpenAI, Claude or Gemini, inside Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(highlight=False, soft_wrap=True)

DEMO_TASK_QUEUE = "durable-llm-demo"
"""The demo's own task queue, so a worker for other tools never picks up its tool calls."""

POLL_SECONDS = 0.2
"""How often a waiting command asks the workflow what is new (queries are not written to history)."""

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help='"provider:model"; overrides DURABLE_LLM_MODEL and the config files.'),
]
ToolsOption = Annotated[
    list[str] | None,
    typer.Option("--tools", "-t", help='Tools as "module:attribute" (a function or a list of them); repeatable.'),
]
WorkerOption = Annotated[
    bool,
    typer.Option("--worker/--no-worker", help="Run a worker in this process (--no-worker: one runs elsewhere)."),
]


# -- commands ------------------------------------------------------------------------------------


@app.command()
def demo(
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Resume an interrupted demo by its workflow id.")
    ] = None,
    model: ModelOption = None,
    think: Annotated[
        float, typer.Option(help="About the seconds the fake model takes per call (offline): time to press Ctrl-C.")
    ] = 1.0,
) -> None:
    """Run the weather agent end to end: Temporal server, worker, model, tools.

    Without an API key for the configured vendor, a local fake of that vendor answers (through
    the vendor's real SDK and wire format) and the weather data comes from a local NWS sample.
    """
    _run(lambda: _demo(load_settings(model=model, from_command_line=True), conversation, think))


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="What to ask the agent.")],
    model: ModelOption = None,
    tools: ToolsOption = None,
    worker: WorkerOption = True,
) -> None:
    """Ask the configured agent one question; print its answer, the tool calls and the usage."""
    _run(lambda: _one_shot(load_settings(model=model, from_command_line=True), prompt, tools or [], worker))


@app.command()
def chat(
    conversation: Annotated[
        str | None, typer.Option("--conversation", "-c", help="Re-attach to this conversation (workflow id).")
    ] = None,
    model: ModelOption = None,
    tools: ToolsOption = None,
    worker: WorkerOption = True,
) -> None:
    """Talk with the configured agent, turn after turn; /end ends the conversation, Ctrl-D leaves it open."""
    _run(lambda: _chat(load_settings(model=model, from_command_line=True), conversation, tools or [], worker))


@app.command()
def history(
    conversation: Annotated[str, typer.Argument(help="The conversation's workflow id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages and usage as JSON.")] = False,
) -> None:
    """Print a conversation: who said what, the tool calls and results, the tokens used."""
    _run(lambda: _history(load_settings(), conversation, as_json))


@app.command()
def approve(
    conversation: Annotated[str, typer.Argument(help="The conversation's workflow id.")],
    call_id: Annotated[str, typer.Argument(help="The tool call waiting for approval (see `history` or `chat`).")],
    reject: Annotated[bool, typer.Option("--reject", help="Refuse the call instead; the model is told.")] = False,
    reason: Annotated[str | None, typer.Option(help="Why, passed on to the model.")] = None,
) -> None:
    """Approve (or --reject) a tool call an agent is waiting on."""
    _run(lambda: _approve(load_settings(), conversation, call_id, not reject, reason))


@app.command("worker")
def worker_command(
    tools: ToolsOption = None,
    task_queue: Annotated[str | None, typer.Option(help="Task queue to poll (default: the configured one).")] = None,
) -> None:
    """Run a worker for the configured agents and tools until Ctrl-C."""
    _run(lambda: _worker(load_settings(task_queue=task_queue, from_command_line=True), tools or []))


@app.command()
def server() -> None:
    """Run the embedded Temporal dev server and its web UI until Ctrl-C."""
    _run(lambda: _server(load_settings()))


# -- what the commands do ------------------------------------------------------------------------


async def _demo(settings: Settings, conversation: str | None, think: float) -> None:
    from durable_llm import demo as weather
    from durable_llm.workflow import AgentWorkflow

    async with AsyncExitStack() as stack:
        connection = await stack.enter_async_context(
            _connected(settings, _plugin(settings, weather.WEATHER_TOOLS, preview=True))
        )
        client = connection.client
        resuming = conversation is not None
        conversation = conversation or f"weather-demo-{uuid.uuid4().hex[:8]}"
        handle = client.get_workflow_handle(conversation, result_type=AgentResult)
        if resuming:
            # The conversation goes on with the model it started with, whatever the configuration says now.
            model = await (await handle.describe()).memo_value("model", default=settings.model)
            settings = settings.model_copy(update={"model": model})
        if settings.has_api_key():
            console.print(f"Model: [bold]{settings.model}[/] (the real {settings.provider} API).")
        else:
            _go_offline(stack, settings, think)
        await stack.enter_async_context(_worker_running(client, DEMO_TASK_QUEUE))
        if resuming:
            console.print(f"Resuming [bold]{conversation}[/]: the workflow kept its state while nothing ran.")
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
            result = await _follow_to_end(handle)
        except asyncio.CancelledError:
            console.print(f"\n[yellow]Interrupted.[/] The conversation is safe in Temporal; resume it with: {resume}")
            raise
        _print_usage(result.usage, result.turns)
        console.print(f"\nEvery step is in the Temporal UI{_ui_hint(connection, conversation)}")


def _go_offline(stack: AsyncExitStack, settings: Settings, think: float) -> None:
    """Stand in for the model's vendor and for the NWS, on loopback, for the rest of the demo."""
    from durable_llm import demo as weather
    from durable_llm.testing import FakeVendorServer

    def slow_model(request: Any) -> Any:
        time.sleep(think / 2)  # the rest of the time goes into writing the answer, event by event
        return weather.scripted_weather_model(request)

    saved = dict(os.environ)
    stack.callback(_restore_environment, saved)
    fake = stack.enter_context(FakeVendorServer(settings.provider, responses=slow_model, event_interval=think / 20))
    os.environ.update(fake.env())
    if "NWS_BASE_URL" not in os.environ:
        os.environ.update(stack.enter_context(weather.NWSStub()).env())
    console.print(
        f"[yellow]No API key for {settings.provider}[/] (model {settings.model}): running OFFLINE against a local "
        f"fake {settings.provider} server with a scripted conversation, and a local sample of the National Weather "
        "Service. Set the vendor's API key to use the real model."
    )


def _restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)


async def _one_shot(settings: Settings, prompt: str, extra_tools: Sequence[str], worker: bool) -> None:
    from durable_llm.workflow import AgentWorkflow

    tools = _tools(settings, extra_tools)
    if worker:
        settings.check_api_key()
    async with (
        _connected(settings, _plugin(settings, tools, preview=worker)) as connection,
        _maybe_worker(connection.client, settings.task_queue, worker),
    ):
        handle = await connection.client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=settings.agent(tools=tools), message=prompt),
            id=f"run-{uuid.uuid4().hex[:12]}",
            task_queue=settings.task_queue,
            memo={"model": settings.model},
        )
        result = await _follow_to_end(handle)
    _print_usage(result.usage, result.turns)
    console.print(f"[dim]Conversation {handle.id}: durable-llm history {handle.id}[/]")


async def _chat(settings: Settings, conversation: str | None, extra_tools: Sequence[str], worker: bool) -> None:
    from durable_llm.chat import send_message
    from durable_llm.workflow import AgentWorkflow

    tools = _tools(settings, extra_tools)
    if worker:
        settings.check_api_key()
    async with (
        _connected(settings, _plugin(settings, tools, preview=worker)) as connection,
        _maybe_worker(connection.client, settings.task_queue, worker),
    ):
        client = connection.client
        if conversation is None:
            conversation = f"chat-{uuid.uuid4().hex[:12]}"
            handle = await client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=settings.agent(tools=tools), chat=True),
                id=conversation,
                task_queue=settings.task_queue,
                memo={"model": settings.model},
            )
            model, offset = settings.model, 0
        else:
            handle = client.get_workflow_handle(conversation, result_type=AgentResult)
            model = await (await handle.describe()).memo_value("model", default="its model")
            offset = await _print_new(handle, 0)
        console.print(
            f"Conversation [bold]{conversation}[/] with {model}. "
            f"/end ends it; Ctrl-D leaves it open (durable-llm chat --conversation {conversation})."
        )
        while True:
            try:
                text = await _ask("[bold cyan]you[/] > ")
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
            # Our own message is printed by the terminal already; follow from after it.
            offset += 1
            # Resent if the chat is just continuing as new (a fresh run of the same conversation).
            update = asyncio.ensure_future(send_message(handle, text))
            offset = await _follow(handle, offset, update)
            await update


async def _history(settings: Settings, conversation: str, as_json: bool) -> None:
    from temporalio.client import WorkflowExecutionStatus

    async with _connected(settings, _plugin(settings, ()), quiet=as_json) as connection:
        handle = connection.client.get_workflow_handle(conversation, result_type=AgentResult)
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result()
            messages, usage, turns = result.messages, result.usage, result.turns
        else:
            # Queries need a worker; this one only replays the workflow (no tool or model activity).
            async with _worker_running(connection.client, description.task_queue or "", workflows_only=True):
                messages = await _all_messages(handle)
                status = await _status(handle)
            usage, turns = status.usage, status.turns
    state = description.status.name.lower() if description.status else "unknown"
    if as_json:
        body = {
            "conversation": conversation,
            "status": state,
            "turns": turns,
            "usage": usage.model_dump(mode="json"),
            "messages": [m.model_dump(mode="json") for m in messages],
        }
        sys.stdout.write(json.dumps(body, indent=2) + "\n")
        return
    console.print(f"Conversation [bold]{conversation}[/] ({state}), {len(messages)} messages\n")
    for message in messages:
        _print_message(message)
    _print_usage(usage, turns)


async def _approve(settings: Settings, conversation: str, call_id: str, approved: bool, reason: str | None) -> None:
    from durable_llm.workflow import AgentWorkflow

    async with _connected(settings, _plugin(settings, ()), quiet=True) as connection:
        handle = connection.client.get_workflow_handle(conversation)
        await handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])
    console.print(f"{'Approved' if approved else 'Rejected'} {call_id} in {conversation}.")


async def _worker(settings: Settings, extra_tools: Sequence[str]) -> None:
    tools = _tools(settings, extra_tools)
    settings.check_api_key()
    async with _connected(settings, _plugin(settings, tools)) as connection:
        names = ", ".join(getattr(fn, "__name__", repr(fn)) for fn in tools) or "none"
        console.print(f"Worker on task queue [bold]{settings.task_queue}[/]; tools: {names}. Ctrl-C to stop.")
        async with _worker_running(connection.client, settings.task_queue):
            await asyncio.Event().wait()


async def _server(settings: Settings) -> None:
    from durable_llm.server import EmbeddedServer

    server = EmbeddedServer(
        port=settings.server_port,
        ui_port=settings.ui_port,
        data_dir=settings.data_dir,
        namespace=settings.temporal_namespace,
    )
    async with server:
        if not server.started:
            console.print(f"A Temporal server already answers on {server.address}; nothing to start.")
            return
        console.print(f"Temporal dev server on [bold]{server.address}[/], data in {server.db_file}")
        console.print(f"Web UI: [bold]{server.ui_url}[/]. Ctrl-C to stop.")
        await asyncio.Event().wait()


# -- Temporal plumbing ---------------------------------------------------------------------------


def _plugin(settings: Settings, tools: Sequence[Callable[..., Any]], *, preview: bool = False) -> DurableLLMPlugin:
    """The plugin with `tools` and the configured blob store; with `preview`, the worker of this
    command streams answers to the status line."""
    from durable_llm.plugin import DurableLLMPlugin
    from durable_llm.storage import LocalBlobDriver, external_storage

    storage = external_storage(LocalBlobDriver(settings.blob_dir), settings.blob_threshold)
    return DurableLLMPlugin(tools=tools, storage=storage, on_text=_LIVE.receive if preview else None)


@asynccontextmanager
async def _connected(settings: Settings, plugin: DurableLLMPlugin, *, quiet: bool = False) -> AsyncIterator[Connection]:
    """A client with the plugin, on the configured server or the embedded one; says which."""
    from durable_llm.server import connect

    async with connect(settings, plugins=[plugin]) as connection:
        if not quiet:
            if connection.server is None:
                console.print(f"Temporal: {connection.client.service_client.config.target_host}")
            else:
                how = "started" if connection.server.started else "already running"
                console.print(
                    f"Temporal: embedded dev server on {connection.server.address} ({how}; data in "
                    f"{connection.server.db_file}) — web UI {connection.server.ui_url}"
                )
        yield connection


@asynccontextmanager
async def _worker_running(client: Client, task_queue: str, *, workflows_only: bool = False) -> AsyncIterator[None]:
    """A worker polling `task_queue` (inheriting the client's plugin) while the block runs."""
    from temporalio.worker import Worker

    async with Worker(client, task_queue=task_queue, no_remote_activities=workflows_only):
        yield


@asynccontextmanager
async def _maybe_worker(client: Client, task_queue: str, wanted: bool) -> AsyncIterator[None]:
    if not wanted:
        yield
        return
    async with _worker_running(client, task_queue):
        yield


def _tools(settings: Settings, extra: Sequence[str]) -> list[Callable[..., Any]]:
    tools = settings.load_tools()
    for ref in extra:
        tools.extend(import_tools(ref, source="--tools"))
    return tools


# -- following a conversation --------------------------------------------------------------------


async def _follow_to_end(handle: WorkflowHandle[Any, AgentResult], offset: int = 0) -> AgentResult:
    """Print the conversation as it happens until the workflow returns; returns its result."""
    result_task = asyncio.ensure_future(handle.result())
    offset = await _follow(handle, offset, result_task)
    result = await result_task
    for message in result.messages[offset:]:
        _print_message(message)
    return result


async def _follow(handle: WorkflowHandle[Any, Any], offset: int, until: Awaitable[Any]) -> int:
    """Print new messages and show what the agent does until `until` is done; asks for approvals.

    Returns how many messages were printed in all (the next offset).
    """
    done = asyncio.ensure_future(until)
    asked: set[str] = set()
    with console.status("thinking…") as spinner, _LIVE.watching(handle.id):
        while not done.done():
            offset = await _print_new(handle, offset)
            status = await _status(handle)
            if status.state != "thinking":
                _LIVE.forget()
            preview = _LIVE.preview(max(20, console.width - 12))
            spinner.update(f"agent: {escape(preview)}" if preview else _STATES.get(status.state, status.state))
            for pending in status.pending_approvals:
                if pending.call_id in asked:
                    continue
                asked.add(pending.call_id)
                spinner.stop()
                await _ask_approval(handle, pending.call_id, pending.name, pending.arguments_raw)
                spinner.start()
            await asyncio.wait({done}, timeout=POLL_SECONDS)
        if done.exception() is None and not isinstance(done.result(), AgentResult):
            offset = await _print_new(handle, offset)
    return offset


_STATES = {
    "thinking": "the model is thinking…",
    "running_tools": "running tools…",
    "waiting_for_approval": "waiting for approval…",
    "waiting_for_input": "finishing…",
    "done": "done",
}


async def _ask_approval(handle: WorkflowHandle[Any, Any], call_id: str, name: str, arguments: str) -> None:
    from durable_llm.workflow import AgentWorkflow

    console.print(f"[yellow]The agent wants to run[/] {escape(name)}({escape(arguments)}) [dim](call {call_id})[/]")
    answer = await _ask("Allow it? [y/N] ")
    approved = answer.strip().lower() in ("y", "yes")
    reason = None if approved else "the user said no"
    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])


async def _print_new(handle: WorkflowHandle[Any, Any], offset: int) -> int:
    """Print the messages after `offset`; returns the new offset."""
    while True:
        page = await _page(handle, offset)
        for message in page.messages:
            _print_message(message)
        offset += len(page.messages)
        if not page.messages or offset >= page.total:
            return offset


async def _all_messages(handle: WorkflowHandle[Any, Any]) -> list[Message]:
    messages: list[Message] = []
    while True:
        page = await _page(handle, len(messages))
        messages.extend(page.messages)
        if not page.messages or len(messages) >= page.total:
            return messages


async def _page(handle: WorkflowHandle[Any, Any], offset: int) -> HistoryPage:
    from durable_llm.workflow import AgentWorkflow

    return await handle.query(AgentWorkflow.history, args=[offset, 100])


async def _status(handle: WorkflowHandle[Any, Any]) -> AgentStatus:
    from durable_llm.workflow import AgentWorkflow

    return await handle.query(AgentWorkflow.status)


# -- printing ------------------------------------------------------------------------------------


class _LiveAnswer:
    """The answer a worker in this process is receiving, previewed in the status line as it comes."""

    def __init__(self) -> None:
        self._workflow: str | None = None
        self._call: tuple[str, str, int] | None = None
        self._text = ""

    def receive(self, delta: TextDelta) -> None:
        """The plugin's `on_text` (it must not wait: it only keeps the text)."""
        if delta.workflow_id != self._workflow:
            return
        call = (delta.run_id, delta.call, delta.attempt)
        if call != self._call:  # another call, or a retry starting over
            self._call, self._text = call, ""
        self._text += delta.text

    @contextmanager
    def watching(self, workflow_id: str) -> Iterator[None]:
        """Keep the answers of `workflow_id` (only) while the block runs."""
        self._workflow = workflow_id
        try:
            yield
        finally:
            self._workflow = None
            self.forget()

    def preview(self, width: int) -> str | None:
        """The end of the answer being written, on one line of at most `width` characters."""
        flat = " ".join(self._text.split())
        if not flat:
            return None
        return flat if len(flat) <= width else "…" + flat[-(width - 1) :]

    def forget(self) -> None:
        """The answer is complete (printed whole with its message); a call still writing shows again."""
        self._call, self._text = None, ""


_LIVE = _LiveAnswer()


def _print_message(message: Message) -> None:
    """One message, readable: text by role, tool calls and results on their own lines."""
    if message.role == "assistant":
        _LIVE.forget()  # the answer is printed whole: no preview of it any more
    for part in message.parts:
        if isinstance(part, TextPart) and message.role == "user":
            console.print(f"[bold cyan]you[/]: {escape(part.text)}")
        elif isinstance(part, TextPart) and message.role == "system":
            console.print(f"[dim]system: {escape(part.text)}[/]")
        elif isinstance(part, TextPart):
            console.print(f"[bold green]agent[/]: {escape(part.text)}")
        elif isinstance(part, ToolCallPart):
            console.print(f"  [magenta]→ {escape(part.name)}[/]({escape(part.arguments_raw)})")
        elif isinstance(part, ToolResultPart):
            colour = "red" if part.is_error else "blue"
            text = part.text or json.dumps(part.value)
            console.print(f"  [{colour}]← {escape(part.name or '?')}[/]: {escape(_short(text))}")
        elif isinstance(part, ReasoningPart) and (part.text or part.summary):
            console.print(f"  [dim]thinking: {escape(_short(part.text or ' '.join(part.summary)))}[/]")
        elif isinstance(part, RefusalPart):
            console.print(f"[bold red]refused[/]: {escape(part.text)}")


def _short(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _print_usage(usage: Usage, turns: int) -> None:
    line = (
        f"\n[dim]{turns} model call(s) · {usage.input_tokens:,} input tokens "
        f"({usage.cached_input_tokens:,} cached) · {usage.output_tokens:,} output tokens"
    )
    if usage.reasoning_tokens:
        line += f" ({usage.reasoning_tokens:,} reasoning)"
    console.print(line + "[/]")


def _ui_hint(connection: Connection, conversation: str) -> str:
    if connection.server is None:
        return f" of your server (workflow {conversation})"
    return f": {connection.server.ui_url}/namespaces/{connection.server.namespace}/workflows/{conversation}"


# -- running a command ---------------------------------------------------------------------------


def _run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a command's coroutine; configuration and connection problems end it with a clear message."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from durable_llm.server import EmbeddedServerError

    try:
        asyncio.run(_interruptible(main()))
    except ConfigError as exc:
        console.print(f"[bold red]Configuration error[/]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (EmbeddedServerError, RPCError, WorkflowUpdateFailedError) as exc:
        cause = getattr(exc, "cause", None)
        console.print(f"[bold red]Error[/]: {escape(str(exc))}" + (f": {escape(str(cause))}" if cause else ""))
        raise typer.Exit(1) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        raise typer.Exit(130) from None


async def _interruptible(main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; Ctrl-C or SIGTERM cancels it, so the worker stops and the embedded server shuts down.

    A second Ctrl-C while that happens interrupts at once.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def interrupt() -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
        # The worker cancels the activities it was running on the way out: expected, not worth a traceback.
        logging.getLogger("temporalio.activity").setLevel(logging.ERROR)
        task.cancel()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, interrupt)
    await main


async def _ask(prompt: str) -> str:
    """Read a line from the terminal without blocking the loop (EOFError at end of input).

    A daemon thread, unlike `asyncio.to_thread`, does not keep the process alive after Ctrl-C.
    """
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        try:
            line = console.input(prompt)
        except BaseException as exc:  # EOFError, or KeyboardInterrupt delivered to this thread
            loop.call_soon_threadsafe(_settle, answer, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, answer, line, None)

    threading.Thread(target=read, daemon=True).start()
    return await answer


def _settle(future: asyncio.Future[str], value: str | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value or "")


def main() -> None:
    """The `durable-llm` executable: run the command, then leave without tearing the interpreter down.

    Temporal's Rust core keeps threads of its own that can still call into Python while the
    interpreter finalises, which crashes (SIGSEGV) or hangs a process that had finished cleanly.
    By then the command has stopped its worker and server; exit hooks run, output is flushed.
    """
    try:
        app()
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # a bug of ours: say where, as Python would
        traceback.print_exc()
        code = 1
    if not isinstance(code, int):
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)
