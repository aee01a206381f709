"""A team across vendors, end to end on the dev server: a triage agent on Gemini hands off to a
Claude specialist, which asks an OpenAI agent (run as a tool, a child workflow) and answers with a
typed `Refund`."""

from __future__ import annotations

import json

import pytest
from agent_kit import agent_worker, new_id
from pydantic import BaseModel
from sdk_validation import validate_request
from temporalio.worker import Replayer

from durable_llm import Agent, AgentInput, AgentResult, DurableLLMPlugin, Usage
from durable_llm.conversation import ModelRequest
from durable_llm.testing import FakeVendorServer, call_tools, reply
from durable_llm.workflow import AGENT_WORKFLOW


class Refund(BaseModel):
    order_id: str
    amount: float
    reason: str


def team() -> Agent:
    policy = Agent(
        name="policy",
        model="openai:gpt-5-mini",
        instructions="Say how much of the price the refund policy allows.",
    )
    refunds = Agent(
        name="refunds",
        model="anthropic:claude-sonnet-4-5",
        description="Decides refunds.",
        instructions="Decide the refund; ask the policy agent how much is allowed.",
        tools=[policy.as_tool(name="ask_policy", description="Ask the refund policy agent a question.")],
        output_type=Refund,
    )
    return Agent(name="triage", model="gemini:gemini-2.5-flash", instructions="Route.", handoffs=[refunds])


def claude_script(request: ModelRequest):
    if request.messages[-1].role != "tool" or request.messages[-1].parts[0].name != "ask_policy":
        return call_tools(
            ("ask_policy", {"input": "Broken on arrival, price 80: how much?"}),
            usage=Usage(input_tokens=50, output_tokens=7),
        )
    allowed = request.messages[-1].parts[0].content[0].text
    amount = float(allowed.split()[-1])
    answer = {"order_id": "A17", "amount": amount, "reason": "arrived broken"}
    return reply(json.dumps(answer), usage=Usage(input_tokens=80, output_tokens=20))


@pytest.fixture
def vendors(monkeypatch):
    servers = {
        "gemini": FakeVendorServer(
            "gemini", responses=[call_tools(("transfer_to_refunds", {}), usage=Usage(input_tokens=10, output_tokens=3))]
        ).start(),
        "anthropic": FakeVendorServer("anthropic", responses=claude_script).start(),
        "openai": FakeVendorServer(
            "openai", responses=[reply("Full refund allowed: 80", usage=Usage(input_tokens=20, output_tokens=5))]
        ).start(),
    }
    for server in servers.values():
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
    yield servers
    for server in servers.values():
        server.close()


async def test_gemini_triage_hands_off_to_claude_which_asks_an_openai_agent_and_returns_a_refund(temporal_env, vendors):
    conversation = new_id()
    async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
        result = await client.execute_workflow(
            AGENT_WORKFLOW,
            AgentInput(agent=team(), message="Order A17 arrived broken, I paid 80."),
            id=conversation,
            task_queue=queue,
            result_type=AgentResult[Refund],
        )
        child = client.get_workflow_handle(f"{conversation}/agent-tool-2.0", result_type=AgentResult)
        child_result = await child.result()
        histories = [await client.get_workflow_handle(i).fetch_history() for i in (conversation, child.id)]

    # Parent and child replay: the handoff and the child workflow are scheduled deterministically.
    for history in histories:
        await Replayer(workflows=[], plugins=[DurableLLMPlugin()]).replay_workflow(history)

    assert isinstance(result.output, Refund)
    assert result.output == Refund(order_id="A17", amount=80, reason="arrived broken")
    assert result.agent == "refunds"
    assert [(m.role, m.agent) for m in result.messages] == [
        ("user", None),
        ("assistant", "triage"),
        ("tool", None),
        ("assistant", "refunds"),
        ("tool", None),
        ("assistant", "refunds"),
    ]
    # The child agent kept its own history: its question and its answer.
    assert [m.text for m in child_result.messages] == [
        "Broken on arrival, price 80: how much?",
        "Full refund allowed: 80",
    ]
    assert result.usage_by_agent == {
        "triage": Usage(input_tokens=10, output_tokens=3),
        "refunds": Usage(input_tokens=130, output_tokens=27),
        "policy": Usage(input_tokens=20, output_tokens=5),
    }
    assert sum(result.usage_by_agent.values(), Usage()) == result.usage
    for server in vendors.values():
        assert server.raw_requests, server.provider
        for raw in server.raw_requests:
            validate_request(server.provider, {k: v for k, v in raw.body.items() if k != "stream"})
