"""The agent loop (call the model, run the tools it asks for, repeat): deterministic workflow code.

`AgentWorkflow` and `run_agent` (inside a user's own workflow) both drive an `AgentSession`, so
there is one loop. The session holds the transcript; each message in it arrived in exactly one
history event (workflow input, update argument, model or tool activity result), and replay
rebuilds it from those. The model activity reads it back through the transcript query. A session
resumed from a `Checkpoint` (continue-as-new) loads its earlier messages from the snapshot's blobs.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    ChildWorkflowError,
    FailureError,
    RetryState,
    TimeoutError,
)

from durable_llm.activities import (
    LOAD_TRANSCRIPT_ACTIVITY,
    MODEL_ACTIVITY,
    MODEL_HEARTBEAT_TIMEOUT,
    SAVE_TRANSCRIPT_ACTIVITY,
    ModelTurn,
    TranscriptPage,
    error_result,
    share_in_process,
)
from durable_llm.agent import (
    Agent,
    AgentResult,
    AgentState,
    AgentStatus,
    AgentTool,
    Checkpoint,
    FailedExchange,
    HistoryPage,
    PendingApproval,
    StopReason,
    ToolOptions,
    Transcript,
    TranscriptSnapshot,
)
from durable_llm.agent_tools import failed_result, run_agent_tool
from durable_llm.conversation import Message, ModelResponse, TextPart, ToolCallPart, ToolResultPart, Usage
from durable_llm.events import (
    AgentSwitched,
    AnswerWritten,
    ApprovalRequested,
    Event,
    EventSink,
    ToolCallFinished,
    ToolCallStarted,
    TurnFinished,
    UserMessage,
)
from durable_llm.handoffs import find_agent, handoff_target, team, with_model
from durable_llm.mcp import CALL_TOOL_ACTIVITY, mcp_server_of, with_listed_tools
from durable_llm.output import OutputInvalid, answer_of, answer_results, check_output, retry_prompt
from durable_llm.progress import answer_streams, call_name
from durable_llm.user_content import UserContent, check_media, user_message

TRANSCRIPT_QUERY = "durable_llm.transcript"
"""The query the model activity reads the transcript with; a second session in one workflow gets ".2"."""

APPROVE_UPDATE = "approve_tool_call"
"""The update that approves or rejects a tool call waiting for approval."""

PAGE_BYTES = 1 << 20
"""A query page stops after about this much JSON (at least one message): gRPC caps messages at ~4 MB."""

SNAPSHOT_TIMEOUT = timedelta(minutes=2)
"""How long storing or loading a transcript snapshot may take (a blob of a few MB)."""

_POSITIONAL_CALLS_PATCH = "durable_llm.positional_tool_calls"
"""Tool activities and approvals keyed by model call and position, never by the model's call id.

