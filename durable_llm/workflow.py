"""`AgentWorkflow`: an agent conversation as a durable Temporal workflow (deterministic code only)."""

from __future__ import annotations

import asyncio
import dataclasses

from pydantic import TypeAdapter
from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamState
from temporalio.exceptions import ActivityError, ApplicationError

from durable_llm.agent import AgentInput, AgentResult, AgentStatus, HistoryPage
from durable_llm.conversation import MediaPart, TextPart
from durable_llm.events import EVENTS_TOPIC, ConversationEnded, Event, TurnFinished, event_payload
from durable_llm.handoffs import with_model
from durable_llm.loop import AgentSession
from durable_llm.providers.base import split_model

AGENT_WORKFLOW = "durable_llm.AgentWorkflow"
"""The workflow type of `AgentWorkflow`."""

CONTINUING_AS_NEW = "ContinuingAsNew"
"""The error type of a `send_message` refused while the chat moves to a new run (details: the run id); send again."""

EVENTS_CARRIED = 200
"""How many of its last events a chat's stream carries to the next run (for followers a little behind)."""

EVENTS_CARRIED_BYTES = 64_000
"""At most about this many bytes of them (the next run's input is in its history; answers can be long)."""

_SUMMARY_MEMO_PATCH = "durable_llm.summary_memo"
"""Chats started before the memo kept their agent, turns and tokens replay without upserting it."""

_CONTINUE_AS_NEW_PATCH = "durable_llm.continue_as_new"
"""Chats started before automatic continue-as-new replay as they ran: past the suggestion, they kept going."""


