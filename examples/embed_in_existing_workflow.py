"""An agent as one step of a workflow you already have: order processing that asks an agent for the customer note.

    python examples/embed_in_existing_workflow.py

`ProcessOrder` is ordinary Temporal code: reserve stock (an activity), let an agent write the
customer's note (`run_agent`, whose model calls and tool calls are activities of this same
workflow), then send it (another activity). A crash anywhere resumes after the last completed
step; the agent's finished model calls are not paid for twice.

The model comes from the configuration on the client side and travels in the workflow input:
workflow code must not read the environment. Without an API key, a local fake vendor answers.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from _offline import fake_vendors_without_keys
    from temporalio.client import Client
    from temporalio.worker import Worker

    from durable_llm import Agent, DurableLLMPlugin, Usage, run_agent
    from durable_llm.cli.demo import result_text
    from durable_llm.cli.server import connect
    from durable_llm.config import load_settings
    from durable_llm.conversation import FrozenModel, ModelRequest, ModelResponse, ToolResultPart
    from durable_llm.testing import call_tools, reply

TASK_QUEUE = "orders"
STOCK = {"KB-101": 12, "KB-102": 0, "MS-200": 3}
"""Units on the shelf, by SKU: a stand-in for your inventory system."""
SKU = re.compile(r"\b[A-Z]{2}-\d{3}\b")


class Order(FrozenModel):
    order_id: str
    customer_email: str
    skus: tuple[str, ...]
    model: str
    """The note-writing agent's model, "provider:model", from the client's configuration."""


class OrderOutcome(FrozenModel):
    order_id: str
    backordered: tuple[str, ...]
    note: str
    usage: Usage


@activity.defn
async def reserve_stock(order: Order) -> list[str]:
    """Reserve what is on the shelf; returns the SKUs that are backordered."""
    return [sku for sku in order.skus if STOCK.get(sku, 0) == 0]


@activity.defn
async def send_email(to: str, body: str) -> None:
    """Send the note (here: print it)."""
    print(f"  email to {to}:\n    {body}")


def shipping_estimate(sku: str) -> str:
    """How many days until a product ships.

    Args:
        sku: The product's SKU, e.g. "KB-101".
    """
    return f"{sku} ships in {2 if STOCK.get(sku, 0) else 14} days"


@workflow.defn
class ProcessOrder:
    """Reserve stock, have an agent write the customer note, email it."""

    @workflow.run
    async def run(self, order: Order) -> OrderOutcome:
        backordered = await workflow.execute_activity(
            reserve_stock, order, start_to_close_timeout=timedelta(seconds=30)
        )
        writer = Agent(
            name="order-notes",
            model=order.model,
            instructions="Write short, friendly notes to customers. Check shipping times with the tool.",
            tools=("shipping_estimate",),  # registered with the worker's DurableLLMPlugin
        )
        result = await run_agent(
            writer,
            f"Order {order.order_id}: {', '.join(order.skus)}. Backordered: {', '.join(backordered) or 'none'}. "
            "Write the customer a two-sentence note about when it arrives.",
        )
        await workflow.execute_activity(
            send_email, args=[order.customer_email, result.output], start_to_close_timeout=timedelta(seconds=30)
        )
        return OrderOutcome(
            order_id=order.order_id, backordered=tuple(backordered), note=result.output, usage=result.usage
        )


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendor answers: check the backordered SKUs' shipping, then write the note."""
    last = request.messages[-1]
    if last.role == "tool":
        estimates = "; ".join(result_text(p) for p in last.parts if isinstance(p, ToolResultPart))
        return reply(f"Thank you for your order! Shipping: {estimates}.")
    backordered = SKU.findall(last.text.partition("Backordered:")[2])
    return call_tools(*(("shipping_estimate", {"sku": sku}) for sku in backordered or SKU.findall(last.text)[:1]))


async def process(client: Client, order: Order) -> OrderOutcome:
    """Run `ProcessOrder` with a worker in this process."""
    async with Worker(client, task_queue=TASK_QUEUE, workflows=[ProcessOrder], activities=[reserve_stock, send_email]):
        return await client.execute_workflow(
            ProcessOrder.run, order, id=f"order-{order.order_id}", task_queue=TASK_QUEUE
        )


async def main() -> None:
    settings = load_settings()
    order = Order(
        order_id=uuid.uuid4().hex[:6], customer_email="ada@example.com", skus=("KB-101", "KB-102"), model=settings.model
    )
    with fake_vendors_without_keys([settings.provider], scripted_model):
        async with connect(settings, plugins=[DurableLLMPlugin(tools=[shipping_estimate])]) as connection:
            outcome = await process(connection.client, order)
    print(f"Order {outcome.order_id}: backordered {list(outcome.backordered)}; note by {settings.model}")


if __name__ == "__main__":
    asyncio.run(main())