Runs started before it replay as they ran (an activity id built from the model's call id)."""

_RETRIES_SPENT = (RetryState.MAXIMUM_ATTEMPTS_REACHED, RetryState.TIMEOUT)
"""How a model call ended when another model may do better: its retries or its time ran out (never a
non-retryable error, which the request itself caused)."""

_KEY_PATTERN = re.compile(r"[A-Za-z0-9_.:|-]{1,100}")
"""A model's call id short and plain enough to name its call in `approve_tool_call`."""

MAX_TOOL_CALLS_PER_TURN = 128
"""The most tool calls of one model answer that are run (in parallel); the others are answered as not run."""

_QUOTED_LIMIT = 120
"""At most this many characters of a model-chosen name are quoted back to it in an error."""


class AgentSession:
    """One conversation between a user and an agent, run inside a workflow."""

    def __init__(
        self,
        agent: Agent,
        messages: Sequence[Message] = (),
        *,
        checkpoint: Checkpoint | None = None,
        stored: TranscriptSnapshot | None = None,
        events: EventSink | None = None,
    ) -> None:
        """`checkpoint`: the conversation before `messages`, to `restore`; `stored`: the snapshot
        already holding the first of `messages` (so a `checkpoint()` stores only the rest);
        `events`: where to publish what happens (`durable_llm.events`); with it, answers stream."""
        self.agent = agent
        self._events = events
        self.messages: list[Message] = list(messages)
        self.usage = checkpoint.usage if checkpoint else Usage()
        self.turns = checkpoint.turns if checkpoint else 0
        self.run_number = checkpoint.run if checkpoint else 1
        # The messages of earlier runs, in the blob store (and, once restored, at the head of `messages`).
        self._snapshot: TranscriptSnapshot | None = checkpoint.transcript if checkpoint else stored
        self._restored = checkpoint is None
        self._phase: AgentState = "waiting_for_input"
        self._pending: dict[str, PendingApproval] = {}
        self._decisions: dict[str, tuple[bool, str | None]] = {}
        self._failed: list[FailedExchange] = list(checkpoint.failed_exchanges) if checkpoint else []
        # The checked final answer of an agent with an output type, and the message count it belongs to.
        self._output: tuple[int, Any] | None = None
        self._answered_by: str | None = None
        # The agent of the team now answering (None: `agent` itself), and each agent's usage.
        self._active_name: str | None = checkpoint.agent if checkpoint else None
        if agent.handoffs and (author := _last_author(self.messages)) is not None:
            # A conversation carried on (`run_agent(..., messages=...)`) stays with the agent that answered last.
            self._active_name = author if author != agent.name else None
        self._usage_by_agent: dict[str, Usage] = dict(checkpoint.usage_by_agent) if checkpoint else {}
        self._query = _register_transcript_query(self._transcript)
        info = workflow.info()
        share_in_process(info.workflow_id, info.run_id, self._query, self)

    async def run(self, content: UserContent) -> AgentResult:
        """Add the user's message (text or parts) and loop until the model answers without tools, or `max_turns`.

        If the exchange fails for good (the model call failed past its retries, or was refused),
        the error is raised, and the exchange's messages are kept but never sent to the model again.
        A message the agent's vendor cannot take is refused first (`ApplicationError` "unsupported_content").
        """
        try:
            message = self.check_content(content)
        except ValueError as err:
            raise ApplicationError(str(err), type="unsupported_content", non_retryable=True) from None
        self.agent = await with_listed_tools(self.agent)
        start = len(self.messages)
        self.messages.append(message)
        self._emit(UserMessage(text=message.text))
        try:
            result = await self._exchange()
        except FailureError as err:
            self._failed.append(FailedExchange(start=start, end=len(self.messages), error=str(err.cause or err)))
            self._phase = "waiting_for_input"
            self._emit(
                TurnFinished(turns=self.turns, usage=self.usage, stop_reason="failed", error=self._failed[-1].error)
            )
            raise
        self._emit(TurnFinished(turns=self.turns, usage=self.usage, stop_reason=result.stop_reason))
        return result

    def check_content(self, content: UserContent) -> Message:
        """The user message of `content`; `ValueError` if malformed or the active agent's vendor cannot take it."""
        message = user_message(content)
        check_media(message, self.active.provider)
        return message

    @property
    def active(self) -> Agent:
        """The agent answering now: `agent`, or the one of its team the conversation was handed to."""
        return self.agent if self._active_name is None else find_agent(self.agent, self._active_name)

    async def _exchange(self) -> AgentResult:
        rejected = 0
        for turn in range(1, self.agent.max_turns + 1):
            response = await self._call_model()
            calls = response.message.tool_calls
            agent = self.active
            if agent.output_schema is not None and (answer := answer_of(response.message, agent.output_mode == "tool")):
                json_text, answer_call = answer
                try:
                    value = self._checked_output(json_text)
                except OutputInvalid as problem:
                    rejected += 1
                    if rejected > agent.output_retries:
                        raise self._output_failure(problem, rejected) from None
                    self.messages.append(
                        Message(role="tool", parts=answer_results(calls, answer_call, problem))
                        if answer_call is not None
                        else Message(role="user", parts=(TextPart(text=retry_prompt(str(problem))),))
                    )
                    continue
                if answer_call is not None:
                    self.messages.append(Message(role="tool", parts=answer_results(calls, answer_call, None)))
                self._output = (len(self.messages), value)
                return self._idle("completed")
            if not calls:
                return self._idle("completed")
            if turn == self.agent.max_turns:
                # Answer every call so the transcript stays valid for the next message, but run none:
                # the model would never see what they did.
                note = f"not run: the agent reached its limit of {self.agent.max_turns} model calls"
                results = tuple(error_result(call, note) for call in calls)
            elif handoff := _first_handoff(self.active, calls):
                results = self._hand_off(calls, *handoff)
            else:
                # Past the limit, calls are answered unrun: thousands of activities at once would exceed
                # Temporal's pending-activity limit and fail every workflow task from then on.
                over = f"not run: at most {MAX_TOOL_CALLS_PER_TURN} tool calls are run per model answer"
                extra = tuple(error_result(call, over) for call in calls[MAX_TOOL_CALLS_PER_TURN:])
                results = await self._run_tools(calls[:MAX_TOOL_CALLS_PER_TURN]) + extra
            self.messages.append(Message(role="tool", parts=results))
        return self._idle("max_turns")

    def _hand_off(self, calls: Sequence[ToolCallPart], position: int, target: Agent) -> tuple[ToolResultPart, ...]:
        """Answer the transfer call at `position` and make `target` the active agent; the other calls are not run."""
        done = f"transferred to {target.name}; {target.name} carries on the conversation"
        skipped = f"not run: the conversation was handed to {target.name}"
        results = tuple(
            ToolResultPart(call_id=call.id, name=call.name, content=(TextPart(text=done),))
            if i == position
            else error_result(call, skipped)
            for i, call in enumerate(calls)
        )
        if target.name != self.active.name:
            self._emit(AgentSwitched(from_agent=self.active.name, to_agent=target.name))
        self._active_name = None if target.name == self.agent.name else target.name
        return results

    def _checked_output(self, text: str) -> Any:
        assert self.active.output_schema is not None
        return check_output(self.active.output_schema, text, self.active.output_type, self.active.output_validators)

    def _output_failure(self, problem: OutputInvalid, answers: int) -> ApplicationError:
        spec = self.active.output_schema
        assert spec is not None
        return ApplicationError(
            f"{self.active.name}: none of the model's {answers} answers was a valid {spec.name} "
            f"(output_retries={self.active.output_retries}); the last one was refused because {problem}",
            type="output_invalid",
            non_retryable=True,
        )

    async def restore(self) -> None:
        """Load the messages of the runs before a continue-as-new; call before anything else."""
        if self._restored or self._snapshot is None:
            return
        segments = self._snapshot.segments
        loads = (
            workflow.execute_activity(
                LOAD_TRANSCRIPT_ACTIVITY,
                args=[segment, self._query],
                result_type=Transcript,
                start_to_close_timeout=SNAPSHOT_TIMEOUT,
            )
            for segment in segments
        )
        earlier: list[Message] = []
        for segment, transcript in zip(segments, await asyncio.gather(*loads), strict=True):
            if len(transcript.messages) != segment.count - segment.start:
                raise ApplicationError(
                    f"transcript segment {segment.start}-{segment.count} holds {len(transcript.messages)} messages",
                    type="transcript_mismatch",
                    non_retryable=True,
                )
            earlier.extend(transcript.messages)
        self.messages[:0] = earlier
        self._restored = True

    async def checkpoint(self) -> Checkpoint:
        """Store what the next run needs to carry on (call when idle): the transcript, as segments.

        What earlier runs stored is referenced, not written again (see `TranscriptSnapshot`).

        Raises `ActivityError` if it could not be stored.
        """
        snapshot = await workflow.execute_activity(
            SAVE_TRANSCRIPT_ACTIVITY,
            args=[self._turn(), self._snapshot],
            result_type=TranscriptSnapshot,
            start_to_close_timeout=SNAPSHOT_TIMEOUT,
            # A few tries only: the chat refuses messages meanwhile, and can go on without it.
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return Checkpoint(
            transcript=snapshot,
            agent=self._active_name,
            usage_by_agent=self._usage_by_agent,
            usage=self.usage,
            turns=self.turns,
            run=self.run_number + 1,
            failed_exchanges=tuple(self._failed),
        )

    def close(self) -> None:
        """Mark the conversation done: no more messages."""
        self._phase = "done"

    def result(self, stop_reason: StopReason) -> AgentResult:
        """The conversation so far, with the last answer (its text, or its value with an output type) as the output."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        output: Any = last.text if last else ""
        if self.active.output_schema is not None:
            if self._output is not None and self._output[0] == len(self.messages):
                output = self._output[1]
            else:  # e.g. the end of a chat that continued as new since its last answer
                try:
                    output = check_output(self.active.output_schema, output, self.active.output_type)
                except OutputInvalid:
                    output = None
        return AgentResult(
            output=output,
            messages=tuple(self.messages),
            usage=self.usage,
            turns=self.turns,
            stop_reason=stop_reason,
            model=self._answered_by,
            agent=self.active.name,
            usage_by_agent=self._usage_by_agent,
        )

    @property
    def status(self) -> AgentStatus:
        """What the session is doing now."""
        state = "waiting_for_approval" if self._pending else self._phase
        return AgentStatus(
            state=state,
            pending_approvals=tuple(self._pending.values()),
            turns=self.turns,
            usage=self.usage,
            run=self.run_number,
            failed_exchanges=tuple(self._failed),
            agent=self.active.name,
            model=self.active.model,
            usage_by_agent=self._usage_by_agent,
        )

    def switch_model(self, model: str) -> str:
        """Have the agent answering now call `model` from its next model call on; returns the model it replaces.

        The history is projected for the new model's vendor at each call, as after a handoff.
        """
        active = self.active
        self.agent = with_model(self.agent, active.name, model)
        return active.model

    def page(self, offset: int = 0, limit: int = 100) -> HistoryPage:
        """Messages from `offset`: at most `limit`, and about `PAGE_BYTES` of JSON (at least one).

        Empty (with the right `total`) in the moment a resumed run is still loading its snapshot.
        """
        if not self._restored and self._snapshot is not None:
            return HistoryPage(offset=offset, total=self._snapshot.count + len(self.messages), messages=())
        messages, size = [], 0
        for message in self.messages[offset : offset + max(limit, 1)]:
            size += len(message.model_dump_json())
            if messages and size > PAGE_BYTES:
                break
            messages.append(message)
        return HistoryPage(offset=offset, total=len(self.messages), messages=tuple(messages))

    def approve(self, call_id: str, approved: bool, reason: str | None = None) -> None:
        """Let a call waiting for approval run (`approved`), or answer it with a rejection."""
        self.check_pending(call_id, approved, reason)
        self._decisions[call_id] = (approved, reason)

    def check_pending(self, call_id: str, approved: bool = True, reason: str | None = None) -> None:
        """Raise unless `call_id` waits for approval (an update validator: rejections stay out of history)."""
        if call_id not in self._pending or call_id in self._decisions:
            waiting = ", ".join(self._pending) or "none"
            raise ValueError(f"no tool call {call_id!r} is waiting for approval (waiting: {waiting})")

    def _transcript(self, offset: int) -> TranscriptPage:
        # Earlier runs' messages stay out of the query: the model activity reads them from the snapshot.
        snapshot = self._snapshot if self._snapshot is not None and offset < self._snapshot.count else None
        page = self.page(snapshot.count if snapshot else offset, limit=len(self.messages))
        return TranscriptPage(agent=self.agent, snapshot=snapshot, **dict(page))

    def _turn(self, model: str | None = None) -> ModelTurn:
        """The reference activities read the transcript by: its query (in this run) and the message count."""
        left_out = tuple((failed.start, failed.end) for failed in self._failed)
        return ModelTurn(
            query=self._query,
            version=len(self.messages),
            left_out=left_out,
            model=model,
            agent=self._active_name,
            publish_deltas=self._events is not None,
        )

    def _emit(self, event: Event) -> None:
        if self._events is not None:
            self._events(event)

    def _idle(self, stop_reason: StopReason) -> AgentResult:
        self._phase = "waiting_for_input"
        return self.result(stop_reason)

    async def _call_model(self) -> ModelResponse:
        """The model's answer: from the agent's model, or the next fallback model when one fails past its retries."""
        self._phase = "thinking"
        fallbacks = iter(self.active.fallback_models)
        model: str | None = None  # None: the agent's own model
        while True:
            try:
                turn = self._turn(model)
                response = await workflow.execute_activity(
                    MODEL_ACTIVITY,
                    turn,
                    result_type=ModelResponse,
                    start_to_close_timeout=self.active.model_timeout,
                    heartbeat_timeout=MODEL_HEARTBEAT_TIMEOUT,
                    retry_policy=self.active.model_retry.to_temporal(),
                    summary=f"fallback model {model}" if model else None,
                )
                break
            except ActivityError as err:
                if err.retry_state not in _RETRIES_SPENT or (next_model := next(fallbacks, None)) is None:
                    raise
                workflow.logger.warning(
                    "%s failed past its retries (%s); trying %s", model or self.active.model, err.cause, next_model
                )
                model = next_model
        self._answered_by = model or self.active.model
        message = response.message
        if self.agent.handoffs:  # in a team, each answer says which agent wrote it
            message = message.model_copy(update={"agent": self.active.name})
        self.messages.append(message)
        name = self.active.name
        self._usage_by_agent[name] = self._usage_by_agent.get(name, Usage()) + response.usage
        self.usage += response.usage
        self.turns += 1
        # Followers finish the answer they watched being written with what was recorded.
        call = call_name(turn.version, turn.model)
        self._emit(AnswerWritten(call=call, agent=name, streams=answer_streams(response.message)))
        return response

    async def _run_tools(self, calls: Sequence[ToolCallPart]) -> tuple[ToolResultPart, ...]:
        """Run the calls in parallel; results pair with calls by position, whatever ids the model gave."""
        self._phase = "running_tools"
        positional = workflow.patched(_POSITIONAL_CALLS_PATCH)
        keys = (
            _approval_keys(calls, self.turns)
            if positional
            else [c.id or f"{self.turns}.{i}" for i, c in enumerate(calls)]
        )
        runs = (
            self._run_tool(call, key, positional, position)
            for position, (call, key) in enumerate(zip(calls, keys, strict=True))
        )
        return tuple(await asyncio.gather(*runs))

    async def _run_tool(self, call: ToolCallPart, key: str, positional: bool, position: int) -> ToolResultPart:
        if call.name not in self.active.tool_names:
            available = ", ".join(self.active.tool_names) or "none"
            return error_result(call, f"there is no tool named {_quoted(call.name)}; available tools: {available}")
        options = self.active.options_for(call.name)
        if options.requires_approval:
            approved, reason = await self._approval(call, key)
            if not approved:
                return error_result(call, "the user rejected this call" + (f": {reason}" if reason else ""))
        self._emit(ToolCallStarted(call_id=key, name=call.name, arguments_raw=call.arguments_raw))
        started = workflow.now()
        if (agent_tool := self.active.agent_tool(call.name)) is not None:
            result = await self._run_agent_tool(agent_tool, call, position)
        else:
            result = await self._tool_activity(call, key, positional, options)
        duration_ms = int((workflow.now() - started).total_seconds() * 1000)
        error = (result.text or "failed") if result.is_error else None
        self._emit(ToolCallFinished(call_id=key, name=call.name, duration_ms=duration_ms, error=error))
        return result

    async def _tool_activity(
        self, call: ToolCallPart, key: str, positional: bool, options: ToolOptions
    ) -> ToolResultPart:
        # The activity needs only what the model wrote (the parsed copy is in the history already),
        # and the agent's name for the tool's `ToolContext` (an MCP tool: how to reach its server).
        written = ToolCallPart(id=call.id, name=call.name, arguments_raw=call.arguments_raw)
        server = mcp_server_of(self.active, call.name)
        try:
            return await workflow.execute_activity(
                CALL_TOOL_ACTIVITY if server else call.name,
                args=[written, server.connection, server.spec(call.name)] if server else [written, self.active.name],
                # Without an id, Temporal numbers the activity itself: unique, whatever the model wrote.
                activity_id=None if positional else f"tool-{self.turns}-{key}",
                summary=f"tool {call.name}" if positional else None,
                result_type=ToolResultPart,
                start_to_close_timeout=options.timeout,
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=options.retry_policy(),
            )
        except ActivityError as err:
            if not options.idempotent and isinstance(err.cause, TimeoutError):
                return error_result(
                    call,
                    f"the outcome of {call.name} is unknown: it may or may not have run to the end (the worker "
                    "running it was lost or it timed out), and it is not run twice; do not assume it succeeded or "
                    "failed, check before calling it again",
                )
            return error_result(call, f"{call.name} did not complete: {err.cause or err}")

    async def _run_agent_tool(self, tool: AgentTool, call: ToolCallPart, position: int) -> ToolResultPart:
        session = self._query.removeprefix(TRANSCRIPT_QUERY)  # "" for the first session of a workflow, ".2"...
        child_id = f"{workflow.info().workflow_id}/agent-tool{session}-{self.turns}.{position}"
        try:
            result, child = await run_agent_tool(tool, call, child_id)
        except ValueError as err:
            return error_result(call, str(err))
        except ChildWorkflowError as err:
            return failed_result(tool, call, err)
        for name, usage in (child.usage_by_agent or {tool.agent.name: child.usage}).items():
            self._usage_by_agent[name] = self._usage_by_agent.get(name, Usage()) + usage
        self.usage += child.usage
        return result

    async def _approval(self, call: ToolCallPart, key: str) -> tuple[bool, str | None]:
        self._pending[key] = PendingApproval(
            call_id=key, name=call.name, arguments_raw=call.arguments_raw, tool_call_id=call.id
        )
        self._emit(ApprovalRequested(call_id=key, name=call.name, arguments_raw=call.arguments_raw))
        await workflow.wait_condition(lambda: key in self._decisions)
        del self._pending[key]
        return self._decisions.pop(key)


async def run_agent(
    agent: Agent, input: UserContent, *, messages: Sequence[Message] = (), checkpoint: Checkpoint | None = None
) -> AgentResult:
    """Run `agent` on `input` (text, or a list of `TextPart`/`MediaPart`) from inside your own workflow,
    after the earlier `messages` if any.

    `checkpoint` (from `checkpoint_conversation`, carried through your workflow's continue-as-new)
    holds the conversation before `messages`; its messages are read back from the blob store.
    The result's `usage` and `turns` are this call's (a checkpoint from `checkpoint_conversation`
    carries none).
    The worker needs `DurableLLMPlugin`. A tool needing approval waits for the workflow's
    `approve_tool_call(call_id, approved, reason)` update, which this registers unless the workflow
    defines its own.
    """
    session = AgentSession(agent, messages, checkpoint=checkpoint)
    if any(member.options_for(name).requires_approval for member in team(agent) for name in member.tool_names):
        _take_approvals(session)
    try:
        await session.restore()
        return await session.run(input)
    finally:
        session.close()


async def checkpoint_conversation(
    agent: Agent, messages: Sequence[Message], *, previous: Checkpoint | None = None
) -> Checkpoint:
    """Store a conversation (e.g. `run_agent(...).messages`) for your workflow's continue-as-new.

    Carry the `Checkpoint` (a few references, whatever the conversation's length) to the next run
    and give it to `run_agent(..., checkpoint=...)` there. `previous`, the checkpoint this run
    started from, spares storing again what it holds: `messages` must begin with its messages, as
    `run_agent(..., checkpoint=previous).messages` do. Raises `ValueError` when they cannot (fewer
    messages than it holds) and `ActivityError` if the conversation could not be stored.
    """
    if previous is not None and len(messages) < previous.transcript.count:
        raise ValueError(
            f"the previous checkpoint holds {previous.transcript.count} messages but only {len(messages)} were "
            "given: pass the whole conversation (run_agent(...).messages), which begins with them"
        )
    session = AgentSession(agent, messages, stored=previous.transcript if previous else None)
    session.run_number = previous.run if previous else 1
    try:
        return await session.checkpoint()
    finally:
        session.close()


def _take_approvals(session: AgentSession) -> None:
    """Route the workflow's `approve_tool_call` update to `session` (if the workflow does not route it)."""
    current = workflow.get_update_handler(APPROVE_UPDATE)
    owner = getattr(current, "__self__", None)
    if current is not None and not isinstance(owner, AgentSession):
        return
    if isinstance(owner, AgentSession) and owner.status.state != "done":
        raise RuntimeError("another run_agent in this workflow is taking tool approvals; run them one at a time")
    workflow.set_update_handler(APPROVE_UPDATE, session.approve, validator=session.check_pending)


def _last_author(messages: Sequence[Message]) -> str | None:
    """The agent that wrote the last assistant message, if it recorded one."""
    return next((m.agent for m in reversed(messages) if m.role == "assistant"), None)


def _first_handoff(agent: Agent, calls: Sequence[ToolCallPart]) -> tuple[int, Agent] | None:
    """The position of the first call to one of `agent`'s transfer tools, and the agent it hands over to."""
    for position, call in enumerate(calls):
        if (target := handoff_target(agent, call.name)) is not None:
            return position, target
    return None


def _approval_keys(calls: Sequence[ToolCallPart], turn: int) -> list[str]:
    """The key `approve_tool_call` names each call by: the model's id if plain and unique, else "<turn>.<position>"."""
    keys = [c.id if c.id and _KEY_PATTERN.fullmatch(c.id) else f"{turn}.{i}" for i, c in enumerate(calls)]
    if len(set(keys)) < len(keys):
        keys = [f"{turn}.{i}" for i in range(len(calls))]
    return keys


def _quoted(name: str) -> str:
    """A model-chosen name as quoted in an error for the model: repr, cut short if long."""
    quoted = repr(name)
    return quoted if len(quoted) <= _QUOTED_LIMIT else f"{quoted[:_QUOTED_LIMIT]}... ({len(name):,} characters)"


def _register_transcript_query(handler: Callable[[int], TranscriptPage]) -> str:
    """Register `handler` under the first free transcript query name (deterministic: in call order)."""
    name, number = TRANSCRIPT_QUERY, 1
    while workflow.get_query_handler(name) is not None:
        number += 1
        name = f"{TRANSCRIPT_QUERY}.{number}"
    workflow.set_query_handler(name, handler)
    return name
