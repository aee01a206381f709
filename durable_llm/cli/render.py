"""How the commands print: messages by role, tool calls with their ids, usage, the answer being written."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from durable_llm.agent import PendingApproval
from durable_llm.conversation import (
    MediaPart,
    Message,
    ReasoningPart,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    Usage,
)
from durable_llm.events import Delta

if TYPE_CHECKING:
    from durable_llm.cli.server import Connection

console = Console(highlight=False, soft_wrap=True)

STATES = {
    "thinking": "the model is thinking…",
    "running_tools": "running tools…",
    "waiting_for_approval": "waiting for approval…",
    "waiting_for_input": "finishing…",
    "done": "done",
}
"""The status line for each `AgentStatus.state`."""


class LiveAnswer:
    """The answer being written, previewed in the status line as its pieces (`Delta` events) come."""

    def __init__(self) -> None:
        self._call: tuple[str, int] | None = None
        self._text = ""

    def receive(self, delta: Delta) -> bool:
        """Keep a piece of answer text; True when it starts another model call (or a retry)."""
        call = (delta.call, delta.attempt)
        new = call != self._call
        if new:
            self._call, self._text = call, ""
        if delta.delta == "text":
            self._text = self._text[: delta.position] + delta.text
        return new

    def preview(self, width: int) -> str | None:
        """The end of the answer being written, on one line of at most `width` characters."""
        flat = " ".join(self._text.split())
        if not flat:
            return None
        return flat if len(flat) <= width else "…" + flat[-(width - 1) :]

    def forget(self) -> None:
        """The answer is complete (printed whole with its message)."""
        self._text = ""


LIVE = LiveAnswer()
"""The answer being written in the conversation followed."""


def print_message(message: Message) -> None:
    """One message, readable: text by role, tool calls (with their ids) and results on their own lines."""
    if message.role == "assistant":
        LIVE.forget()  # the answer is printed whole: no preview of it any more
    for part in message.parts:
        if isinstance(part, TextPart) and message.role == "user":
            console.print(f"[bold cyan]you[/]: {escape(part.text)}")
        elif isinstance(part, TextPart) and message.role == "system":
            console.print(f"[dim]system: {escape(part.text)}[/]")
        elif isinstance(part, TextPart):  # in a team, the agent that wrote it
            console.print(f"[bold green]{escape(message.agent or 'agent')}[/]: {escape(part.text)}")
        elif isinstance(part, MediaPart):
            about = part.filename or part.url or part.file_id or part.mime_type or ""
            console.print(f"  [dim]{escape(f'[{part.media_type}]')} {escape(about)}[/]")
        elif isinstance(part, ToolCallPart):
            call_id = f" [dim](id {escape(part.id)})[/]" if part.id else ""
            console.print(f"  [magenta]→ {escape(part.name)}[/]({escape(part.arguments_raw)}){call_id}")
        elif isinstance(part, ToolResultPart):
            colour = "red" if part.is_error else "blue"
            text = part.text or json.dumps(part.value)
            console.print(f"  [{colour}]← {escape(part.name or '?')}[/]: {escape(short(text))}")
        elif isinstance(part, ReasoningPart) and (part.text or part.summary):
            console.print(f"  [dim]thinking: {escape(short(part.text or ' '.join(part.summary)))}[/]")
        elif isinstance(part, RefusalPart):
            console.print(f"[bold red]refused[/]: {escape(part.text)}")


def print_pending(conversation: str, pending: PendingApproval) -> None:
    """A tool call waiting for approval, with the command that answers it."""
    console.print(
        f"[yellow]Waiting for approval[/]: {escape(pending.name)}({escape(pending.arguments_raw)}) — "
        f"durable-llm approve {conversation} {escape(pending.call_id)} [--reject]"
    )


def short(text: str, limit: int = 160) -> str:
    """`text` on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def print_usage(usage: Usage, turns: int) -> None:
    """Model calls and tokens, on one dim line."""
    line = (
        f"\n[dim]{turns} model call(s) · {usage.input_tokens:,} input tokens "
        f"({usage.cached_input_tokens:,} cached) · {usage.output_tokens:,} output tokens"
    )
    if usage.reasoning_tokens:
        line += f" ({usage.reasoning_tokens:,} reasoning)"
    console.print(line + "[/]")


def print_connection(connection: Connection) -> None:
    """Which Temporal server the command uses; for the embedded one, where its data really is."""
    server = connection.server
    if server is None:
        console.print(f"Temporal: {connection.client.service_client.config.target_host}")
        return
    how = "started" if server.started else f"already running, started by process {server.owner_pid}"
    console.print(
        f"Temporal: embedded dev server on {server.address} ({how}; data in {server.db_file}) — web UI {server.ui_url}"
    )


def ui_hint(connection: Connection, conversation: str) -> str:
    """Where the Temporal UI shows `conversation`."""
    if connection.server is None:
        return f" of your server (workflow {conversation})"
    return f": {connection.server.ui_url}/namespaces/{connection.server.namespace}/workflows/{conversation}"
