"""`DurableLLMPlugin`: everything a Temporal client and worker need to run durable_llm agents."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

import temporalio.client
from temporalio import activity
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverter,
    DefaultFailureConverterWithEncodedAttributes,
    ExternalStorage,
    StorageDriver,
)
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from durable_llm.activities import AgentActivities
from durable_llm.conversation import ToolSpec
from durable_llm.payload_guard import PayloadGuard
from durable_llm.providers.base import SDK_MODULES
from durable_llm.providers.scripted import NAME as SCRIPTED
from durable_llm.providers.scripted import ScriptedProvider
from durable_llm.storage import LocalBlobDriver, external_storage, with_external_storage
from durable_llm.streaming import TextListener
from durable_llm.tools import tool_spec
from durable_llm.transport import Providers
from durable_llm.workflow import AGENT_WORKFLOW, AgentWorkflow

if TYPE_CHECKING:
    from durable_llm.providers.base import Provider
    from durable_llm.testing.scripted import ScriptedModel
    from durable_llm.tracing import Tracing

PASSTHROUGH_MODULES: tuple[str, ...] = (*SDK_MODULES, "durable_llm", "jsonschema")
"""Modules the workflow sandbox shares instead of re-importing: the vendor SDKs and their HTTP
clients (which the sandbox rejects), durable_llm itself, whose workflow code is deterministic
and whose models must be the same classes inside and outside the sandbox, and jsonschema, which
checks a structured answer in workflow code when only its schema is known."""

STICKY_TIMEOUT = timedelta(seconds=1)
"""How long a workflow task waits for the worker that last ran the workflow before any worker may take it.

Temporal's default, 10 s, is how long a conversation whose worker was killed stalls before another
worker (or the restarted one) carries on; a worker's own `sticky_queue_schedule_to_start_timeout`,
if not Temporal's default, is kept."""

_TEMPORAL_STICKY_DEFAULT = timedelta(seconds=10)

HEARTBEAT_THROTTLE = timedelta(milliseconds=250)
"""The longest a worker holds back an activity's heartbeat: a model call's answer reaches followers in its
heartbeats (Temporal's default lets one wait up to 80 % of the heartbeat timeout, 2 s for a model call)."""

_TEMPORAL_HEARTBEAT_THROTTLE_DEFAULT = timedelta(seconds=60)

WORKFLOW_TASK_TIMEOUT = timedelta(seconds=4)
"""The workflow task timeout of an `AgentWorkflow` started without one through a client with the plugin.

A worker killed while it held a workflow task stalls its conversation this long (Temporal's
default is 10 s); a conversation's tasks take milliseconds, a replay of a long history well under it."""


