"""`AgentWorkflow`: an agent conversation as a durable Temporal workflow (deterministic code only)."""

from __future__ import annotations

import asyncio

from temporalio import workflow

from durable_llm.agent import AgentInput, AgentResult, AgentStatus, HistoryPage
from durable_llm.loop import AgentSession


@workflow.defn(name="durable_llm.AgentWorkflow")
class AgentWorkflow:
    """Runs an agent on a first message and returns its `AgentResult`.

    Started with an `AgentInput`. In a chat (`chat=True`, or no first message) the conversation
    stays open: each `send_message` update runs one more exchange and returns the reply, until
    the `end_conversation` signal. Queries: `status` (what it is doing, the calls waiting for
    approval) and `history` (paged).
    """

    @workflow.init
    def __init__(self, input: AgentInput) -> None:
        self._session = AgentSession(input.agent)
        self._chat = input.chat or input.message is None
        self._one_at_a_time = asyncio.Lock()
        # Updates delivered with the start are handled before `run` begins; they queue after the first message.
        self._first_message_pending = input.message is not None
        self._ended = False

    @workflow.run
    async def run(self, input: AgentInput) -> AgentResult:
        """Answer the first message, then (in a chat) `send_message` updates until `end_conversation`."""
        if input.message is not None:
            async with self._one_at_a_time:
                self._first_message_pending = False
                result = await self._session.run(input.message)
            if not self._chat:
                self._session.close()
                return result
        await workflow.wait_condition(lambda: self._ended)
        await workflow.wait_condition(workflow.all_handlers_finished)
        self._session.close()
        return self._session.result("ended")

    @workflow.update
    async def send_message(self, text: str) -> str:
        """Send the next user message; returns the agent's reply."""
        await workflow.wait_condition(lambda: not self._first_message_pending)
        async with self._one_at_a_time:
            result = await self._session.run(text)
        return result.output

    @send_message.validator
    def _accept_message(self, text: str) -> None:
        if not self._chat:
            raise ValueError("this conversation takes one message; start it with chat=True to send more")
        if self._ended:
            raise ValueError("the conversation has ended")

    @workflow.update
    def approve_tool_call(self, call_id: str, approved: bool, reason: str | None = None) -> None:
        """Let a tool call waiting for approval run, or reject it (the model is told, with `reason`)."""
        self._session.approve(call_id, approved, reason)

    @approve_tool_call.validator
    def _check_approval(self, call_id: str, approved: bool, reason: str | None = None) -> None:
        self._session.check_pending(call_id)

    @workflow.signal
    def end_conversation(self) -> None:
        """End the chat once the exchanges in progress finish; the workflow then returns its result."""
        self._ended = True

    @workflow.query
    def status(self) -> AgentStatus:
        """What the agent is doing now, and the tool calls waiting for approval."""
        return self._session.status

    @workflow.query
    def history(self, offset: int = 0, limit: int = 100) -> HistoryPage:
        """The conversation's messages from `offset`, at most `limit` (and about 1 MB) of them."""
        return self._session.page(offset, limit)
