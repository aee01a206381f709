"""The `durable-llm` commands and their options; `actions` does the work."""

from __future__ import annotations

from typing import Annotated

import typer

from durable_llm.cli import actions
from durable_llm.cli.exit import run_command
from durable_llm.config import load_settings

app = typer.Typer(
    help="Durable LLM agents on OpenAI, Claude or Gemini, inside Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: paragraphs reflowed, no <bool>/<str> type column
)

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", metavar="PROVIDER:MODEL", help="Overrides DURABLE_LLM_MODEL and the config files."),
]
ToolsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tools",
        "-t",
        metavar="MODULE:ATTRIBUTE",
        help="A tool function or a list of them; repeatable (default: DURABLE_LLM_TOOLS, else the weather tools).",
    ),
]
WorkerOption = Annotated[
    bool,
    typer.Option(
        "--worker/--no-worker",
        help="Run a worker in this process (--no-worker: a `durable-llm worker` runs elsewhere, with its tools).",
    ),
]
OfflineOption = Annotated[
    bool,
    typer.Option(
        "--offline",
        help="Answer through a local fake of the model's vendor (the default when its API key is not set); "
        "with --no-worker, give it to `durable-llm worker` instead.",
    ),
]
ConversationArgument = Annotated[str, typer.Argument(metavar="CONVERSATION", help="The conversation's workflow id.")]


@app.command()
def demo(
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", metavar="ID", help="Resume an interrupted demo by its workflow id."),
    ] = None,
    model: ModelOption = None,
    think: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="About the seconds the fake model takes per call (offline): time to press Ctrl-C."
        ),
    ] = 1.0,
) -> None:
    """Run the weather agent end to end: Temporal server, worker, model, tools.

    Without an API key for the configured vendor, a local fake of that vendor answers (through
    the vendor's real SDK and wire format) and the weather data comes from a local NWS sample.
    """
    run_command(lambda: actions.demo(load_settings(model=model, from_command_line=True), conversation, think))


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What to ask the agent.")],
    model: ModelOption = None,
    tools: ToolsOption = None,
    worker: WorkerOption = True,
    offline: OfflineOption = False,
) -> None:
    """Ask the configured agent one question; print its answer, the tool calls and the usage."""
    run_command(
        lambda: actions.one_shot(
            load_settings(model=model, from_command_line=True), prompt, tools or [], worker, offline
        )
    )


@app.command()
def chat(
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", metavar="ID", help="Re-attach to this conversation (workflow id)."),
    ] = None,
    model: ModelOption = None,
    tools: ToolsOption = None,
    worker: WorkerOption = True,
    offline: OfflineOption = False,
) -> None:
    """Talk with the configured agent, turn after turn; /end ends the conversation, Ctrl-D leaves it open."""
    run_command(
        lambda: actions.chat(
            load_settings(model=model, from_command_line=True), conversation, tools or [], worker, offline
        )
    )


@app.command()
def history(
    conversation: ConversationArgument,
    as_json: Annotated[bool, typer.Option("--json", help="Print the messages and usage as JSON.")] = False,
) -> None:
    """Print a conversation: who said what, the tool calls (with their ids) and results, the tokens used."""
    run_command(lambda: actions.history(load_settings(), conversation, as_json))


@app.command("list")
def list_command(
    state: Annotated[
        str | None,
        typer.Option(metavar="STATE", help=f"Only conversations in this state ({', '.join(actions.STATES_LISTED)})."),
    ] = None,
    limit: Annotated[int, typer.Option(metavar="N", help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """List the conversations on the server, newest activity first: agent, model, state, turns, tokens."""
    run_command(lambda: actions.list_conversations(load_settings(), state, limit, as_json))


@app.command("ui")
def ui_command(
    host: Annotated[
        str, typer.Option(metavar="ADDRESS", help="Where to listen; off 127.0.0.1 the page asks for a token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="The port to listen on.")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(metavar="TOKEN", help="Asked of every request (default: none on 127.0.0.1, else a random one)."),
    ] = None,
    model: ModelOption = None,
    tools: ToolsOption = None,
    worker: WorkerOption = True,
) -> None:
    """A web chat: the conversations, their history, sending messages and approving tool calls, answers streaming in."""
    run_command(
        lambda: actions.ui(load_settings(model=model, from_command_line=True), host, port, token, tools or [], worker)
    )


@app.command()
def approve(
    conversation: ConversationArgument,
    call_id: Annotated[
        str,
        typer.Argument(metavar="CALL_ID", help="The tool call waiting for approval (`history` shows it)."),
    ],
    reject: Annotated[bool, typer.Option("--reject", help="Refuse the call instead; the model is told.")] = False,
    reason: Annotated[str | None, typer.Option(metavar="TEXT", help="Why, passed on to the model.")] = None,
) -> None:
    """Approve (or --reject) a tool call an agent is waiting on."""
    run_command(lambda: actions.approve(load_settings(), conversation, call_id, not reject, reason))


@app.command("worker")
def worker_command(
    tools: ToolsOption = None,
    task_queue: Annotated[
        str | None, typer.Option(metavar="NAME", help="Task queue to poll (default: the configured one).")
    ] = None,
    offline: OfflineOption = False,
) -> None:
    """Run a worker for the configured agents and tools until Ctrl-C."""
    run_command(
        lambda: actions.worker(load_settings(task_queue=task_queue, from_command_line=True), tools or [], offline)
    )


@app.command()
def server() -> None:
    """Run the embedded Temporal dev server of the data directory, and its web UI, until Ctrl-C."""
    run_command(lambda: actions.server(load_settings()))
