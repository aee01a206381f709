"""`follow`: a conversation's events (`durable_llm.events`) as they happen, from any process.

Nothing of it is written to the workflow history. Every `interval`, a follower reads:
- the events the workflow published since the last read, with the stream's query;
- the answer being written, from the model activity's heartbeat details (`describe`).
Each answer stream's growth since the last read becomes a `Delta`; when the workflow says the
call is recorded (`AnswerWritten`), what the follower has not shown yet of it follows. Each
event carries its `offset`: after a disconnect, `follow(..., after=last_event)` resumes with
nothing missed or repeated, in the middle of an answer too (`from_offset=offset + 1` works for
any event but a `Delta`). The follower follows the chat across continue-as-new (the newest run
has the stream, its offsets carried on); events of an earlier run older than the few it carried
are gone (a follower away that long resumes at the oldest carried event).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from durable_llm.events import (
    EVENT_ADAPTER,
    EVENTS_TOPIC,
    AnswerWritten,
    ConversationEnded,
    ConversationEvent,
    Delta,
    Event,
    TurnFinished,
)
from durable_llm.progress import AnswerSoFar, AnswerStream

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowExecutionDescription, WorkflowHandle

POLL_INTERVAL = timedelta(milliseconds=100)
"""How often a follower reads what is new (one query and one describe, neither written to history)."""

_STREAM_QUERY = "__temporal_workflow_stream_poll"
"""The query `temporalio.contrib.workflow_streams.WorkflowStream` answers with the events from an offset."""

_KINDS = frozenset(EVENT_ADAPTER.json_schema()["discriminator"]["mapping"])


class ConversationNotFound(LookupError):
    """No conversation (workflow) of that id on the server."""


async def follow(
    client: Client,
    conversation_id: str,
    *,
    from_offset: int = 0,
    after: Event | None = None,
    interval: timedelta = POLL_INTERVAL,
) -> AsyncIterator[ConversationEvent]:
    """Yield the conversation's events from `from_offset` on (or right `after` one seen), until it ends.

    `after`: the last event a client saw before a disconnect, a `Delta` included; it overrides
    `from_offset`. `interval`: how often to read what is new (one query, answered by a worker, and
    one describe; neither is written to the history). Ends after `ConversationEnded`, or once a
    closed conversation's events are read.
    Raises `ConversationNotFound` if there is no such conversation. Reading the events needs one
    of the conversation's workers running (the stream lives in the workflow), and `client` to
    carry `DurableLLMPlugin` like the workers (its converter and codec decode the events).
    """
    import asyncio

    from temporalio.client import WorkflowExecutionStatus

    handle = client.get_workflow_handle(conversation_id)
    answers = _Answers()
    offset = from_offset
    if isinstance(after, Delta):
        offset = after.offset
        answers.resume(after)
    elif after is not None:
        offset = after.offset + 1
    while True:
        description = await _described(handle)
        running = description.status == WorkflowExecutionStatus.RUNNING
        # Read before the events: an answer still written after them was written after them too.
        written = await _answers_so_far(client, description) if running else []
        items, more = await _events(client, handle, offset)
        for at, data in items:
            offset = at + 1
            if isinstance(data, dict) and data.get("kind") == "answer_written":
                for delta in answers.finish(AnswerWritten.model_validate(data), offset):
                    yield delta
                continue
            if not isinstance(data, dict) or data.get("kind") not in _KINDS:
                continue  # an event a newer worker publishes: not for this client
            event = EVENT_ADAPTER.validate_python(data).model_copy(update={"offset": at})
            yield event
            if isinstance(event, TurnFinished):
                answers.forget()
            if isinstance(event, ConversationEnded):
                return
        if more:
            continue
        for so_far in written:
            for delta in answers.grow(so_far, offset):
                yield delta
        if not running:
            return
        await asyncio.sleep(interval.total_seconds())


async def _described(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionDescription:
    from temporalio.service import RPCError, RPCStatusCode

    try:
        return await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ConversationNotFound(f"no conversation {handle.id!r} on this Temporal server") from err
        raise


async def _answers_so_far(client: Client, description: WorkflowExecutionDescription) -> list[AnswerSoFar]:
    """The answers the conversation's model calls are writing: their heartbeat details."""
    from durable_llm.activities import MODEL_ACTIVITY

    found = []
    for pending in description.raw_description.pending_activities:
        payloads = list(pending.heartbeat_details.payloads)
        if pending.activity_type.name != MODEL_ACTIVITY or len(payloads) != 1:
            continue
        try:
            [so_far] = await client.data_converter.decode(payloads, [AnswerSoFar])
        except Exception:  # details of another durable_llm version: only its preview is lost
            continue
        found.append(so_far)
    return found


