"""What an agent is (model, instructions, tools, limits) and what running it produces, as plain values.

Everything here is a frozen pydantic model: an `Agent` is the input of `AgentWorkflow`, so it
must serialise, and its JSON outlives code releases like any workflow history.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import Field, JsonValue, PrivateAttr, TypeAdapter, field_validator, model_validator

from durable_llm.conversation import FrozenModel, MediaPart, Message, TextPart, ToolSpec, Usage
from durable_llm.mcp import MCPServer
from durable_llm.output import FINAL_ANSWER_TOOL, OutputSpec, OutputValidator
from durable_llm.providers.base import split_model

if TYPE_CHECKING:
    from temporalio.common import RetryPolicy

StopReason = Literal["completed", "max_turns", "ended"]
"""Why a run stopped: the model answered without tools, it hit `max_turns`, or the chat was ended."""

AgentState = Literal["thinking", "running_tools", "waiting_for_approval", "waiting_for_input", "done"]


class RetryOptions(FrozenModel):
    """When to try a failed activity again: a serialisable Temporal `RetryPolicy`."""

    initial_interval: timedelta = timedelta(seconds=1)
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    maximum_interval: timedelta | None = None
    maximum_attempts: int = Field(default=0, ge=0, description="0: no limit")
    non_retryable_error_types: tuple[str, ...] = ()

    def to_temporal(self) -> RetryPolicy:
        """The equivalent `temporalio.common.RetryPolicy`."""
        from temporalio.common import RetryPolicy

        return RetryPolicy(
            initial_interval=self.initial_interval,
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=self.maximum_interval,
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=list(self.non_retryable_error_types) or None,
        )


class ToolOptions(FrozenModel):
    """How one tool runs as an activity, and when it may run more than once.

    A tool runs once per call, except in two cases where it may have started without its
    outcome reaching the workflow: the worker running it was lost (killed, crashed, cut off:
    noticed after `heartbeat_timeout`), or it ran past `timeout`. Then Temporal runs it again,
    up to `retry.maximum_attempts` in all, unless the tool is not `idempotent`. Nothing else
    retries it: its own exception, an argument that does not validate, or a result that cannot be
    serialised goes back to the model as an error result, once. A
    `temporalio.exceptions.ApplicationError` the tool raises asks for a retry (idempotent tools only).

    `idempotent=False` (e.g. `charge_card`): never started twice. If its outcome is unknown (worker
    lost, timeout), the model is told so and must not assume either outcome. A synchronous tool
    that overruns `timeout` is abandoned, not stopped: its thread runs on until the function returns.
    """

    timeout: timedelta = timedelta(minutes=5)
    heartbeat_timeout: timedelta = timedelta(seconds=2.5)
    retry: RetryOptions = RetryOptions(maximum_attempts=3)
    requires_approval: bool = False
    idempotent: bool = True

    def retry_policy(self) -> RetryPolicy:
        """The Temporal retry policy of this tool's activity: a single attempt unless it is idempotent."""
        if self.idempotent:
            return self.retry.to_temporal()
        return RetryOptions(maximum_attempts=1).to_temporal()