@workflow.defn(name=AGENT_WORKFLOW)
class AgentWorkflow:
    """Runs an agent on a first message and returns its `AgentResult`.

    Started with an `AgentInput`. In a chat (`chat=True`, or no first message) the conversation
    stays open: each `send_message` update runs one more exchange and returns the reply, until
    the `end_conversation` signal. Queries: `status` (what it is doing, the calls waiting for
    approval) and `history` (paged).

    A chat continues as new (same workflow id, a new run) when Temporal suggests it, between two
    exchanges: the transcript goes to the blob store (only what earlier runs did not store) and the
    next run starts from a `Checkpoint`. A `send_message` arriving meanwhile is refused with
    `CONTINUING_AS_NEW`; `durable_llm.send_message` sends it again.

    It hosts a workflow stream of `durable_llm.events` (read them with `durable_llm.follow`), in
    memory, carried on across continue-as-new with its offset and its last few events.
    """

    @workflow.init
    def __init__(self, input: AgentInput) -> None:
        prior = TypeAdapter(WorkflowStreamState).validate_python(input.stream) if input.stream else None
        self._stream = WorkflowStream(prior)
        self._events = self._stream.topic(EVENTS_TOPIC)
        self._session = AgentSession(input.agent, checkpoint=input.checkpoint, events=self._publish)
        self._agent = input.agent  # as given (its MCP servers unlisted), with any model switched: for the next run
        self._exchanges = 0  # send_message updates in progress (the stream's polls are handlers too)
        self._chat = input.chat or input.message is None
        self._one_at_a_time = asyncio.Lock()
        # Updates delivered with the start are handled before `run` begins: they wait for it to take the lock.
        self._starting = input.message is not None or input.checkpoint is not None
        self._ended = False
        self._draining = False
        self._failed_at_turn = -1

    @workflow.run
    async def run(self, input: AgentInput) -> AgentResult:
        """Answer the first message, then (in a chat) `send_message` updates until `end_conversation`."""
        if self._starting:
            async with self._one_at_a_time:
                self._starting = False
                await self._session.restore()
                if input.message is not None:
                    result = await self._session.run(input.message)
                    if not self._chat:
                        self._session.close()
                        await self._close_stream()
                        return result
        while not self._ended:
            await workflow.wait_condition(lambda: self._ended or self._continue_as_new_suggested())
            if self._ended or not workflow.patched(_CONTINUE_AS_NEW_PATCH):
                break
            await self._continue_as_new(input)
        await workflow.wait_condition(lambda: self._ended and self._exchanges == 0)
        self._session.close()
        await self._close_stream()
        return self._session.result("ended")

    def _publish(self, event: Event) -> None:
        self._events.publish(event_payload(event))
        if isinstance(event, TurnFinished) and workflow.patched(_SUMMARY_MEMO_PATCH):
            # What `durable-llm list` shows without asking a worker (one small history event per exchange).
            agent = self._session.active
            tokens = event.usage.input_tokens + event.usage.output_tokens
            summary = {"agent": agent.name, "model": agent.model, "turns": event.turns, "tokens": tokens}
            workflow.upsert_memo({**summary, "updated": workflow.now().isoformat()})

    async def _close_stream(self) -> None:
        """Tell followers the conversation is over, release their polls and wait for the handlers."""
        self._publish(ConversationEnded())
        self._stream.detach_pollers()
        await workflow.wait_condition(workflow.all_handlers_finished)

    def _continue_as_new_suggested(self) -> bool:
        # After a failed try, the next one waits for another model call.
        return workflow.info().is_continue_as_new_suggested() and self._session.turns > self._failed_at_turn

    async def _continue_as_new(self, input: AgentInput) -> None:
        """Let the exchanges in progress finish, refusing new ones, then carry on in a new run.

        If the transcript cannot be stored (the blob store is down, or there is none and the
        transcript is over the payload limit), the chat goes on in this run and tries again later.
        """
        # New messages are refused first: waiting for the handlers while admitting more may never end.
        self._draining = True
        await workflow.wait_condition(lambda: self._exchanges == 0)
        if self._ended:
            return
        try:
            checkpoint = await self._session.checkpoint()
        except ActivityError as err:
            workflow.logger.warning("not continuing as new: the transcript could not be stored (%s)", err.cause or err)
            self._draining, self._failed_at_turn = False, self._session.turns
            return
        if self._ended:
            return
        # The last events go along, for followers still reading them; the older ones stay behind.
        self._stream.truncate(_carried_from(self._stream.get_state()))
        self._stream.detach_pollers()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._ended:  # it ends here; its followers' polls are released already
            return
        # No model call is in flight: no publisher's dedup state is worth carrying.
        stream = dataclasses.replace(self._stream.get_state(), publishers={})
        carried = TypeAdapter(WorkflowStreamState).dump_python(stream, mode="json")
        workflow.continue_as_new(AgentInput(agent=self._agent, chat=True, checkpoint=checkpoint, stream=carried))

    @workflow.update
    async def send_message(self, text: str | tuple[TextPart | MediaPart, ...]) -> str:
        """Send the next user message (text, or parts with images and documents); returns the agent's reply."""
        self._exchanges += 1
        try:
            await workflow.wait_condition(lambda: not self._starting)
            async with self._one_at_a_time:
                result = await self._session.run(text)
        finally:
            self._exchanges -= 1
        return result.text

    @send_message.validator
    def _accept_message(self, text: str | tuple[TextPart | MediaPart, ...]) -> None:
        if not self._chat:
            raise ValueError("this conversation takes one message; start it with chat=True to send more")
        if self._ended:
            raise ValueError("the conversation has ended")
        if self._draining:
            raise ApplicationError(
                "the conversation is continuing as new; send again", workflow.info().run_id, type=CONTINUING_AS_NEW
            )
        self._session.check_content(text)

    @workflow.update
    def approve_tool_call(self, call_id: str, approved: bool, reason: str | None = None) -> None:
        """Let a tool call waiting for approval run, or reject it (the model is told, with `reason`)."""
        self._session.approve(call_id, approved, reason)

    @approve_tool_call.validator
    def _check_approval(self, call_id: str, approved: bool, reason: str | None = None) -> None:
        self._session.check_pending(call_id)

    @workflow.update
    async def switch_model(self, model: str) -> str:
        """Have the agent answering now call `model` ("provider:model") from its next model call on.

        Returns the model it replaces. Like a handoff, the history is projected for the new
        model's vendor; the switch holds for the rest of the conversation, across continue-as-new.
        """
        await workflow.wait_condition(lambda: not self._starting)
        name = self._session.active.name
        previous = self._session.switch_model(model)
        self._agent = with_model(self._agent, name, model)
        workflow.upsert_memo({"model": model})
        return previous

    @switch_model.validator
    def _check_model(self, model: str) -> None:
        split_model(model)  # a malformed model string is refused, never recorded
        if self._ended:
            raise ValueError("the conversation has ended")
        if self._draining:
            raise ApplicationError(
                "the conversation is continuing as new; send again", workflow.info().run_id, type=CONTINUING_AS_NEW
            )

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


def _carried_from(state: WorkflowStreamState) -> int:
    """The offset of the first event carried to the next run: the last ones, within both limits."""
    kept = size = 0
    for item in reversed(state.log[-EVENTS_CARRIED:]):
        size += len(item.data)
        if size > EVENTS_CARRIED_BYTES:
            break
        kept += 1
    return state.base_offset + len(state.log) - kept
