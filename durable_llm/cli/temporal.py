"""The Temporal pieces every command uses: the plugin, the connection, a worker in this process, the tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from durable_llm.cli.render import LIVE, print_connection
from durable_llm.config import Settings, import_tools

if TYPE_CHECKING:
    from temporalio.client import Client

    from durable_llm.cli.server import Connection
    from durable_llm.plugin import DurableLLMPlugin


def plugin(settings: Settings, tools: Sequence[Any], *, preview: bool = False) -> DurableLLMPlugin:
    """The plugin with `tools`, the configured blob store and the servers named in the settings; with
    `preview`, the worker of this command streams answers to the status line."""
    from durable_llm.plugin import DurableLLMPlugin
    from durable_llm.storage import LocalBlobDriver, external_storage

    storage = external_storage(LocalBlobDriver(settings.blob_dir), settings.blob_threshold)
    return DurableLLMPlugin(
        tools=tools, storage=storage, on_text=LIVE.receive if preview else None, providers=settings.providers()
    )


@asynccontextmanager
async def connected(settings: Settings, plugin: DurableLLMPlugin, *, quiet: bool = False) -> AsyncIterator[Connection]:
    """A client with the plugin, on the configured server or the embedded one; says which."""
    from durable_llm.cli.server import connect

    async with connect(settings, plugins=[plugin]) as connection:
        if not quiet:
            print_connection(connection)
        yield connection


@asynccontextmanager
async def worker_running(
    client: Client, task_queue: str, *, workflows_only: bool = False, serving: Sequence[str] | None = None
) -> AsyncIterator[None]:
    """A worker polling `task_queue` (inheriting the client's plugin) while the block runs.

    With `serving` (tool names), it also tells clients which tools it runs (`workers.ServedTools`).
    """
    from temporalio.worker import Worker

    from durable_llm.cli.workers import ServedTools, ToolCatalog

    extra: dict[str, Any] = {}
    if serving is not None:
        extra = {"workflows": [ServedTools], "activities": [ToolCatalog(serving).served_tools]}
    async with Worker(client, task_queue=task_queue, no_remote_activities=workflows_only, **extra):
        yield


def chosen_tools(settings: Settings, refs: Sequence[str]) -> list[Callable[..., Any]] | None:
    """The tools `--tools` names, else the configured ones (`DURABLE_LLM_TOOLS`); None if neither says."""
    if refs:
        return [fn for ref in refs for fn in import_tools(ref, source="--tools")]
    return settings.load_tools() if settings.tools else None


def tools_or_weather(settings: Settings, refs: Sequence[str]) -> list[Callable[..., Any]]:
    """The chosen tools, else the demo's weather tools."""
    from durable_llm.cli.demo import WEATHER_TOOLS

    chosen = chosen_tools(settings, refs)
    return chosen if chosen is not None else list(WEATHER_TOOLS)


def tool_name(tool: Any) -> str:
    """The name the model knows a tool function by."""
    from durable_llm.tools import tool_spec

    return tool_spec(tool).name
