"""The MCP activities: list a server's tools, call one of them. Needs the `mcp` extra on the worker.

Each activity opens its own connection (over stdio: starts the server) and closes it when done,
so no state is shared between calls and a server that died is simply reached again next time.
What goes wrong in a call (the tool's `isError` result, a protocol error, a server that is down
or dies) comes back to the model as an error result, never as a failure of the conversation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_llm.activities import _cut, _heartbeating, error_result
from durable_llm.conversation import MediaPart, TextPart, ToolCallPart, ToolResultPart, ToolSpec
from durable_llm.mcp import CALL_TOOL_ACTIVITY, LIST_TOOLS_ACTIVITY, MCPServer
from durable_llm.tools import ToolArgumentError, ToolDefinitionError, schema_tool_spec

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult


@activity.defn(name=LIST_TOOLS_ACTIVITY)
async def list_mcp_tools(server: MCPServer) -> list[ToolSpec]:
    """The server's tools as `ToolSpec`s, their schemas cleaned like a function's (named with the prefix).

    A tool whose name or schema some vendor would refuse is left out (and logged), not the server.
    """
    specs: list[ToolSpec] = []
    async with _heartbeating(), _connected(server, server.timeout.total_seconds()) as client:
        cursor: str | None = None
        while True:
            page = await client.list_tools(cursor=cursor)
            for tool in page.tools:
                try:
                    specs.append(schema_tool_spec(server.prefix + tool.name, tool.description, tool.input_schema))
                except ToolDefinitionError as err:
                    activity.logger.warning("MCP server %s: tool %r left out: %s", server.label, tool.name, err)
            cursor = page.next_cursor
            if not cursor:
                return specs


@activity.defn(name=CALL_TOOL_ACTIVITY)
async def call_mcp_tool(call: ToolCallPart, server: MCPServer, spec: ToolSpec) -> ToolResultPart:
    """Call the server's tool on the model's arguments, checked first against its listed schema."""
    try:
        arguments = spec.validate_arguments(call.arguments_raw)
    except ToolArgumentError as err:
        return error_result(call, str(err))
    async with _heartbeating():
        try:
            # The tool may take as long as its activity may (`ToolOptions.timeout`), not just the server's timeout.
            limit = activity.info().start_to_close_timeout or server.timeout
            async with _connected(server, limit.total_seconds()) as client:
                outcome = await client.call_tool(server.remote_name(spec.name), arguments)
            return as_tool_result(call, outcome)
        except ApplicationError:
            raise
        except Exception as err:  # protocol error, refused connection, server gone: the model reads it
            problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            return error_result(call, f"{spec.name} failed (MCP server {server.label}): {_cut(problem)}")


def as_tool_result(call: ToolCallPart, outcome: CallToolResult) -> ToolResultPart:
    """An MCP tool result as the neutral part: text, images, audio and resources as content,
    `structuredContent` as the value (each vendor's adapter sends the form it takes best)."""
    from mcp.types import AudioContent, EmbeddedResource, ImageContent, TextContent, TextResourceContents

    content: list[TextPart | MediaPart] = []
    for block in outcome.content:
        if isinstance(block, TextContent):
            content.append(TextPart(text=block.text))
        elif isinstance(block, ImageContent | AudioContent):
            content.append(MediaPart(media_type=block.type, mime_type=block.mime_type, data=block.data))
        elif isinstance(block, EmbeddedResource):
            resource = block.resource
            if isinstance(resource, TextResourceContents):
                content.append(TextPart(text=resource.text))
            else:
                kind = "document" if resource.mime_type == "application/pdf" else "file"
                content.append(
                    MediaPart(
                        media_type=kind, mime_type=resource.mime_type, data=resource.blob, filename=str(resource.uri)
                    )
                )
        else:  # a resource link: the model may know what to do with its address
            content.append(TextPart(text=f"resource {block.uri}" + (f" ({block.name})" if block.name else "")))
    structured: Any = outcome.structured_content
    if not content and structured is None:
        content.append(TextPart(text="the tool failed" if outcome.is_error else "(no content)"))
    return ToolResultPart(
        call_id=call.id,
        name=call.name,
        content=tuple(content),
        value=_json(structured) if structured is not None else None,
        is_error=outcome.is_error,
    )


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


@asynccontextmanager
async def _connected(server: MCPServer, timeout: float) -> AsyncIterator[Client]:
    """A client session with `server` waiting `timeout` seconds for each answer, closed (and a stdio
    server stopped) on leaving."""
    try:
        from mcp import Client, StdioServerParameters
    except ImportError as err:
        raise ApplicationError(
            "MCP tools need the mcp package on the worker: pip install 'durable-llm[mcp]'",
            type="missing_dependency",
            non_retryable=True,
        ) from err
    if server.transport == "stdio":
        program, *arguments = server.command
        target: Any = StdioServerParameters(command=program, args=arguments, env=server.env or None, cwd=server.cwd)
        async with Client(target, read_timeout_seconds=timeout) as client:
            yield client
        return
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx2.AsyncClient(headers=server.headers, timeout=timeout) as http,
        Client(streamable_http_client(server.url or "", http_client=http), read_timeout_seconds=timeout) as client,
    ):
        yield client
