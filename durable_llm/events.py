"""What a conversation publishes as it runs, for clients in any process (`durable_llm.follow`).

An `AgentWorkflow` hosts a Temporal workflow stream (`temporalio.contrib.workflow_streams`): an
offset-addressed log of these events. The workflow appends what it decides (a message received,
tool calls started and finished, approvals asked, an exchange done); the model activity appends
the answer's pieces as the vendor streams them, merged into one `Delta` per `DELTA_INTERVAL`.
The conversation never depends on the stream: each answer is still recorded whole, once, as the
model activity's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from durable_llm.conversation import FrozenModel, Usage
from durable_llm.providers.base import DeltaKind, StreamDelta

if TYPE_CHECKING:
    from temporalio.contrib.workflow_streams import WorkflowStreamClient

EVENTS_TOPIC = "durable_llm.events"
"""The stream topic the events go to."""

DELTA_INTERVAL = timedelta(milliseconds=300)
"""How long the model activity gathers pieces of an answer before publishing them (one signal)."""


class Event(FrozenModel):
    """What every event has."""

    offset: int = 0
    """Where the event sits in the conversation's stream (set by `follow`): resume from `offset + 1`."""


class UserMessage(Event):
    """A user message the conversation received; an exchange begins."""

    kind: Literal["user_message"] = "user_message"
    text: str


class Delta(Event):
    """A piece of the answer a model call is writing: text, reasoning, or a tool call's arguments.

    Pieces of one call share `call` and `attempt` and come in order. A retried call streams its
    answer again from the start with a higher `attempt`: drop what the earlier attempt showed.
    """

    kind: Literal["delta"] = "delta"
    delta: DeltaKind
    text: str
    call: str
    """The model call's activity id (unique within the workflow run)."""
    attempt: int
    agent: str
    tool_call_id: str | None = None
    """For tool-argument pieces: the id the model gave the call, when the vendor says it."""


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


class DeltaPublisher:
    """Merges a model call's pieces and publishes them to its workflow's stream, from the activity.

    The first piece goes at once (the client sees the answer start as soon as possible); later
    ones are merged by kind and sent every `interval` (one signal each). `publishing_deltas`
    sends what is left and waits for the workflow to have it before the call returns, so every
    piece is in the stream before the call's result is in the history.
    """

    def __init__(self, stream: WorkflowStreamClient, call: str, attempt: int, agent: str, interval: timedelta) -> None:
        self._stream = stream
        self._topic = stream.topic(EVENTS_TOPIC)
        self._call, self._attempt, self._agent = call, attempt, agent
        self._interval = interval.total_seconds()
        self._pending: list[StreamDelta] = []
        self._sent_first = False
        self._timer: asyncio.TimerHandle | None = None
        self._sending: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None
        """Why pieces could not be sent, if they could not."""

    def receive(self, piece: StreamDelta) -> None:
        """A `DeltaListener`: keeps the piece; publishes now (the first) or at the next tick."""
        self._pending.append(piece)
        if not self._sent_first:
            self._sent_first = True
            self.publish()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._interval, self.publish)

    def publish(self) -> None:
        """Send the pieces kept so far (merged) now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for piece in _merged(self._pending):
            event = Delta(
                delta=piece.kind,
                text=piece.text,
                call=self._call,
                attempt=self._attempt,
                agent=self._agent,
                tool_call_id=piece.call_id,
            )
            self._topic.publish(event_payload(event))
        self._pending.clear()
        # The stream client's own background flusher is not used: on Python 3.11 its stop can hang
        # (a cancelled `wait_for` whose event was just set swallows the cancellation).
        if self._sending is None or self._sending.done():
            self._sending = asyncio.ensure_future(self._stream.flush())
            self._sending.add_done_callback(self._note_failure)

    async def close(self) -> None:
        """Send what is left and wait until the workflow has every piece."""
        self.publish()
        await self._stream.flush()

    def _note_failure(self, sending: asyncio.Future[None]) -> None:
        if not sending.cancelled() and sending.exception() is not None:
            self.failure = sending.exception()


@asynccontextmanager
async def publishing_deltas(agent: str, interval: timedelta = DELTA_INTERVAL) -> AsyncIterator[DeltaPublisher]:
    """In a model activity: a `DeltaPublisher` to the stream of the workflow that scheduled it.

    On exit what is left is sent and confirmed. Publishing never fails the call: a stream that
    cannot be reached only costs the watchers their preview (logged once).
    """
    from temporalio import activity
    from temporalio.contrib.workflow_streams import WorkflowStreamClient

    info = activity.info()
    stream = WorkflowStreamClient.from_within_activity(max_retry_duration=timedelta(seconds=30))
    publisher = DeltaPublisher(stream, info.activity_id, info.attempt, agent, interval)
    try:
        yield publisher
    finally:
        try:
            await publisher.close()
        except Exception as err:  # watchers are no reason to fail the conversation
            publisher.failure = publisher.failure or err
        if publisher.failure is not None:
            activity.logger.warning(
                "the answer's pieces could not all reach the workflow's stream: %s", publisher.failure
            )


def _merged(pieces: list[StreamDelta]) -> list[StreamDelta]:
    """Consecutive pieces of the same kind (and tool call) joined, in order."""
    merged: list[StreamDelta] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if last is not None and last.kind == piece.kind and (piece.call_id is None or piece.call_id == last.call_id):
            merged[-1] = StreamDelta(last.kind, last.text + piece.text, last.index, last.call_id, last.name)
        else:
            merged.append(piece)
    return merged


def event_payload(event: Event) -> dict[str, Any]:
    """An event as published in the stream (JSON, without its offset)."""
    return event.model_dump(mode="json", exclude={"offset"})
