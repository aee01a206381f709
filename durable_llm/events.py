"""What a conversation publishes as it runs, for clients in any process (`durable_llm.follow`).

An `AgentWorkflow` hosts a Temporal workflow stream (`temporalio.contrib.workflow_streams`): an
offset-addressed log of what the workflow decides (a message received, tool calls started and
finished, approvals asked, an answer written, an exchange done). Publishing from workflow code
only appends to the workflow's memory, and followers read the log with a query: neither writes
to the history. The answer being written is not in the log: the model activity reports it in
its heartbeats (`durable_llm.progress`), and `follow` turns both into one sequence of events.
The conversation never depends on either: each answer is recorded whole, once, as the model
activity's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from durable_llm.conversation import FrozenModel, Usage
from durable_llm.progress import AnswerStream
from durable_llm.providers.base import DeltaKind

EVENTS_TOPIC = "durable_llm.events"
"""The stream topic the events go to."""


class Event(FrozenModel):
    """What every event has."""

    offset: int = 0
    """Where the event sits in the conversation's stream (set by `follow`); a `Delta` comes before the event
    at its offset. To resume right after an event: `follow(..., after=event)`."""


class UserMessage(Event):
    """A user message the conversation received; an exchange begins."""

    kind: Literal["user_message"] = "user_message"
    text: str


class Delta(Event):
    """A piece of the answer a model call is writing: text, reasoning, or a tool call's arguments.

    A call's answer is a few streams (`delta` and, for tool arguments, `index`); each piece goes
    at `position` in its stream: keep the first `position` characters of what you have of it and
    append `text`. `position` is where the stream ended (nothing missed, nothing repeated), unless
    the recorded answer differs from what streamed (tool arguments a vendor re-spaced): then the
    last piece of the call sets the stream right. A retried call streams its answer again from
    the start with a higher `attempt`: drop what the earlier attempt showed.

    `offset` is the stream offset of the next event (the piece comes before it); to resume after
    this piece, `follow(..., after=delta)`.
    """

    kind: Literal["delta"] = "delta"
    delta: DeltaKind
    text: str
    call: str
    """The model call (unique in the conversation)."""
    attempt: int
    agent: str
    position: int = 0
    """Where `text` goes in its stream (characters of it before)."""
    index: int = 0
    """For tool-argument pieces: which of the answer's tool calls (0: the first)."""
    tool_call_id: str | None = None
    """For tool-argument pieces: the id the model gave the call, when the vendor says it."""
    shown: dict[str, int] = Field(default_factory=dict)
    """How far each stream of this call has been shown, this piece included (what `after=` resumes from)."""


class ToolCallStarted(Event):
    """A tool call began (after its approval, if it needed one)."""

    kind: Literal["tool_call_started"] = "tool_call_started"
    call_id: str
    name: str
    arguments_raw: str


class ToolCallFinished(Event):
    """A tool call ended: `error` says why it did not succeed (None: it did)."""

    kind: Literal["tool_call_finished"] = "tool_call_finished"
    call_id: str
    name: str
    duration_ms: int
    error: str | None = None


class ApprovalRequested(Event):
    """A tool call waits for `approve_tool_call(call_id, ...)`."""

    kind: Literal["approval_requested"] = "approval_requested"
    call_id: str
    name: str
    arguments_raw: str


class AgentSwitched(Event):
    """Another agent takes over the conversation."""

    kind: Literal["agent_switched"] = "agent_switched"
    from_agent: str
    to_agent: str


class TurnFinished(Event):
    """An exchange ended: the agent answered (or failed, with `error`); `usage` is the conversation's so far."""

    kind: Literal["turn_finished"] = "turn_finished"
    turns: int
    usage: Usage
    stop_reason: str
    error: str | None = None


class ConversationEnded(Event):
    """The conversation is over: no more events."""

    kind: Literal["conversation_ended"] = "conversation_ended"


ConversationEvent = Annotated[
    UserMessage
    | Delta
    | ToolCallStarted
    | ToolCallFinished
    | ApprovalRequested
    | AgentSwitched
    | TurnFinished
    | ConversationEnded,
    Field(discriminator="kind"),
]
"""Any event of a conversation's stream."""

EVENT_ADAPTER: TypeAdapter[ConversationEvent] = TypeAdapter(ConversationEvent)

EventSink = Callable[[Event], None]
"""Where workflow code publishes an event (the workflow's stream); it must not block."""


class AnswerWritten(Event):
    """A model call completed: its answer's streams as recorded (`follow` finishes its `Delta`s with them).

    Published by the workflow, read by `follow`, never yielded by it.
    """

    kind: Literal["answer_written"] = "answer_written"
    call: str
    agent: str
    streams: tuple[AnswerStream, ...] = ()


def event_payload(event: Event) -> dict[str, Any]:
    """An event as published in the stream (JSON, without its offset)."""
    return event.model_dump(mode="json", exclude={"offset"})
