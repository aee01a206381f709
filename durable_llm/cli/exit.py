"""How a command ends: its exit code, a clear message for the problems a user can fix, Ctrl-C and SIGTERM."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

import typer
from rich.markup import escape

from durable_llm.cli.render import console
from durable_llm.config import ConfigError


class CommandError(Exception):
    """The command cannot go on; the message says why and what to do (exit code 1, no traceback)."""


def run_command(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a command's coroutine; configuration and connection problems end it with a clear message."""
    from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from durable_llm.cli.server import EmbeddedServerError

    try:
        asyncio.run(_interruptible(main()))
    except ConfigError as exc:
        console.print(f"[bold red]Configuration error[/]: {escape(str(exc))}")
        raise typer.Exit(2) from None
    except (CommandError, EmbeddedServerError, RPCError, WorkflowUpdateFailedError, WorkflowFailureError) as exc:
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


def main() -> None:
    """The `durable-llm` executable: run the command, then leave without tearing the interpreter down.

    Temporal's Rust core keeps threads of its own that can still call into Python while the
    interpreter finalises, which crashes (SIGSEGV) or hangs a process that had finished cleanly.
    By then the command has stopped its worker and server; exit hooks run, output is flushed.
    """
    from durable_llm.cli.commands import app

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
