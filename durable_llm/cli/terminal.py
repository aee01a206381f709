"""Reading what the person at the terminal types, without blocking the event loop."""

from __future__ import annotations

import asyncio
import threading

from durable_llm.cli.render import console


async def ask(prompt: str) -> str:
    """Read a line from the terminal (EOFError at end of input).

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
