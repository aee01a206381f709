"""`DurableLLMPlugin`: everything a Temporal client and worker need to run durable_llm agents."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import DataConverter
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from durable_llm.activities import AgentActivities
from durable_llm.conversation import ToolSpec
from durable_llm.tools import tool_spec
from durable_llm.workflow import AgentWorkflow

if TYPE_CHECKING:
    from durable_llm.testing.scripted import ScriptedModel

PASSTHROUGH_MODULES: tuple[str, ...] = ("openai", "anthropic", "google.genai", "httpx", "httpx2", "durable_llm")
"""Modules the workflow sandbox shares instead of re-importing: the vendor SDKs and their HTTP
clients (which the sandbox rejects), and durable_llm itself, whose workflow code is deterministic
and whose models must be the same classes inside and outside the sandbox."""


class DurableLLMPlugin(SimplePlugin):
    """Give it to `Client.connect(..., plugins=[...])`; every worker made from that client inherits it.

    It sets the pydantic data converter (keeping the rest of the client's converter), lets the
    vendor SDKs through the workflow sandbox, and registers `AgentWorkflow`, the model activity
    and the tool activity. `tools` are the functions agents may call (by name, or by passing the
    same function to `Agent(tools=...)`); `scripted_models` are what "test:<name>" models answer with.
    Tool names share the worker's activity names: don't give a tool the name of one of your activities.
    """

    def __init__(
        self,
        tools: Sequence[Callable[..., Any] | ToolSpec] = (),
        *,
        scripted_models: Mapping[str, ScriptedModel] | None = None,
    ) -> None:
        self.agent_activities = AgentActivities(_registry(tools), scripted_models or {})
        super().__init__(
            "durable_llm",
            data_converter=_with_pydantic,
            workflow_runner=_with_passthrough,
            activities=self.agent_activities.definitions(),
            workflows=[AgentWorkflow],
        )


def _registry(tools: Sequence[Callable[..., Any] | ToolSpec]) -> dict[str, ToolSpec]:
    registry: dict[str, ToolSpec] = {}
    for tool in tools:
        spec = tool if isinstance(tool, ToolSpec) else tool_spec(tool)
        if spec.function is None:
            raise ValueError(f"tool {spec.name!r} has no function to run: pass the function, or tool_spec(function)")
        if spec.name in registry:
            raise ValueError(f"two tools are named {spec.name!r}; tool names must be unique")
        registry[spec.name] = spec
    return registry


def _with_pydantic(existing: DataConverter | None) -> DataConverter:
    """The client's converter with pydantic payloads: its codec and external storage survive."""
    return dataclasses.replace(existing or DataConverter.default, payload_converter_class=PydanticPayloadConverter)


def _with_passthrough(existing: WorkflowRunner | None) -> WorkflowRunner:
    runner = existing or SandboxedWorkflowRunner()
    if not isinstance(runner, SandboxedWorkflowRunner):
        return runner
    return dataclasses.replace(runner, restrictions=runner.restrictions.with_passthrough_modules(*PASSTHROUGH_MODULES))
