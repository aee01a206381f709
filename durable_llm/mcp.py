"""MCP tool servers as agent tools: `MCPServer.stdio([...])` and `MCPServer.http(url)` in `Agent(tools=[...])`.

An `MCPServer` is a plain value (it travels in the agent, so in workflow histories). Its tools
are unknown until listed: a conversation lists them once per run, in an activity whose result the
history keeps, and from then on the agent it runs carries the listed `ToolSpec`s in the server's
`tools` (so the model activity renders them, and replay never asks the server again). Each call
to one of them is an activity (`durable_llm.mcp_activities`) with the tool options of any tool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from durable_llm.conversation import FrozenModel, ToolSpec

if TYPE_CHECKING:
    from durable_llm.agent import Agent

LIST_TOOLS_ACTIVITY = "durable_llm.list_mcp_tools"
"""Lists one server's tools as `ToolSpec`s."""

CALL_TOOL_ACTIVITY = "durable_llm.call_mcp_tool"
"""Calls one tool of one server."""


class MCPServer(FrozenModel):
    """A Model Context Protocol server whose tools the agent may call; make one with `stdio` or `http`.

    The worker connects to it for each listing and each call: over stdio it starts `command` (on
    the worker's machine) every time, over HTTP it posts to `url` (Streamable HTTP). `prefix` goes
    before each of its tool names (to keep two servers' tools apart). `headers` and `env` are part
    of the agent, so recorded in the workflow history: keep secrets out of them or encrypt payloads
    (`AesGcmCodec`). `tools` is set by the conversation once it has listed them (leave it unset).
    """

    kind: Literal["mcp"] = "mcp"
    transport: Literal["stdio", "http"]
    command: tuple[str, ...] = ()
    env: dict[str, str] = {}
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    prefix: str = ""
    timeout: timedelta = Field(default=timedelta(seconds=60), description="for connecting and listing the tools")
    tools: tuple[ToolSpec, ...] | None = None

    @model_validator(mode="after")
    def _check_target(self) -> MCPServer:
        if self.transport == "stdio" and not self.command:
            raise ValueError("an MCP server over stdio needs the command starting it, e.g. ['python', '-m', 'server']")
        if self.transport == "http" and not (self.url or "").startswith(("http://", "https://")):
            raise ValueError(f"an MCP server over HTTP needs an http:// or https:// url, got {self.url!r}")
        return self

    @classmethod
    def stdio(
        cls,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        prefix: str = "",
        timeout: timedelta = timedelta(seconds=60),
    ) -> MCPServer:
        """A server the worker starts as `command` (program and arguments) and talks to over stdin/stdout."""
        if isinstance(command, str):
            raise TypeError(f"give the command as a list of program and arguments, e.g. {command.split()!r}")
        return cls(
            transport="stdio", command=tuple(command), env=dict(env or {}), cwd=cwd, prefix=prefix, timeout=timeout
        )

    @classmethod
    def http(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        prefix: str = "",
        timeout: timedelta = timedelta(seconds=60),
    ) -> MCPServer:
        """A server reached over Streamable HTTP at `url` (e.g. "http://localhost:8000/mcp")."""
        return cls(transport="http", url=url, headers=dict(headers or {}), prefix=prefix, timeout=timeout)

    @property
    def label(self) -> str:
        """How errors name the server: its URL, or its command."""
        return self.url or " ".join(self.command)

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The names the model calls its tools by (none until listed)."""
        return tuple(spec.name for spec in self.tools or ())

    def spec(self, name: str) -> ToolSpec | None:
        """The listed tool the model calls `name`."""
        return next((spec for spec in self.tools or () if spec.name == name), None)

    def remote_name(self, name: str) -> str:
        """The server's own name of the tool the model calls `name`."""
        return name.removeprefix(self.prefix)

    @property
    def connection(self) -> MCPServer:
        """This server without its listed tools: what a tool call activity needs to reach it."""
        return self.model_copy(update={"tools": None})


def mcp_server_of(agent: Agent, tool_name: str) -> MCPServer | None:
    """The MCP server of `agent` that listed the tool `tool_name`, if any."""
    return next((s for s in agent.tools if isinstance(s, MCPServer) and tool_name in s.tool_names), None)


async def with_listed_tools(agent: Agent) -> Agent:
    """`agent`, and every agent of its team (handoffs), with the tools of each MCP server not yet listed.

    Workflow code: one activity per distinct server, in parallel. A server that cannot be listed
    (down, refusing) stays unlisted: the conversation goes on without its tools, and the next
    message tries again.
    """
    from temporalio import workflow
    from temporalio.common import RetryPolicy
    from temporalio.exceptions import ActivityError

    from durable_llm.handoffs import team

    unlisted: dict[str, MCPServer] = {}
    for member in team(agent):
        for tool in member.tools:
            if isinstance(tool, MCPServer) and tool.tools is None:
                unlisted.setdefault(tool.model_dump_json(), tool)
    if not unlisted:
        return agent
    listings = await asyncio.gather(
        *(
            workflow.execute_activity(
                LIST_TOOLS_ACTIVITY,
                server,
                result_type=list[ToolSpec],
                start_to_close_timeout=server.timeout,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            for server in unlisted.values()
        ),
        return_exceptions=True,
    )
    listed: dict[str, list[ToolSpec]] = {}
    for (key, server), listing in zip(unlisted.items(), listings, strict=True):
        if isinstance(listing, ActivityError):
            workflow.logger.warning("MCP server %s not listed: %s", server.label, listing.cause or listing)
        elif isinstance(listing, BaseException):
            raise listing
        else:
            listed[key] = listing
    return _with_listings(agent, listed)


def _with_listings(agent: Agent, listed: dict[str, list[ToolSpec]]) -> Agent:
    """`agent` and its handoffs with the listed servers' tools, each name given once per agent."""
    from temporalio import workflow

    from durable_llm.handoffs import transfer_name
    from durable_llm.output import FINAL_ANSWER_TOOL

    tools = list(agent.tools)
    # Names the model is given besides the agent's tools: a server's tool must not shadow them.
    taken = {*agent.tool_names, *(transfer_name(other) for other in agent.handoffs), FINAL_ANSWER_TOOL}
    for index, server in enumerate(agent.tools):
        if not isinstance(server, MCPServer) or (specs := listed.get(server.model_dump_json())) is None:
            continue
        kept = []
        for spec in specs:
            if spec.name in taken:
                workflow.logger.warning("MCP tool %r of %s left out: the name is taken", spec.name, server.label)
                continue
            taken.add(spec.name)
            kept.append(spec)
        tools[index] = server.model_copy(update={"tools": tuple(kept)})
    handoffs = tuple(_with_listings(other, listed) for other in agent.handoffs)
    return agent.model_copy(update={"tools": tuple(tools), "handoffs": handoffs})