class Agent(FrozenModel):
    """An LLM agent: which model to call, with what instructions and tools, within which limits.

    `model` is "provider:model", e.g. "anthropic:claude-sonnet-4-5" or "test:echo" for a
    scripted model. The provider is one of the registry's (`durable_llm.providers.PROVIDERS`) or
    any well-formed name the worker's `DurableLLMPlugin(providers={...})` gives (checked when
    the model is first called: the agent may be made where no plugin is known).

    `tools` takes functions (turned into `ToolSpec`s here), `ToolSpec`s, the names of tools
    registered with the worker's `DurableLLMPlugin`, or `MCPServer`s (whose tools join once
    listed; `tool_options` may name them); the functions themselves run on the worker,
    which must have them registered. `max_turns` bounds the model calls made for one user message.

    `fallback_models` ("provider:model", in order) take a model call over when the model fails
    in a way its retries could not fix: `model_retry` ran out on a retryable error (overloaded,
    rate limited, 5xx, timeouts, connection lost), or the call timed out. The same turn goes to the
    next model, the history projected for its vendor. Never after an error caused by the request
    (a 400, a refused credential): that one fails as before.

    `handoffs` (other agents) give the model one `transfer_to_<name>` tool each; calling one hands
    the conversation to that agent (see `durable_llm.handoffs`).

    `output_type` (a pydantic model, dataclass, TypedDict, `list[...]` or primitive) asks for a
    typed final answer: the model is given its JSON schema through the vendor's structured output,
    the answer is validated (and `output_validator` functions run), and an answer that fails goes
    back to the model with the errors, up to `output_retries` times. The schema is kept in
    `output_schema` (serialised with the agent); the type itself is not, see `durable_llm.output`.
    `output_mode="tool"` asks through a forced `final_answer` tool instead, for a model without
    native structured output.
    """

    name: str = "agent"
    model: str
    description: str | None = None
    """What this agent does, for the agents that may hand off to it (else its instructions say)."""
    instructions: str | None = None
    tools: tuple[ToolSpec | AgentTool | str | MCPServer, ...] = ()
    tool_options: dict[str, ToolOptions] = {}
    temperature: float | None = None
    max_output_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    provider_options: dict[str, dict[str, JsonValue]] = {}
    max_turns: int = Field(default=10, ge=1)
    model_timeout: timedelta = timedelta(minutes=10)
    model_retry: RetryOptions = RetryOptions(maximum_attempts=6, maximum_interval=timedelta(minutes=1))
    output_schema: OutputSpec | None = None
    output_retries: int = Field(default=1, ge=0)
    output_mode: Literal["native", "tool"] = "native"
    fallback_models: tuple[str, ...] = ()
    handoffs: tuple[Agent, ...] = ()

    _output_type: Any = PrivateAttr(default=None)
    _output_validators: list[OutputValidator] = PrivateAttr(default_factory=list)

    def __init__(self, /, output_type: Any = None, **data: Any) -> None:
        if output_type is not None:
            if data.get("output_schema") is not None:
                raise ValueError("give output_type or output_schema, not both")
            data["output_schema"] = OutputSpec.for_type(output_type)
        super().__init__(**data)
        self._output_type = output_type

    def __eq__(self, other: object) -> bool:
        # The same agent whether or not it still holds its Python output type (it does not after deserialising).
        if not isinstance(other, Agent):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = FrozenModel.__hash__

    @property
    def output_type(self) -> Any:
        """The Python type of the final answer, if this agent was built with one (None after deserialising)."""
        return self._output_type

    @property
    def output_validators(self) -> tuple[OutputValidator, ...]:
        """The functions registered with `output_validator`."""
        return tuple(self._output_validators)

    def output_validator(self, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Decorator: `fn(answer)` returns the answer (or a replacement) or raises `OutputRejected(message)`.

        It runs in workflow code (keep it deterministic: no I/O, clocks or randomness), wherever
        this `Agent` object runs (`run_agent` in your workflow); it does not travel with the agent's
        JSON to an `AgentWorkflow` started from a client.
        """
        self._output_validators.append(fn)
        return fn

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        split_model(value)
        return value

    @field_validator("fallback_models")
    @classmethod
    def _check_fallback_models(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for model in value:
            split_model(model)
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _specs_from_functions(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return tuple(_as_tool(item) for item in value)
        return value

    @model_validator(mode="after")
    def _check_tool_names(self) -> Agent:
        names = self.tool_names
        if len(set(names)) != len(names):
            raise ValueError(f"tool names must be unique, got {list(names)}")
        unlisted = any(isinstance(t, MCPServer) and t.tools is None for t in self.tools)
        if (unknown := set(self.tool_options) - set(names)) and not unlisted:
            raise ValueError(f"tool_options name tools the agent does not have: {sorted(unknown)}")
        from durable_llm.handoffs import team, transfer_name

        if bad := [o.name for o in self.handoffs if not re.fullmatch(r"[A-Za-z0-9_-]{1,52}", o.name)]:
            raise ValueError(
                f"agents handed off to need names of at most 52 letters, digits, '_' or '-' "
                f"(they name the transfer tools), got {bad}"
            )
        if self.output_schema is not None and self.output_mode == "tool" and FINAL_ANSWER_TOOL in names:
            raise ValueError(f"with output_mode='tool' the agent answers through its own {FINAL_ANSWER_TOOL!r} tool")
        if clash := set(names) & {transfer_name(other) for other in self.handoffs}:
            raise ValueError(f"tools {sorted(clash)} have the names of this agent's transfer (handoff) tools")
        seen: dict[str, Agent] = {}
        for member in team(self):
            if seen.setdefault(member.name, member) != member:
                raise ValueError(
                    f"two different agents in the team of {self.name!r} are named {member.name!r}: "
                    "give each agent of a team its own name"
                )
        return self

    @property
    def provider(self) -> str:
        """The provider part of `model`, e.g. "anthropic"."""
        return self.model.partition(":")[0]

    @property
    def model_name(self) -> str:
        """The vendor's model name, after the provider prefix."""
        return self.model.partition(":")[2]

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The names of every tool the model may call (an MCP server's once listed)."""
        return tuple(t if isinstance(t, str) else t.name for t in self.function_tools)

    @property
    def function_tools(self) -> tuple[ToolSpec | AgentTool | str, ...]:
        """`tools` with each MCP server replaced by the tools it listed."""
        return tuple(s for t in self.tools for s in (t.tools or () if isinstance(t, MCPServer) else (t,)))

    def agent_tool(self, name: str) -> AgentTool | None:
        """The tool named `name` if it runs another agent (`as_tool`)."""
        return next((t for t in self.tools if isinstance(t, AgentTool) and t.name == name), None)

    def as_tool(self, *, name: str | None = None, description: str | None = None) -> AgentTool:
        """This agent as a tool of another: each call runs it as a child workflow on the model's `input`.

        The child (an `AgentWorkflow` with its own history, visible in the Temporal UI) is cancelled
        with its parent; its final answer (text, or JSON with an output type) is the tool's result,
        and its usage counts in the caller's `usage` and `usage_by_agent`.
        """
        return AgentTool(
            name=name or self.name,
            description=description or self.description or self.instructions or f"Ask the {self.name} agent.",
            agent=self,
        )

    def options_for(self, tool: str) -> ToolOptions:
        """The options `tool` runs with (the defaults unless `tool_options` names it)."""
        return self.tool_options.get(tool, ToolOptions())


def _as_tool(item: Any) -> Any:
    """A function becomes its `ToolSpec`; specs, names and plain dicts (from JSON) pass unchanged."""
    if isinstance(item, (ToolSpec, AgentTool, str, dict, MCPServer)):
        return item
    if callable(item):
        from durable_llm.tools import tool_spec

        return tool_spec(item)
    return item


class AgentTool(FrozenModel):
    """Another agent offered to the model as a tool (`Agent.as_tool`): it takes one `input` message."""

    kind: Literal["agent"] = "agent"
    name: str
    description: str
    agent: Agent

    def spec(self) -> ToolSpec:
        """The tool definition the model sees."""
        return ToolSpec(
            name=self.name,
            description=self.description,
            parameters={
                "type": "object",
                "properties": {"input": {"type": "string", "description": f"The message for {self.agent.name}."}},
                "required": ["input"],
                "additionalProperties": False,
            },
        )


Agent.model_rebuild()


class Transcript(FrozenModel):
    """A conversation's messages as one value: what a `TranscriptSnapshot` holds."""

    messages: tuple[Message, ...]


class TranscriptSnapshot(FrozenModel):
    """The first `count` messages of a conversation, stored as blobs, and how to read them back.

    `payload` holds messages `start` to `count` as one Temporal `Payload` (serialized, base64) made
    by the data converter: with external storage, a reference of about 200 bytes to the blob;
    without, the `Transcript` itself. `earlier` holds the messages before `start`, oldest first,
    each segment written by an earlier continue-as-new, so a conversation of many runs is not
    stored again whole at every run. A new segment absorbs the newest earlier segments while they
    are no longer than it (like a binary counter): a message is rewritten about log2(runs) times,
    and a snapshot has about as many segments.
    """

    count: int
    payload: str
    start: int = 0
    earlier: tuple[TranscriptSnapshot, ...] = ()

    @property
    def segments(self) -> tuple[TranscriptSnapshot, ...]:
        """Every segment, oldest first, each without `earlier`."""
        return (*self.earlier, self.model_copy(update={"earlier": ()}))


class FailedExchange(FrozenModel):
    """Messages `start` to `end` (excluded) of an exchange that failed for good, e.g. on a vendor's 400.

    They stay in the conversation for the record but are no longer sent to the model, so one bad
    message (an attachment the vendor refuses, a context too long) does not fail every later one.
    """

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    error: str


class Checkpoint(FrozenModel):
    """Where a conversation that continued as new picks up: its transcript by reference and its totals."""

    transcript: TranscriptSnapshot
    usage: Usage = Usage()
    turns: int = 0
    run: int = Field(ge=2, description="which run of the conversation this is (the first is 1)")
    failed_exchanges: tuple[FailedExchange, ...] = ()
    agent: str | None = None
    """The agent of the team answering (None: the conversation's own agent)."""
    usage_by_agent: dict[str, Usage] = {}


class AgentInput(FrozenModel):
    """What starts an `AgentWorkflow`: the agent, its first user message, and whether to stay open.

    With `chat` (implied when there is no `message`) the workflow answers `send_message` updates
    until the `end_conversation` signal; otherwise it returns after answering `message`. A chat
    whose history grows long continues as new by itself, with a `checkpoint` (never set it yourself).
    """

    agent: Agent
    message: str | tuple[TextPart | MediaPart, ...] | None = None
    """The first message: text, or parts (text, images and documents by URL, file id or data)."""
    chat: bool = False
    checkpoint: Checkpoint | None = None
    stream: dict[str, JsonValue] | None = None
    """The end of the event stream (`durable_llm.events`) of the run before a continue-as-new."""


class PendingApproval(FrozenModel):
    """A tool call waiting for `approve_tool_call(call_id, ...)`.

    `call_id` names the call in `approve_tool_call`: the model's id for it when that is short, plain
    and unique among the calls of its turn, else "<model call>.<position>". `tool_call_id` is the
    id the model gave it, if any.
    """

    call_id: str
    name: str
    arguments_raw: str
    tool_call_id: str | None = None


class AgentStatus(FrozenModel):
    """What a running agent is doing now (the `status` query)."""

    state: AgentState
    pending_approvals: tuple[PendingApproval, ...] = ()
    turns: int = 0
    usage: Usage = Usage()
    run: int = Field(default=1, description="which run of the workflow: one more at each continue-as-new")
    failed_exchanges: tuple[FailedExchange, ...] = ()
    agent: str | None = None
    """The name of the agent answering now (in a team, the one the conversation was last handed to)."""
    model: str | None = None
    """The model ("provider:model") that agent calls next (its fallback models aside)."""
    usage_by_agent: dict[str, Usage] = {}
    """`usage` split by the agent whose model calls it paid for (agents run as tools included)."""


class HistoryPage(FrozenModel):
    """A slice of the conversation (the `history` query), `messages[offset:offset + len(messages)]`."""

    offset: int
    total: int
    messages: tuple[Message, ...]


OutputT = TypeVar("OutputT")
T = TypeVar("T")


class AgentResult(FrozenModel, Generic[OutputT]):
    """What running an agent produced: the final answer, the whole conversation and its cost.

    `output` is the last answer's text, or with an `output_type` its value: typed where the type
    is known, else JSON. A client reads it typed by asking for `AgentResult[Refund]` as the
    workflow's result type, or with `output_as(Refund)`.
    """

    output: OutputT
    messages: tuple[Message, ...]
    usage: Usage
    turns: int
    stop_reason: StopReason
    model: str | None = None
    """The model ("provider:model") that wrote the last answer: the agent's, or one of its `fallback_models`."""
    agent: str | None = None
    """The name of the agent that was answering at the end (in a team, the last one handed to)."""
    usage_by_agent: dict[str, Usage] = {}
    """`usage` split by the agent whose model calls it paid for (agents run as tools included)."""

    @property
    def text(self) -> str:
        """The text of the last answer (with an output type: its JSON)."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        return last.text if last else ""

    def output_as(self, output_type: type[T]) -> T:
        """`output` validated as `output_type` (e.g. the JSON of an `AgentWorkflow`'s result as a `Refund`)."""
        return TypeAdapter(output_type).validate_python(self.output)
