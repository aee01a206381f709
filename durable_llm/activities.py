"""The agent's activities: one model call, one dynamic activity running every tool, and the transcript
snapshots of continue-as-new. All I/O lives here.

The model activity never receives the conversation: its input is a `ModelTurn` reference (the
workflow, the transcript query and a message count). Each worker keeps the transcripts it has
seen and asks the workflow (a query, never written to history) only for the messages it lacks,
so every message enters the workflow history once, and a worker with an empty cache still works.
Messages from before a continue-as-new are read from the snapshot's blobs instead of the query.
When the workflow itself runs in the same process, its transcript is read from memory instead.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import dataclasses
import functools
import inspect
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from durable_llm.agent import Agent, AgentTool, HistoryPage, Transcript, TranscriptSnapshot
from durable_llm.conversation import (
    FrozenModel,
    MediaPart,
    Message,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
    ToolSpec,
    project,
)
from durable_llm.handoffs import find_agent, transfer_tool
from durable_llm.output import final_answer_tool
from durable_llm.progress import AnswerReporter, call_name
from durable_llm.providers.base import StreamDelta
from durable_llm.providers.errors import ProviderError
from durable_llm.storage import AesGcmCodec, kept_inline
from durable_llm.streaming import TextDelta, TextListener
from durable_llm.tools import ToolArgumentError, ToolContext
from durable_llm.transport import Providers, UnknownProvider

if TYPE_CHECKING:
    from durable_llm.tracing import Telemetry

MODEL_ACTIVITY = "durable_llm.call_model"
"""The model activity's name; tool activities are named after their tool."""

HEARTBEAT_INTERVAL = 1.0
"""Seconds between heartbeats of a running model call or tool (less if the heartbeat timeout is short)."""

MODEL_HEARTBEAT_TIMEOUT = timedelta(seconds=2.5)
"""How soon a model call on a dead worker is noticed and retried elsewhere."""

SAVE_TRANSCRIPT_ACTIVITY = "durable_llm.save_transcript"
"""Stores what the blob store lacks of a conversation's transcript before it continues as new."""

LOAD_TRANSCRIPT_ACTIVITY = "durable_llm.load_transcript"
"""Reads one segment of it back at the start of the next run."""


