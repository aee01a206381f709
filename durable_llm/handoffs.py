"""Handoffs: an agent hands the conversation to another agent of its team by calling a transfer tool.

`Agent(handoffs=[billing, refunds])` gives the model one tool per agent, `transfer_to_billing`...
When the model calls one, the same conversation carries on with that agent: its model (any
vendor; the model activity projects the history for it), instructions, tools and output type.
Agents are found by name in the team (the agent and, recursively, its handoffs), so a name
identifies one agent of a team.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from durable_llm.conversation import ToolSpec

if TYPE_CHECKING:
    from durable_llm.agent import Agent

TRANSFER_PREFIX = "transfer_to_"
"""Transfer tools are named this followed by the agent's name."""


def transfer_name(agent: Agent) -> str:
    """The name of the tool that hands the conversation to `agent`."""
    return f"{TRANSFER_PREFIX}{agent.name}"


def transfer_tool(agent: Agent) -> ToolSpec:
    """The tool the model calls to hand the conversation to `agent` (it takes no arguments)."""
    about = agent.description or agent.instructions or f"the {agent.name} agent"
    return ToolSpec(
        name=transfer_name(agent),
        description=f"Hand the conversation over to {agent.name}: {about}",
        parameters={"type": "object", "properties": {}, "additionalProperties": False},
    )


def team(agent: Agent) -> Iterator[Agent]:
    """`agent` and every agent it may hand off to, directly or not, depth first."""
    yield agent
    for other in agent.handoffs:
        yield from team(other)


def find_agent(root: Agent, name: str) -> Agent:
    """The agent of `root`'s team named `name`; `LookupError` if there is none."""
    for agent in team(root):
        if agent.name == name:
            return agent
    raise LookupError(f"no agent named {name!r} in the team of {root.name!r}")


def handoff_target(agent: Agent, tool_name: str) -> Agent | None:
    """The agent that calling `tool_name` hands over to, if it is one of `agent`'s transfer tools."""
    return next((other for other in agent.handoffs if transfer_name(other) == tool_name), None)


def with_model(root: Agent, name: str, model: str) -> Agent:
    """`root`'s team with the agent named `name` (wherever it is handed off to) answering with `model`."""
    handoffs = tuple(with_model(other, name, model) for other in root.handoffs)
    update: dict[str, object] = {"handoffs": handoffs}
    if root.name == name:
        update["model"] = model
    return root.model_copy(update=update)
