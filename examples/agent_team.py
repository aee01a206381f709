"""A team of agents across vendors: handoffs, an agent as a tool, a typed answer.

    python examples/agent_team.py

A triage agent on Gemini hands the conversation to a refunds specialist on Claude
(`handoffs=[refunds]` gives it a `transfer_to_refunds` tool). The specialist asks a policy agent on
OpenAI, run as a tool (`policy.as_tool(...)`: a child workflow with its own history), and answers
with a typed `Refund`. All of it is one durable conversation: the history is projected for each
vendor, each answer records which agent wrote it, and the usage is split by agent.

Vendors with no API key in the environment are played by local fake servers, so this runs offline.
"""

from __future__ import annotations

import asyncio
import json
import uuid

from _offline import fake_vendors_without_keys
from pydantic import BaseModel
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentResult, DurableLLMPlugin
from durable_llm.cli.demo import result_text
from durable_llm.cli.server import connect
from durable_llm.config import load_settings
from durable_llm.conversation import ModelRequest, ModelResponse, ToolResultPart
from durable_llm.testing import call_tools, reply
from durable_llm.workflow import AGENT_WORKFLOW

TASK_QUEUE = "agent-team"


class Refund(BaseModel):
    """The refund the specialist decides on."""

    order_id: str
    amount: float
    reason: str


POLICY = Agent(
    name="policy",
    model="openai:gpt-5-mini",
    instructions="Say how much of the price the refund policy allows, ending with the amount.",
)
REFUNDS = Agent(
    name="refunds",
    model="anthropic:claude-sonnet-4-5",
    description="Decides refunds for damaged or late orders.",
    instructions="Decide the refund. Ask the policy agent how much is allowed first.",
    tools=[POLICY.as_tool(name="ask_policy", description="Ask the refund policy agent a question.")],
    output_type=Refund,
)
TRIAGE = Agent(
    name="triage",
    model="gemini:gemini-2.5-flash",
    instructions="Route the customer to the right specialist.",
    handoffs=[REFUNDS],
)


async def handle_complaint(client: Client, complaint: str) -> AgentResult[Refund]:
    return await client.execute_workflow(
        AGENT_WORKFLOW,  # by name, so the result can be read as the typed AgentResult[Refund]
        AgentInput(agent=TRIAGE, message=complaint),
        id=f"complaint-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
        result_type=AgentResult[Refund],
    )


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendors answer, by the instructions of the agent asking."""
    last = request.messages[-1]
    if request.instructions == TRIAGE.instructions:
        return call_tools(("transfer_to_refunds", {}))
    if request.instructions == POLICY.instructions:
        return reply("Goods broken on arrival are refunded in full: 80")
    if last.role == "tool" and isinstance(result := last.parts[0], ToolResultPart) and result.name == "ask_policy":
        allowed = float(result_text(result).split()[-1])
        return reply(json.dumps({"order_id": "A17", "amount": allowed, "reason": "arrived broken"}))
    return call_tools(("ask_policy", {"input": "Order A17 arrived broken; the customer paid 80. How much back?"}))


async def main() -> None:
    with fake_vendors_without_keys(["gemini", "anthropic", "openai"], scripted_model):
        async with (
            connect(load_settings(), plugins=[DurableLLMPlugin()]) as connection,
            Worker(connection.client, task_queue=TASK_QUEUE),
        ):
            result = await handle_complaint(connection.client, "My order A17 arrived broken. I paid 80.")
    for message in result.messages:
        calls = ", ".join(f"{call.name}({call.arguments_raw})" for call in message.tool_calls)
        answers = " | ".join(result_text(p) for p in message.parts if isinstance(p, ToolResultPart))
        print(f"  {message.role:9} {message.agent or '':8} {(message.text or calls or answers)[:90]}")
    print(f"refund: {result.output!r}")
    for agent, usage in result.usage_by_agent.items():
        print(f"  {agent:8} {usage.input_tokens} in / {usage.output_tokens} out")


if __name__ == "__main__":
    asyncio.run(main())