class ModelTurn(FrozenModel):
    """The model activity's input: which conversation, and how many of its messages the call sees.

    The conversation is the transcript `query` of the workflow run that scheduled the activity;
    `workflow_id` and `run_id` are set only in turns scheduled by durable_llm 0.1's first workflows.
    """

    query: str
    version: int
    workflow_id: str | None = None
    run_id: str | None = None
    left_out: tuple[tuple[int, int], ...] = ()
    """Ranges `(start, end)` of messages kept for the record but not sent: exchanges that failed for good."""
    publish_deltas: bool = False
    """Stream the answer and report it in heartbeats as it is written, for `durable_llm.follow`."""
    model: str | None = None
    """The model ("provider:model") to call instead of the agent's: one of its `fallback_models`."""
    agent: str | None = None
    """The agent of the team answering, by name (None: the conversation's own agent)."""

    def sent(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """The messages of the transcript the model is shown: all but those `left_out`."""
        if not self.left_out:
            return messages
        return tuple(m for i, m in enumerate(messages) if not any(start <= i < end for start, end in self.left_out))

    @property
    def conversation_id(self) -> str:
        """Unique per conversation: a workflow run may hold several (one per `run_agent`)."""
        return _cache_key(self.workflow, self.run, self.query)

    @property
    def workflow(self) -> str:
        """The id of the workflow holding the transcript."""
        return self.workflow_id or activity.info().workflow_id or ""

    @property
    def run(self) -> str:
        """The run of that workflow holding the transcript."""
        return self.run_id or activity.info().workflow_run_id or ""


class LiveTranscript(Protocol):
    """A transcript held by a workflow in this process (an `AgentSession`)."""

    agent: Agent
    messages: list[Message]


_IN_PROCESS: weakref.WeakValueDictionary[str, LiveTranscript] = weakref.WeakValueDictionary()
"""The transcripts of the workflows this process holds, by conversation; gone when a workflow leaves the cache."""


def share_in_process(workflow_id: str, run_id: str, query: str, transcript: LiveTranscript) -> None:
    """Let the model activities of this process read `transcript` from memory instead of querying for it.

    Called by workflow code, which never reads it back, so it cannot affect determinism; and since
    the workflow is deterministic, any replay of the run holds the same messages in the same order.
    """
    _IN_PROCESS[_cache_key(workflow_id, run_id, query)] = transcript


class TranscriptPage(HistoryPage):
    """A page of the transcript query, with the agent whose settings the model call uses.

    With a `snapshot`, the messages before `offset` are in it (earlier runs' messages are read
    from the blob store, never shipped through the query), and `offset == snapshot.count`.
    """

    agent: Agent
    snapshot: TranscriptSnapshot | None = None


class AgentActivities:
    """The activities of one worker, with its tool registry, model providers and transcript cache."""

    def __init__(
        self,
        tools: Mapping[str, ToolSpec],
        providers: Providers,
        *,
        max_cached_conversations: int = 256,
        on_text: TextListener | None = None,
    ) -> None:
        self._tools = dict(tools)
        self._providers = providers
        self._on_text = on_text
        # The agent is None until a query names it (a transcript loaded from a snapshot comes without).
        self._cache: OrderedDict[str, tuple[Agent | None, tuple[Message, ...]]] = OrderedDict()
        self._max_cached = max_cached_conversations
        self.transcript_fetches = 0
        """How many transcript pages this worker queried (a cache that works keeps this low)."""
        self.snapshot_reads = 0
        """How many transcript snapshots this worker read from the blob store."""
        self.read_in_process = True
        """Read the transcripts of workflows held by this process from memory; False: query, as another process must."""
        self.telemetry: Telemetry | None = None
        """Traces and measures the model calls (`DurableLLMPlugin(tracing=...)`); None: off."""

    @property
    def tool_names(self) -> frozenset[str]:
        """The names of the tools this worker runs."""
        return frozenset(self._tools)

    def definitions(self) -> list[Callable[..., Any]]:
        """The activity callables to register on a worker."""
        from durable_llm.mcp_activities import call_mcp_tool, list_mcp_tools

        return [
            self.call_model,
            self.run_tool,
            self.save_transcript,
            self.load_transcript,
            list_mcp_tools,
            call_mcp_tool,
        ]

    @activity.defn(name=MODEL_ACTIVITY)
    async def call_model(self, turn: ModelTurn) -> ModelResponse:
        """Call the agent's model on the first `turn.version` messages of the conversation."""
        agent, messages = await self._transcript(turn)
        if turn.agent is not None:
            try:
                agent = find_agent(agent, turn.agent)
            except LookupError as err:
                raise ApplicationError(str(err), type="not_found", non_retryable=True) from err
        if turn.model is not None:
            if turn.model not in agent.fallback_models:
                raise ApplicationError(
                    f"{turn.model} is not one of the agent's fallback models", type="bad_request", non_retryable=True
                )
            agent = agent.model_copy(update={"model": turn.model})
        request = self._request(agent, turn.sent(messages))
        reporter = _answer_reporter(turn, agent)
        async with _heartbeating(reporter.details if reporter else tuple):
            try:
                reply = functools.partial(self._reply, agent, request, reporter)
                if self.telemetry is not None:
                    return _storable(await self.telemetry.model_call(agent, request, reply))
                return _storable(await reply())
            finally:
                if reporter is not None:
                    reporter.close()

    async def _reply(self, agent: Agent, request: ModelRequest, reporter: AnswerReporter | None) -> ModelResponse:
        """The provider's answer, its errors turned into failures Temporal retries (or not) as they deserve."""
        try:
            # Not the transport's 10-minute default: a longer model_timeout (the activity's start-to-close) must hold.
            timeout = agent.model_timeout.total_seconds()
            return await self._providers.call(
                agent.provider, request, timeout=timeout, on_delta=self._delta_listener(agent, reporter)
            )
        except ProviderError as err:
            raise ApplicationError(
                f"{agent.model}: {err}",
                type=err.kind,
                non_retryable=not err.retryable,
                next_retry_delay=timedelta(seconds=err.retry_after) if err.retry_after is not None else None,
            ) from err
        except ValueError as err:  # the adapter cannot encode this request: trying again cannot help
            raise ApplicationError(
                f"{agent.model}: the request cannot be sent: {err}", type="bad_request", non_retryable=True
            ) from err

    def _delta_listener(self, agent: Agent, reporter: AnswerReporter | None) -> Callable[[StreamDelta], None] | None:
        """What hands this call's pieces to its heartbeats and `on_text` (None: no one, no streaming)."""
        text_listener = self._text_listener(agent)
        if reporter is None or text_listener is None:
            return text_listener or (reporter.receive if reporter else None)

        def both(piece: StreamDelta) -> None:
            reporter.receive(piece)
            text_listener(piece)

        return both

    def _text_listener(self, agent: Agent) -> Callable[[StreamDelta], None] | None:
        """What hands this call's answer text to `on_text` (None: no listener)."""
        if (listener := self._on_text) is None:
            return None
        info = activity.info()
        failed = False

        def deliver(piece: StreamDelta) -> None:
            nonlocal failed
            if piece.kind != "text":
                return
            delta = TextDelta(
                info.workflow_id or "",
                info.workflow_run_id or "",
                info.activity_id,
                info.attempt,
                agent.name,
                piece.text,
            )
            try:
                listener(delta)
            except Exception:  # someone watching cannot be a reason to fail the conversation
                if not failed:
                    activity.logger.exception("the on_text listener failed; the model call goes on")
                failed = True

        return deliver

    @activity.defn(name=SAVE_TRANSCRIPT_ACTIVITY)
    async def save_transcript(self, turn: ModelTurn, previous: TranscriptSnapshot | None = None) -> TranscriptSnapshot:
        """Store the first `turn.version` messages and return the reference to them.

        Only what `previous` (the snapshot this run started from) lacks is written, as a new
        segment, merged with the newest earlier segments while they are no longer than it.
        Through the data converter, so its codec (encryption) and external storage apply; stored
        whatever its size, since the reference travels in the next run's input.
        """
        _, messages = await self._transcript(turn)
        if previous is not None and previous.count == len(messages):
            return previous  # nothing new since the last run: no empty segment to write and load
        earlier = list(previous.segments) if previous is not None else []
        start = earlier[-1].count if earlier else 0
        while earlier and earlier[-1].count - earlier[-1].start <= len(messages) - start:
            start = earlier.pop().start
        converter = activity.client().data_converter
        if converter.external_storage is not None:
            storage = dataclasses.replace(converter.external_storage, payload_size_threshold=0)
            converter = dataclasses.replace(converter, external_storage=storage)
        [payload] = await converter.encode([Transcript(messages=messages[start:])])
        return TranscriptSnapshot(
            count=len(messages),
            payload=base64.b64encode(payload.SerializeToString()).decode(),
            start=start,
            earlier=tuple(earlier),
        )

    @activity.defn(name=LOAD_TRANSCRIPT_ACTIVITY)
    async def load_transcript(self, snapshot: TranscriptSnapshot, query: str) -> Transcript | RawValue:
        """One snapshot segment's messages, for the run that continues the conversation.

        A segment in the blob store is returned as its own reference: the workflow's worker reads
        the blob while decoding the result, and nothing is stored again (a `Transcript` result
        would be a new blob of the same messages at every run). Otherwise, the messages.
        `query` is unused (it named a cache entry in durable_llm 0.1); workflows still pass it, so
        that workers of either version serve either.
        """
        payload = Payload.FromString(base64.b64decode(snapshot.payload))
        if not snapshot.earlier and _kept_as_is(payload, activity.client().data_converter):
            return RawValue(payload)
        return Transcript(messages=await self._read_snapshot(snapshot))

    @activity.defn(dynamic=True)
    async def run_tool(self, args: Sequence[RawValue]) -> ToolResultPart:
        """Run the registered tool named by the activity type on the model's arguments.

        A bad argument, an unregistered name or the tool's own exception come back as an error
        result for the model; an `ApplicationError` the tool raises is left to the retry policy.
        """
        converter = activity.payload_converter()
        call = converter.from_payload(args[0].payload, ToolCallPart)
        # Scheduled by durable_llm 0.1, a tool activity had no second argument.
        agent_name = converter.from_payload(args[1].payload, str) if len(args) > 1 else None
        info = activity.info()
        spec = self._tools.get(info.activity_type)
        if spec is None or spec.function is None:
            return error_result(call, f"tool {info.activity_type!r} is not registered on this worker")
        try:
            arguments = spec.validate_arguments(call.arguments_raw)
        except ToolArgumentError as err:
            return error_result(call, str(err))
        context = ToolContext(
            tool_call_id=call.id or info.activity_id,
            tool_name=spec.name,
            agent_name=agent_name,
            workflow_id=info.workflow_id,
        )
        leading = (context,) if spec.wants_context else ()
        fn = spec.function
        async with _heartbeating():
            try:
                if inspect.iscoroutinefunction(fn):
                    value = await fn(*leading, **arguments)
                else:
                    value = await _in_own_thread(fn, *leading, **arguments)
                result = _result(call, value)
                # Serialised here, not after returning: a result that cannot be must not make Temporal run
                # the tool again.
                converter.to_payload(result)
                return result
            except ApplicationError:
                raise
            except Exception as err:
                return error_result(call, f"{spec.name} failed: {type(err).__name__}: {_cut(str(err))}")

    def _request(self, agent: Agent, messages: tuple[Message, ...]) -> ModelRequest:
        """The request for the agent's model, its transcript projected to the provider's rules (so a
        model changed to another vendor between two messages reads the history it can take)."""
        try:
            rules = self._providers.get(agent.provider).rules
        except UnknownProvider as err:
            raise ApplicationError(f"{agent.model}: {err}", type="unknown_provider", non_retryable=True) from err
        tool_mode = agent.output_mode == "tool"
        messages, report = project(messages, rules, agent.model_name)
        if not report.unchanged:
            activity.logger.debug("history projected for %s: %s", agent.model, report.changes)
        return ModelRequest(
            model=agent.model_name,
            instructions=agent.instructions,
            messages=messages,
            tools=(
                *(self._spec(tool) for tool in agent.function_tools),
                *(transfer_tool(other) for other in agent.handoffs),
                *((final_answer_tool(agent.output_schema),) if agent.output_schema and tool_mode else ()),
            ),
            tool_choice=ToolChoice(mode="required") if agent.output_schema and tool_mode else None,
            temperature=agent.temperature,
            max_output_tokens=agent.max_output_tokens,
            top_p=agent.top_p,
            stop=agent.stop,
            seed=agent.seed,
            output_schema=agent.output_schema.request_schema() if agent.output_schema and not tool_mode else None,
            provider_options=agent.provider_options,
        )

    def _spec(self, tool: ToolSpec | AgentTool | str) -> ToolSpec:
        if isinstance(tool, ToolSpec):
            return tool
        if isinstance(tool, AgentTool):
            return tool.spec()
        if tool not in self._tools:
            raise ApplicationError(
                f"the agent names tool {tool!r}, which is not registered on this worker; "
                "pass it to DurableLLMPlugin(tools=[...])",
                type="not_found",
                non_retryable=True,
            )
        return self._tools[tool]

    async def _transcript(self, turn: ModelTurn) -> tuple[Agent, tuple[Message, ...]]:
        """The agent and its first `turn.version` messages: from the cache, topped up by querying the workflow."""
        live = _IN_PROCESS.get(turn.conversation_id) if self.read_in_process else None
        if live is not None and len(live.messages) >= turn.version:
            return live.agent, tuple(live.messages[: turn.version])
        agent, messages = self._cache.get(turn.conversation_id, (None, ()))
        if agent is None or len(messages) < turn.version:
            handle = activity.client().get_workflow_handle(turn.workflow, run_id=turn.run)
            while agent is None or len(messages) < turn.version:
                page = await handle.query(turn.query, len(messages), result_type=TranscriptPage)
                self.transcript_fetches += 1
                if page.snapshot is not None:
                    messages = await self._read_snapshot(page.snapshot)
                if page.offset != len(messages) or (not page.messages and len(messages) < turn.version):
                    raise ApplicationError(
                        f"the workflow has {page.total} messages, the model call needs {turn.version}",
                        type="transcript_mismatch",
                    )
                # The transcript only grows, so what the query returns extends the cached prefix.
                agent, messages = page.agent, messages + page.messages[: turn.version - len(messages)]
        self._remember(turn.conversation_id, agent, messages)
        return agent, messages[: turn.version]

    async def _read_snapshot(self, snapshot: TranscriptSnapshot) -> tuple[Message, ...]:
        """The messages a snapshot (or one segment of it) holds, read back through the data converter."""
        segments = snapshot.segments
        payloads = [Payload.FromString(base64.b64decode(segment.payload)) for segment in segments]
        transcripts = await activity.client().data_converter.decode(payloads, [Transcript] * len(payloads))
        self.snapshot_reads += 1
        messages: tuple[Message, ...] = ()
        for segment, transcript in zip(segments, transcripts, strict=True):
            position = segments[0].start + len(messages)
            if segment.start != position or len(transcript.messages) != segment.count - segment.start:
                raise ApplicationError(
                    f"a transcript snapshot segment holds messages {position} to "
                    f"{position + len(transcript.messages)}, not {segment.start} to {segment.count}",
                    type="transcript_mismatch",
                    non_retryable=True,
                )
            messages += transcript.messages
        return messages

    def _remember(self, key: str, agent: Agent | None, messages: tuple[Message, ...]) -> None:
        self._cache[key] = (agent, messages)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_cached:
            self._cache.popitem(last=False)


def _storable(response: ModelResponse) -> ModelResponse:
    """`response`, with any lone UTF-16 surrogate (JSON can escape one, UTF-8 cannot hold it) replaced by U+FFFD.

    Otherwise the answer, paid for, could not be recorded: the call would fail after the fact and
    be made again.
    """
    try:
        response.__pydantic_serializer__.to_json(response)
    except PydanticSerializationError:
        return ModelResponse.model_validate(_without_surrogates(response.model_dump(round_trip=True)))
    return response


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_surrogates(v) for v in value)
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _kept_as_is(reference: Payload, converter: DataConverter) -> bool:
    """Whether an activity result of exactly `reference` reaches the workflow unchanged and resolvable.

    It must be a blob-store reference small enough to stay inline, and no codec may wrap it
    (`AesGcmCodec` passes references through; another codec is assumed not to).
    """
    storage, codec = converter.external_storage, converter.payload_codec
    return (
        len(reference.external_payloads) > 0
        and storage is not None
        and reference.ByteSize() < storage.payload_size_threshold
        and (codec is None or isinstance(codec, AesGcmCodec))
    )


