"""Handoffs: a triage agent on Gemini hands the conversation to a Claude specialist, in the same
workflow; the specialist's model, instructions and output type apply from then on."""

from __future__ import annotations

import pytest
from agent_kit import agent_worker, new_id
from pydantic import BaseModel
from sdk_validation import validate_request
from temporalio import workflow
from temporalio.worker import Replayer

from durable_llm import (
    Agent,
    AgentInput,
    AgentResult,
    AgentWorkflow,
    Checkpoint,
    DurableLLMPlugin,
    Usage,
    follow,
    send_message,
)
from durable_llm.conversation import FrozenModel
from durable_llm.events import AgentSwitched
from durable_llm.loop import checkpoint_conversation, run_agent
from durable_llm.testing import call_tools, reply


class Refund(BaseModel):
    order_id: str
    amount: float


def refunds_agent() -> Agent:
    return Agent(
        name="refunds",
        model="anthropic:claude-sonnet-4-5",
        description="Decides refunds for damaged or late orders.",
        instructions="Decide the refund.",
        output_type=Refund,
    )


def triage_agent() -> Agent:
    return Agent(
        name="triage",
        model="gemini:gemini-2.5-flash",
        instructions="Route the customer to the right specialist.",
        handoffs=[refunds_agent()],
    )


async def test_triage_on_gemini_hands_off_to_a_claude_specialist_that_returns_a_refund(temporal_env, vendors):
    gemini = vendors("gemini", [call_tools(("transfer_to_refunds", {}), usage=Usage(input_tokens=10, output_tokens=2))])
    claude = vendors(
        "anthropic",
        [
            reply('{"order_id": "A17", "amount": 20}', usage=Usage(input_tokens=30, output_tokens=9)),
            reply('{"order_id": "A17", "amount": 25}', usage=Usage(input_tokens=40, output_tokens=9)),
        ],
    )
    async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=triage_agent(), message="My order A17 arrived broken.", chat=True),
            id=new_id(),
            task_queue=queue,
        )
        first = await send_message(handle, "Can you make it 25?")  # straight to the active agent
        status = await handle.query(AgentWorkflow.status)
        await handle.signal(AgentWorkflow.end_conversation)
        result = await handle.result()
        events = [event async for event in follow(client, handle.id)]

    assert first == '{"order_id": "A17", "amount": 25}'
    switches = [(e.from_agent, e.to_agent) for e in events if isinstance(e, AgentSwitched)]
    assert switches == [("triage", "refunds")]  # followers are told once, when the transfer happens
    assert status.agent == "refunds" and result.agent == "refunds"
    assert result.output_as(Refund) == Refund(order_id="A17", amount=25)
    assert [(m.role, m.agent) for m in result.messages] == [
        ("user", None),
        ("assistant", "triage"),
        ("tool", None),
        ("assistant", "refunds"),
        ("user", None),
        ("assistant", "refunds"),
    ]
    assert result.usage_by_agent == {
        "triage": Usage(input_tokens=10, output_tokens=2),
        "refunds": Usage(input_tokens=70, output_tokens=18),
    }
    assert sum(result.usage_by_agent.values(), Usage()) == result.usage
    # Gemini was offered the transfer tool; Claude got the specialist's instructions and schema, no transfer tool.
    assert [t.name for t in gemini.requests[0].tools] == ["transfer_to_refunds"]
    assert "Decides refunds" in (gemini.requests[0].tools[0].description or "")
    assert claude.requests[0].instructions == "Decide the refund."
    assert claude.requests[0].output_schema is not None and not claude.requests[0].tools
    assert claude.calls == 2 and gemini.calls == 1
    for server in (gemini, claude):
        for raw in server.raw_requests:
            validate_request(server.provider, {k: v for k, v in raw.body.items() if k != "stream"})


async def test_other_calls_of_the_transfer_turn_are_answered_not_run(temporal_env, vendors):
    vendors(
        "gemini",
        [call_tools(("lookup", {"order": "A17"}), ("transfer_to_refunds", {}), ("transfer_to_refunds", {}))],
    )
    vendors("anthropic", [reply('{"order_id": "A17", "amount": 20}')])
    async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=triage_agent(), message="Refund A17"), id=new_id(), task_queue=queue
        )
    tool_results = result.messages[2].parts
    assert [(p.is_error, p.content[0].text) for p in tool_results] == [
        (True, "not run: the conversation was handed to refunds"),
        (False, "transferred to refunds; refunds carries on the conversation"),
        (True, "not run: the conversation was handed to refunds"),
    ]


def test_a_team_names_each_agent_once():
    other = Agent(name="refunds", model="openai:gpt-5-mini")
    with pytest.raises(ValueError, match="two different agents in the team"):
        Agent(
            name="triage",
            model="openai:gpt-5-mini",
            handoffs=[refunds_agent(), Agent(name="x", model="test:echo", handoffs=[other])],
        )
    with pytest.raises(ValueError, match="at most 52 letters"):
        Agent(model="openai:gpt-5-mini", handoffs=[Agent(name="billing team", model="test:echo")])
    again = Agent.model_validate_json(triage_agent().model_dump_json())
    assert again == triage_agent() and again.handoffs[0].output_schema is not None


class Complaint(FrozenModel):
    messages: tuple[str, ...]
    checkpoint: Checkpoint | None = None


@workflow.defn
class HandleComplaint:
    """A user's workflow: one message a run, continuing as new in between; the team's active agent carries over."""

    @workflow.run
    async def run(self, complaint: Complaint) -> AgentResult:
        agent = triage_agent()
        result = await run_agent(agent, complaint.messages[0], checkpoint=complaint.checkpoint)
        if len(complaint.messages) == 1:
            return result
        checkpoint = await checkpoint_conversation(agent, result.messages, previous=complaint.checkpoint)
        workflow.continue_as_new(Complaint(messages=complaint.messages[1:], checkpoint=checkpoint))


async def test_the_agent_handed_to_answers_after_continue_as_new_and_the_runs_replay(temporal_env, vendors):
    gemini = vendors("gemini", [call_tools(("transfer_to_refunds", {}))])
    claude = vendors(
        "anthropic", [reply('{"order_id": "A17", "amount": 20}'), reply('{"order_id": "A17", "amount": 25}')]
    )
    plugin = DurableLLMPlugin()
    async with agent_worker(temporal_env, plugin, workflows=[HandleComplaint]) as (client, queue):
        handle = await client.start_workflow(
            HandleComplaint.run,
            Complaint(messages=("A17 arrived broken.", "Make it 25?")),
            id=new_id(),
            task_queue=queue,
        )
        result = await handle.result()
        runs = [
            await client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()
            async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'")
        ]

    assert result.output_as(Refund).amount == 25 and result.agent == "refunds"
    assert gemini.calls == 1 and claude.calls == 2  # the second run went straight to Claude
    assert [m.agent for m in result.messages if m.role == "assistant"] == ["triage", "refunds", "refunds"]
    assert len(runs) == 2
    for history in runs:
        await Replayer(workflows=[HandleComplaint], plugins=[plugin]).replay_workflow(history)
