"""A tool that waits for a person's approval: approved from the CLI, or from any other Temporal client.

    python examples/human_in_the_loop.py             # waits; approve from another terminal with
                                                     #   durable-llm approve <conversation> <call id> [--reject]
    python examples/human_in_the_loop.py --approve   # approves from this script, as another client would

`issue_refund` is registered with `requires_approval`: when the model calls it, the workflow
pauses (durably: the worker may stop, the wait survives) until the `approve_tool_call` update
arrives. A rejection goes back to the model as the tool's error, with the reason.
Without an API key, a local fake vendor plays the model.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from _offline import fake_vendors_without_keys
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from durable_llm import AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin, ToolOptions
from durable_llm.agent import PendingApproval
from durable_llm.cli.demo import result_text
from durable_llm.cli.server import connect
from durable_llm.config import Settings, load_settings
from durable_llm.conversation import ModelRequest, ModelResponse, ToolResultPart
from durable_llm.testing import call_tools, reply

TASK_QUEUE = "support"
REQUEST = "Order 1234 arrived broken. Please refund the $30 I paid."


def issue_refund(order_id: str, amount: float) -> str:
    """Refund a customer's order.

    Args:
        order_id: The order to refund.
        amount: How much to refund, in US dollars.
    """
    return f"refunded ${amount:.2f} for order {order_id}"


async def start(client: Client, settings: Settings) -> WorkflowHandle[AgentWorkflow, AgentResult]:
    """Start the support agent on the customer's request."""
    agent = settings.agent(
        name="support",
        instructions="You are a support agent. Refund broken orders with issue_refund.",
        tools=[issue_refund],
        tool_options={"issue_refund": ToolOptions(requires_approval=True)},
    )
    return await client.start_workflow(
        AgentWorkflow.run,
        AgentInput(agent=agent, message=REQUEST),
        id=f"support-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )


async def wait_for_approval_request(handle: WorkflowHandle[AgentWorkflow, AgentResult]) -> PendingApproval:
    """Poll the workflow's `status` query until a tool call waits for approval."""
    while True:
        status = await handle.query(AgentWorkflow.status)
        if status.pending_approvals:
            return status.pending_approvals[0]
        await asyncio.sleep(0.2)


async def decide(client: Client, conversation: str, call_id: str, approved: bool, reason: str | None = None) -> None:
    """What any other client (a web app, a Slack bot, `durable-llm approve`) does to answer."""
    handle = client.get_workflow_handle(conversation)
    await handle.execute_update(AgentWorkflow.approve_tool_call, args=[call_id, approved, reason])


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendor answers: ask for the refund, then report how it went."""
    last = request.messages[-1]
    if last.role == "tool":
        result = next(p for p in last.parts if isinstance(p, ToolResultPart))
        if result.is_error:
            return reply(f"I could not refund the order: {result_text(result)}.")
        return reply(f"Done: {result_text(result)}. Sorry about the broken item!")
    return call_tools(("issue_refund", {"order_id": "1234", "amount": 30}))


async def main(approve_here: bool) -> None:
    settings = load_settings()
    with fake_vendors_without_keys([settings.provider], scripted_model):
        async with connect(settings, plugins=[DurableLLMPlugin(tools=[issue_refund])]) as connection:
            client = connection.client
            async with Worker(client, task_queue=TASK_QUEUE):
                handle = await start(client, settings)
                pending = await wait_for_approval_request(handle)
                print(f"The agent wants to run {pending.name}({pending.arguments_raw}).")
                if approve_here:
                    await decide(client, handle.id, pending.call_id, approved=True)
                    print("Approved from this script.")
                else:
                    print(f"Approve it from another terminal:\n  durable-llm approve {handle.id} {pending.call_id}")
                    print(f"or refuse it:\n  durable-llm approve {handle.id} {pending.call_id} --reject --reason '...'")
                result = await handle.result()
    print(f"\n{result.output}")


if __name__ == "__main__":
    asyncio.run(main(approve_here="--approve" in sys.argv[1:]))