def _cache_key(workflow_id: str, run_id: str, query: str) -> str:
    return f"{workflow_id}/{run_id}/{query}"


def _answer_reporter(turn: ModelTurn, agent: Agent) -> AnswerReporter | None:
    """What reports the answer in heartbeats as it streams, when the turn asks for it."""
    if not turn.publish_deltas:
        return None
    return AnswerReporter(call_name(turn.version, turn.model), activity.info().attempt, agent.name, _heartbeat)


def _heartbeat(*details: Any) -> None:
    """`activity.heartbeat`, its details kept in the heartbeat: not stored by reference at every beat."""
    with kept_inline():  # the SDK encodes them in a task started here, which inherits the context
        activity.heartbeat(*details)


@asynccontextmanager
async def _heartbeating(details: Callable[[], tuple[Any, ...]] = tuple) -> AsyncIterator[None]:
    """Heartbeat in the background while the body runs, so a dead worker is noticed in seconds.

    Each heartbeat carries `details()`. None is sent at once: a model call's first piece of answer
    is then heartbeated without waiting for the worker's throttle.
    """

    timeout = activity.info().heartbeat_timeout
    interval = min(HEARTBEAT_INTERVAL, timeout.total_seconds() / 4) if timeout else HEARTBEAT_INTERVAL

    async def beat() -> None:
        while True:
            await asyncio.sleep(interval)
            _heartbeat(*details())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()


