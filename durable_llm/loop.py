"""The agent loop (call the model, run the tools it asks for, repeat): deterministic workflow code.

`AgentWorkflow` and `run_agent` (inside a user's own workflow) both drive an `AgentSession`, so
there is one loop. The session holds the transcript; each message in it arrived in exactly one
history event (workflow input, update argument, model or tool activity result), and replay
rebuilds it from those. The model activity reads it back through the transcript query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from temporalio import workflow
from temporalio.exceptions import ActivityError

from durable_llm.activities import MODEL_ACTIVITY, MODEL_HEARTBEAT_TIMEOUT, ModelTurn, TranscriptPage, error_result
from durable_llm.agent import (
    Agent,
    AgentResult,
    AgentState,
    AgentStatus,
    HistoryPage,
    PendingApproval,
    StopReason,
)
from durable_llm.conversation import Message, ModelResponse, TextPart, ToolCallPart, ToolResultPart, Usage

TRANSCRIPT_QUERY = "durable_llm.transcript"
"""The query the model activity reads the transcript with; a second session in one workflow gets ".2"."""

APPROVE_UPDATE = "approve_tool_call"
"""The update that approves or rejects a tool call waiting for approval."""

PAGE_BYTES = 1 << 20
"""A query page stops after about this much JSON (at least one message): gRPC caps messages at ~4 MB."""


class AgentSession:
    """One conversation between a user and an agent, run inside a workflow."""

    def __init__(self, agent: Agent, messages: Sequence[Message] = ()) -> None:
        self.agent = agent
        self.messages: list[Message] = list(messages)
        self.usage = Usage()
        self.turns = 0
        self._phase: AgentState = "waiting_for_input"
        self._pending: dict[str, PendingApproval] = {}
        self._decisions: dict[str, tuple[bool, str | None]] = {}
        self._query = _register_transcript_query(self._transcript)

    async def run(self, text: str) -> AgentResult:
        """Add the user's message and loop until the model answers without tools, or `max_turns`."""
        self.messages.append(Message(role="user", parts=(TextPart(text=text),)))
        for turn in range(1, self.agent.max_turns + 1):
            response = await self._call_model()
            calls = response.message.tool_calls
            if not calls:
                return self._idle("completed")
            if turn == self.agent.max_turns:
                # Answer every call so the transcript stays valid for the next message, but run none:
                # the model would never see what they did.
                note = f"not run: the agent reached its limit of {self.agent.max_turns} model calls"
                results = tuple(error_result(call, note) for call in calls)
            else:
                results = await self._run_tools(calls)
            self.messages.append(Message(role="tool", parts=results))
        return self._idle("max_turns")

    def close(self) -> None:
        """Mark the conversation done: no more messages."""
        self._phase = "done"

    def result(self, stop_reason: StopReason) -> AgentResult:
        """The conversation so far, with the last assistant text as the output."""
        last = next((m for m in reversed(self.messages) if m.role == "assistant"), None)
        return AgentResult(
            output=last.text if last else "",
            messages=tuple(self.messages),
            usage=self.usage,
            turns=self.turns,
            stop_reason=stop_reason,
        )

    @property
    def status(self) -> AgentStatus:
        """What the session is doing now."""
        state = "waiting_for_approval" if self._pending else self._phase
        return AgentStatus(
            state=state, pending_approvals=tuple(self._pending.values()), turns=self.turns, usage=self.usage
        )

    def page(self, offset: int = 0, limit: int = 100) -> HistoryPage:
        """Messages from `offset`: at most `limit`, and about `PAGE_BYTES` of JSON (at least one)."""
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
        page = self.page(offset, limit=len(self.messages))
        return TranscriptPage(agent=self.agent, **dict(page))

    def _idle(self, stop_reason: StopReason) -> AgentResult:
        self._phase = "waiting_for_input"
        return self.result(stop_reason)

    async def _call_model(self) -> ModelResponse:
        self._phase = "thinking"
        info = workflow.info()
        turn = ModelTurn(
            workflow_id=info.workflow_id, run_id=info.run_id, query=self._query, version=len(self.messages)
        )
        response = await workflow.execute_activity(
            MODEL_ACTIVITY,
            turn,
            result_type=ModelResponse,
            start_to_close_timeout=self.agent.model_timeout,
            heartbeat_timeout=MODEL_HEARTBEAT_TIMEOUT,
            retry_policy=self.agent.model_retry.to_temporal(),
        )
        self.messages.append(response.message)
        self.usage += response.usage
        self.turns += 1
        return response

    async def _run_tools(self, calls: Sequence[ToolCallPart]) -> tuple[ToolResultPart, ...]:
        self._phase = "running_tools"
        runs = (self._run_tool(call, call.id or f"{self.turns}.{index}") for index, call in enumerate(calls))
        return tuple(await asyncio.gather(*runs))

    async def _run_tool(self, call: ToolCallPart, key: str) -> ToolResultPart:
        if call.name not in self.agent.tool_names:
            available = ", ".join(self.agent.tool_names) or "none"
            return error_result(call, f"there is no tool named {call.name!r}; available tools: {available}")
        options = self.agent.options_for(call.name)
        if options.requires_approval:
            approved, reason = await self._approval(call, key)
            if not approved:
                return error_result(call, "the user rejected this call" + (f": {reason}" if reason else ""))
        try:
            return await workflow.execute_activity(
                call.name,
                # The activity needs only what the model wrote; the parsed copy is in the history already.
                ToolCallPart(id=call.id, name=call.name, arguments_raw=call.arguments_raw),
                activity_id=f"tool-{self.turns}-{key}",
                result_type=ToolResultPart,
                start_to_close_timeout=options.timeout,
                heartbeat_timeout=options.heartbeat_timeout,
                retry_policy=options.retry.to_temporal(),
            )
        except ActivityError as err:
            return error_result(call, f"{call.name} did not complete: {err.cause or err}")

    async def _approval(self, call: ToolCallPart, key: str) -> tuple[bool, str | None]:
        self._pending[key] = PendingApproval(call_id=key, name=call.name, arguments_raw=call.arguments_raw)
        await workflow.wait_condition(lambda: key in self._decisions)
        del self._pending[key]
        return self._decisions.pop(key)


async def run_agent(agent: Agent, input: str, *, messages: Sequence[Message] = ()) -> AgentResult:
    """Run `agent` on `input` from inside your own workflow, after the earlier `messages` if any.

    The worker needs `DurableLLMPlugin`. A tool needing approval waits for the workflow's
    `approve_tool_call(call_id, approved, reason)` update, which this registers unless the workflow
    defines its own.
    """
    session = AgentSession(agent, messages)
    if any(agent.options_for(name).requires_approval for name in agent.tool_names):
        _take_approvals(session)
    try:
        return await session.run(input)
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


def _register_transcript_query(handler: Callable[[int], TranscriptPage]) -> str:
    """Register `handler` under the first free transcript query name (deterministic: in call order)."""
    name, number = TRANSCRIPT_QUERY, 1
    while workflow.get_query_handler(name) is not None:
        number += 1
        name = f"{TRANSCRIPT_QUERY}.{number}"
    workflow.set_query_handler(name, handler)
    return name
