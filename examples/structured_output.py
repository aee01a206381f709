"""Typed answers: `Agent(output_type=Refund)` returns a `Refund`, checked, on any vendor.

    python examples/structured_output.py

Inside your own workflow (`run_agent`) the agent object holds the type: the answer is validated
with pydantic, an `@agent.output_validator` may refuse it with a message, and an answer that fails
goes back to the model with the errors (up to `output_retries` times). Here the scripted model first
forgets the amount, then asks for more than the policy allows, then gets it right.

Started from a client (`AgentWorkflow`), the agent travels as JSON with its schema only: the answer
is checked against the schema, and the client reads the result typed as `AgentResult[Refund]`.

Vendors with no API key in the environment are played by local fake servers, so this runs offline.
"""

from __future__ import annotations

import asyncio
import uuid

from pydantic import BaseModel, Field
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from _offline import fake_vendors_without_keys
    from temporalio.client import Client
    from temporalio.worker import Worker

    from durable_llm import Agent, AgentInput, AgentResult, DurableLLMPlugin, OutputRejected, run_agent
    from durable_llm.cli.server import connect
    from durable_llm.config import load_settings
    from durable_llm.conversation import ModelRequest, ModelResponse
    from durable_llm.testing import reply
    from durable_llm.workflow import AGENT_WORKFLOW

MODEL = "anthropic:claude-sonnet-4-5"
TASK_QUEUE = "structured-output"
REFUND_LIMIT = 50.0
INSTRUCTIONS = "Decide the refund for the customer's complaint."


class Refund(BaseModel):
    """The refund an agent decides on."""

    order_id: str
    amount: float = Field(ge=0)
    reason: str


@workflow.defn
class DecideRefund:
    """Your workflow: one typed decision by an agent, checked against your policy."""

    @workflow.run
    async def run(self, complaint: str) -> Refund:
        agent = Agent(model=MODEL, instructions=INSTRUCTIONS, output_type=Refund, output_retries=2)

        @agent.output_validator
        def within_policy(refund: Refund) -> Refund:
            if refund.amount > REFUND_LIMIT:
                raise OutputRejected(f"refunds above {REFUND_LIMIT} need a manager; offer at most {REFUND_LIMIT}")
            return refund

        result = await run_agent(agent, complaint)
        return result.output  # a Refund


async def decide_in_your_workflow(client: Client, complaint: str) -> Refund:
    return await client.execute_workflow(
        DecideRefund.run, complaint, id=f"refund-{uuid.uuid4().hex[:8]}", task_queue=TASK_QUEUE
    )


async def decide_from_a_client(client: Client, complaint: str) -> AgentResult[Refund]:
    agent = Agent(model=MODEL, instructions=INSTRUCTIONS, output_type=Refund)
    return await client.execute_workflow(
        AGENT_WORKFLOW,  # by name, so the result can be read as the typed AgentResult[Refund]
        AgentInput(agent=agent, message=complaint),
        id=f"refund-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
        result_type=AgentResult[Refund],
    )


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendor answers: a first answer without the amount, then too much, then a good one."""
    corrections = sum(1 for m in request.messages if m.role == "user" and m.text.startswith("Your answer was not"))
    if corrections == 0 and len(request.messages) == 1 and "A17" in request.messages[0].text:
        return reply('{"order_id": "A17", "reason": "arrived broken"}')
    if corrections == 1:
        return reply('{"order_id": "A17", "amount": 80, "reason": "arrived broken"}')
    return reply('{"order_id": "A17", "amount": 40, "reason": "arrived broken"}')


async def main() -> None:
    settings = load_settings()
    with fake_vendors_without_keys([MODEL.partition(":")[0]], scripted_model):
        async with connect(settings, plugins=[DurableLLMPlugin()]) as connection:
            client = connection.client
            async with Worker(client, task_queue=TASK_QUEUE, workflows=[DecideRefund]):
                refund = await decide_in_your_workflow(client, "Order A17 arrived broken; it cost 80.")
                print(f"in your workflow: {refund!r}")
                result = await decide_from_a_client(client, "Order B2 arrived late.")
                print(f"from a client:    {result.output!r} ({result.turns} model call)")


if __name__ == "__main__":
    asyncio.run(main())