_JSON = TypeAdapter(Any)


def _result(call: ToolCallPart, value: Any) -> ToolResultPart:
    """A tool's return value as a result: text and media as content, anything else as a JSON value."""
    if isinstance(value, ToolResultPart):
        return value.model_copy(update={"call_id": call.id, "name": call.name})
    if isinstance(value, str):
        return ToolResultPart(call_id=call.id, name=call.name, content=(TextPart(text=value),))
    if isinstance(value, (TextPart, MediaPart)):
        value = [value]
    if isinstance(value, list) and value and all(isinstance(v, (TextPart, MediaPart)) for v in value):
        return ToolResultPart(call_id=call.id, name=call.name, content=tuple(value))
    return ToolResultPart(call_id=call.id, name=call.name, value=_JSON.dump_python(value, mode="json"))


async def _in_own_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking tool in a thread of its own (with the activity's context).

    Not in the event loop's shared pool: a tool that hangs past its timeout is abandoned, and
    would otherwise hold one of that pool's few threads (which the blob store reads with) for good.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(value: Any, error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(value)

    def work() -> None:
        value, error = None, None
        try:
            value = context.run(fn, *args, **kwargs)
        except BaseException as err:
            error = err
        with contextlib.suppress(RuntimeError):  # the worker stopped meanwhile: nobody waits for it
            loop.call_soon_threadsafe(settle, value, error)

    threading.Thread(target=work, name=f"durable_llm tool {getattr(fn, '__name__', 'tool')}", daemon=True).start()
    return await done


ERROR_TEXT_LIMIT = 4000
"""At most this many characters of a tool's exception go back to the model."""


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else f"{text[:ERROR_TEXT_LIMIT]}... ({len(text):,} characters)"


def error_result(call: ToolCallPart, message: str) -> ToolResultPart:
    """An error result the model reads and can recover from."""
    return ToolResultPart(call_id=call.id, name=call.name, content=(TextPart(text=message),), is_error=True)
