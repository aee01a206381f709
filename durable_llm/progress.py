"""What a model call has written so far, as streams of text: how its answer reaches followers.

A call's answer is a few streams, each growing at its end: its text, its reasoning, and the
arguments of each tool call it makes. The model activity folds the vendor's pieces into them
(`AnswerFolder`) and reports them, whole so far, as its heartbeat details (`AnswerSoFar`): a
heartbeat the worker skips loses nothing, and heartbeat details are not written to the history.
When the call completes, the workflow publishes the same streams as the answer recorded them
(`answer_streams`), so a follower finishes each stream exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from durable_llm.conversation import FrozenModel, Message, ReasoningPart, TextPart, ToolCallPart
from durable_llm.providers.base import DeltaKind, StreamDelta


class AnswerStream(FrozenModel):
    """One stream of a model call's answer: its text, its reasoning, or the arguments of its `index`-th tool call."""

    delta: DeltaKind
    text: str = ""
    index: int = 0
    """Which of the answer's tool calls (0: the first); 0 for text and reasoning, which are one stream each."""
    tool_call_id: str | None = None

    @property
    def key(self) -> str:
        """What names the stream within its call (the same while it streams and once recorded)."""
        return f"{self.delta}:{self.index}"


class AnswerSoFar(FrozenModel):
    """A model call's answer so far: the model activity's heartbeat details."""

    call: str
    """The model call: see `Delta.call`."""
    attempt: int
    agent: str
    streams: tuple[AnswerStream, ...] = ()


def call_name(version: int, model: str | None = None) -> str:
    """The name of the model call that answers the first `version` messages of a conversation (with
    fallback `model`, if not the agent's own).

    Unique in the conversation, across continue-as-new: each exchange sees more messages than the last.
    """
    return str(version) if model is None else f"{version} {model}"


class AnswerFolder:
    """Folds a call's pieces (`StreamDelta`) into its streams, in the order they begin."""

    def __init__(self) -> None:
        self._streams: list[AnswerStream] = []
        self._sources: list[int | str | None] = []
        self.size = 0
        """Characters folded so far."""

    def add(self, piece: StreamDelta) -> None:
        """Extend the stream the piece belongs to (a tool call's piece names its call by index or id)."""
        self.size += len(piece.text)
        if piece.kind == "tool_arguments":
            source = piece.index if piece.index is not None else piece.call_id
            tools = [i for i, s in enumerate(self._streams) if s.delta == "tool_arguments"]
            if tools and source is not None and self._sources[tools[-1]] == source:
                self._extend(tools[-1], piece)
                return
            stream = AnswerStream(delta="tool_arguments", text=piece.text, index=len(tools), tool_call_id=piece.call_id)
            self._streams.append(stream)
            self._sources.append(source)
            return
        found = next((i for i, s in enumerate(self._streams) if s.delta == piece.kind), None)
        if found is None:
            self._streams.append(AnswerStream(delta=piece.kind, text=piece.text))
            self._sources.append(None)
        else:
            self._extend(found, piece)

    def streams(self) -> tuple[AnswerStream, ...]:
        """The streams so far."""
        return tuple(self._streams)

    def _extend(self, at: int, piece: StreamDelta) -> None:
        stream = self._streams[at]
        update: dict[str, object] = {"text": stream.text + piece.text}
        if stream.tool_call_id is None and piece.call_id is not None:
            update["tool_call_id"] = piece.call_id
        self._streams[at] = stream.model_copy(update=update)


def answer_streams(message: Message) -> tuple[AnswerStream, ...]:
    """The streams of a recorded answer, named as `AnswerFolder` names them while it streams."""
    streams: list[AnswerStream] = []

    def extend(kind: DeltaKind, text: str) -> None:
        found = next((i for i, s in enumerate(streams) if s.delta == kind), None)
        if found is None:
            streams.append(AnswerStream(delta=kind, text=text))
        else:
            streams[found] = streams[found].model_copy(update={"text": streams[found].text + text})

    tools = 0
    for part in message.parts:
        if isinstance(part, TextPart) and part.text:
            extend("text", part.text)
        elif isinstance(part, ReasoningPart) and (part.text or part.summary):
            extend("reasoning", (part.text or "") + "".join(part.summary))
        elif isinstance(part, ToolCallPart):
            streams.append(
                AnswerStream(delta="tool_arguments", text=part.arguments_raw, index=tools, tool_call_id=part.id)
            )
            tools += 1
    return tuple(streams)


HEARTBEAT_GAP = 0.05
"""Seconds between two heartbeats of an answer's progress (the first piece goes at once); the worker
throttles them further (`plugin.HEARTBEAT_THROTTLE`)."""

REPORTED_LIMIT = 50_000
"""Characters of an answer reported while it streams; the rest reaches followers when it is recorded
(heartbeat details are encoded whole at every beat, and large ones would go to the blob store)."""


class AnswerReporter:
    """Folds a model call's pieces and heartbeats its `AnswerSoFar` through `beat` (`activity.heartbeat`).

    The first piece is reported at once, later ones at most every `HEARTBEAT_GAP`; `details()` is
    also what the activity's liveness heartbeats carry, so they never erase the progress.
    """

    def __init__(self, call: str, attempt: int, agent: str, beat: Callable[..., None]) -> None:
        self._folder = AnswerFolder()
        self._so_far = AnswerSoFar(call=call, attempt=attempt, agent=agent)
        self._beat = beat
        self._last = -HEARTBEAT_GAP
        self._timer: asyncio.TimerHandle | None = None

    def receive(self, piece: StreamDelta) -> None:
        """A `DeltaListener`: folds the piece; heartbeats now, or when the gap has passed."""
        if self._folder.size > REPORTED_LIMIT:
            return  # the rest reaches followers when the answer is recorded
        self._folder.add(piece)
        self._so_far = self._so_far.model_copy(update={"streams": self._folder.streams()})
        if self._timer is not None:
            return
        loop = asyncio.get_running_loop()
        wait = self._last + HEARTBEAT_GAP - loop.time()
        if wait > 0:
            self._timer = loop.call_later(wait, self.report)
        else:
            self.report()

    def report(self) -> None:
        """Heartbeat the answer so far now."""
        self._timer = None
        self._last = asyncio.get_running_loop().time()
        self._beat(*self.details())

    def details(self) -> tuple[AnswerSoFar, ...]:
        """The heartbeat details: the answer so far (none before its first piece)."""
        return (self._so_far,) if self._so_far.streams else ()

    def close(self) -> None:
        """No more heartbeats (the call is over)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