class DurableLLMPlugin(SimplePlugin):
    """Give it to `Client.connect(..., plugins=[...])`; every worker made from that client inherits it.

    It sets the pydantic data converter (keeping the rest of the client's converter), stores large
    payloads by reference, lets the vendor SDKs through the workflow sandbox, guards payload sizes,
    and registers `AgentWorkflow` with its activities. `tools` are the functions agents may call (by
    name, or by passing the same function to `Agent(tools=...)`); `scripted_models` are what
    "test:<name>" models answer with. Tool names share the worker's activity names: a worker with
    an activity named like a tool fails at start-up.

    `storage` is where large payloads (tool results, media, transcript snapshots) go: by default a
    `LocalBlobDriver` in `storage.default_blob_directory()`, for a client and workers on one machine;
    a `StorageDriver` (e.g. from `s3_driver`) or a whole `ExternalStorage` for several machines; or
    False for none (every payload then stays in the history, under Temporal's 2 MiB limit). It
    replaces any external storage already on the client's converter; every client and worker of a
    conversation needs the same.

    Failover is quick by default: an `AgentWorkflow` started through the client gets a workflow task
    timeout of `WORKFLOW_TASK_TIMEOUT` unless given one, and workers a sticky queue timeout of
    `STICKY_TIMEOUT`, so a conversation whose worker died goes on elsewhere within seconds. Workers
    send heartbeats at least every `HEARTBEAT_THROTTLE` (unless told otherwise), so the answer being
    written reaches `durable_llm.follow` as it grows.

    With a payload codec on the client's converter (e.g. `AesGcmCodec`), failure messages and stack
    traces are encoded by it too (they hold vendor error text and tool output).

    `providers` adds or replaces model providers for this worker, by the name model strings use:
    `{"azure": OpenAIProvider(base_url=..., api_key=...)}` serves "azure:gpt-5". Providers not
    named are the registry's, configured from the environment. Each plugin has its own clients
    and back-off.

    `on_text`, if given, makes this worker's model calls stream: it gets each piece of answer text
    as a `TextDelta` while the call runs (for a chat UI; a scripted model's answer comes in one
    piece); the conversation records answers whole.

    `tracing=True` (or a `durable_llm.tracing.Tracing` with providers and options) traces each turn
    with OpenTelemetry, from the client's start or `send_message` through the workflow, the model
    call and each tool, and records token and duration metrics; it needs the `otel` extra. Off, it
    costs nothing and OpenTelemetry is not imported.
    """

    def __init__(
        self,
        tools: Sequence[Callable[..., Any] | ToolSpec] = (),
        *,
        scripted_models: Mapping[str, ScriptedModel] | None = None,
        storage: StorageDriver | ExternalStorage | Literal[False] | None = None,
        on_text: TextListener | None = None,
        providers: Mapping[str, Provider] | None = None,
        tracing: bool | Tracing = False,
    ) -> None:
        given = dict(providers or {})
        if SCRIPTED not in given:
            given[SCRIPTED] = ScriptedProvider(scripted_models)
        elif scripted_models:
            raise ValueError(
                f"give scripted models as scripted_models=... or as providers={{{SCRIPTED!r}: ...}}, not both"
            )
        self.providers = Providers(given)
        """The model providers this plugin's workers call, with their back-off."""
        self.agent_activities = AgentActivities(_registry(tools), self.providers, on_text=on_text)
        self.storage = _external_storage(storage)
        """The external storage set on the converter and given to the payload guard (None: storage=False)."""
        tracing_interceptors: list[Any] = []
        if tracing:
            from durable_llm.tracing import Telemetry, Tracing

            telemetry = Telemetry(tracing if isinstance(tracing, Tracing) else Tracing())
            self.agent_activities.telemetry = telemetry
            tracing_interceptors = telemetry.interceptors()
        super().__init__(
            "durable_llm",
            data_converter=self._converter,
            workflow_runner=_with_passthrough,
            activities=self.agent_activities.definitions(),
            workflows=_with_agent_workflow,
            interceptors=[*tracing_interceptors, PayloadGuard(self.storage), _QuickFailover()],
        )

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        """Add durable_llm's workflow and activities; refuse activities of yours that would take the tools' calls."""
        config = super().configure_worker(config)
        if config.get("sticky_queue_schedule_to_start_timeout", _TEMPORAL_STICKY_DEFAULT) == _TEMPORAL_STICKY_DEFAULT:
            config["sticky_queue_schedule_to_start_timeout"] = STICKY_TIMEOUT
        if config.get("max_heartbeat_throttle_interval", _TEMPORAL_HEARTBEAT_THROTTLE_DEFAULT) == (
            _TEMPORAL_HEARTBEAT_THROTTLE_DEFAULT
        ):
            config["max_heartbeat_throttle_interval"] = HEARTBEAT_THROTTLE
        ours = set(self.agent_activities.definitions())
        theirs = [activity._Definition.from_callable(fn) for fn in config.get("activities") or () if fn not in ours]
        names = {d.name for d in theirs if d is not None}
        if clashes := sorted(name for name in names if name in self.agent_activities.tool_names):
            raise ValueError(
                f"the worker has activities named like tools ({', '.join(clashes)}): Temporal would run "
                "the activity when the model calls the tool; rename the tool (tool_spec(fn, name=...)) or the activity"
            )
        if None in names:
            raise ValueError(
                "the worker has a dynamic activity of yours, and durable_llm runs tools through its own (a worker "
                "takes one): run yours on a worker of another task queue"
            )
        return config

    def _converter(self, existing: DataConverter | None) -> DataConverter:
        converter = _with_pydantic(existing)
        if converter.payload_codec is not None and converter.failure_converter_class is DefaultFailureConverter:
            converter = dataclasses.replace(
                converter, failure_converter_class=DefaultFailureConverterWithEncodedAttributes
            )
        return converter if self.storage is None else with_external_storage(converter, self.storage)


class _QuickFailover(temporalio.client.Interceptor):
    """Starts an `AgentWorkflow` given no workflow task timeout with `WORKFLOW_TASK_TIMEOUT`."""

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        return _QuickFailoverClient(next)


class _QuickFailoverClient(temporalio.client.OutboundInterceptor):
    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> temporalio.client.WorkflowHandle:
        if input.workflow == AGENT_WORKFLOW and input.task_timeout is None:
            input.task_timeout = WORKFLOW_TASK_TIMEOUT
        return await super().start_workflow(input)


def _with_agent_workflow(existing: Sequence[type] | None) -> list[type]:
    """The worker's (or replayer's) workflows with `AgentWorkflow`, which may be listed already."""
    workflows = list(existing or ())
    return workflows if AgentWorkflow in workflows else [*workflows, AgentWorkflow]


def _external_storage(storage: StorageDriver | ExternalStorage | Literal[False] | None) -> ExternalStorage | None:
    if storage is False:
        return None
    if storage is None:
        return external_storage(LocalBlobDriver())
    return external_storage(storage) if isinstance(storage, StorageDriver) else storage


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