async def _events(client: Client, handle: WorkflowHandle[Any, Any], offset: int) -> tuple[list[tuple[int, Any]], bool]:
    """The events from `offset` the workflow holds (offset, JSON value), and whether more are ready."""
    from temporalio.api.common.v1 import Payload
    from temporalio.contrib.workflow_streams import PollInput, PollResult
    from temporalio.service import RPCError, RPCStatusCode

    try:
        result = await handle.query(
            _STREAM_QUERY, PollInput(topics=[EVENTS_TOPIC], from_offset=offset), result_type=PollResult
        )
    except RPCError as err:
        if err.status == RPCStatusCode.FAILED_PRECONDITION:  # a run not started yet (continue-as-new)
            return [], False
        raise
    converter = client.data_converter.payload_converter
    items = [
        (item.offset, converter.from_payload(Payload.FromString(base64.b64decode(item.data)))) for item in result.items
    ]
    return items, result.more_ready


@dataclass
class _Shown:
    """What a follower has shown of one model call's answer: its attempt and each stream's text."""

    attempt: int
    texts: dict[str, str] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)
    """Streams shown before a resume: how much of them (their text is taken from what comes)."""

    def text(self, stream: AnswerStream) -> str:
        if stream.key in self.resumed:
            self.texts[stream.key] = stream.text[: self.resumed.pop(stream.key)]
        return self.texts.get(stream.key, "")

    def lengths(self) -> dict[str, int]:
        return {**self.resumed, **{key: len(text) for key, text in self.texts.items()}}


class _Answers:
    """The answers being written, as far as this follower has shown them, turned into `Delta`s."""

    def __init__(self) -> None:
        self._calls: dict[str, _Shown] = {}
        self._recorded: set[str] = set()

    def resume(self, delta: Delta) -> None:
        """Continue after `delta`: its call's streams are shown as far as it says."""
        self._calls[delta.call] = _Shown(delta.attempt, resumed=dict(delta.shown))

    def grow(self, so_far: AnswerSoFar, offset: int) -> Iterator[Delta]:
        """What a call wrote since it was last read."""
        if so_far.call in self._recorded:
            return
        shown = self._calls.get(so_far.call)
        if shown is None or so_far.attempt > shown.attempt:
            shown = self._calls[so_far.call] = _Shown(so_far.attempt)
        elif so_far.attempt < shown.attempt:
            return  # the details of an attempt before a retry: its text was dropped
        for stream in so_far.streams:
            had = shown.text(stream)
            if len(stream.text) > len(had) and stream.text.startswith(had):
                yield self._put(so_far.call, so_far.agent, shown, stream, len(had), offset)

    def finish(self, written: AnswerWritten, offset: int) -> Iterator[Delta]:
        """The end of a call's answer as recorded: what was not shown yet (or set right)."""
        self._recorded.add(written.call)
        shown = self._calls.pop(written.call, None) or _Shown(attempt=1)
        for stream in written.streams:
            had = shown.text(stream)
            if had != stream.text:
                yield self._put(written.call, written.agent, shown, stream, _common(had, stream.text), offset)

    def forget(self) -> None:
        """An exchange ended: none of its calls is written any more (those recorded stay known as such)."""
        self._calls.clear()

    @staticmethod
    def _put(call: str, agent: str, shown: _Shown, stream: AnswerStream, position: int, offset: int) -> Delta:
        shown.texts[stream.key] = stream.text
        return Delta(
            delta=stream.delta,
            text=stream.text[position:],
            call=call,
            attempt=shown.attempt,
            agent=agent,
            position=position,
            index=stream.index,
            tool_call_id=stream.tool_call_id,
            shown=shown.lengths(),
            offset=offset,
        )


def _common(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b`."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
