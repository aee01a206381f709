"""OpenTelemetry traces of a chat: one trace per message, from `send_message` to each model call and tool.

    python examples/tracing.py

`DurableLLMPlugin(tracing=Tracing(tracer_provider=..., meter_provider=...))` (or `tracing=True` for
OpenTelemetry's global providers) turns it on; needs `pip install 'durable-llm[otel]'`. Here the
spans are kept in memory and printed as a tree at the end; in production, give the provider an
OTLP exporter (`opentelemetry-exporter-otlp`) instead. Model-call spans carry the GenAI semantic
conventions' attributes; the token and duration metrics go to the meter provider.

The model comes from the configuration; without an API key a local fake vendor plays it.
"""

from __future__ import annotations

import asyncio
import uuid

from _offline import fake_vendors_without_keys
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.worker import Worker

from durable_llm import AgentInput, AgentWorkflow, DurableLLMPlugin, Usage, send_message
from durable_llm.cli.server import connect
from durable_llm.config import load_settings
from durable_llm.testing import call_tools, reply
from durable_llm.tracing import Tracing

TASK_QUEUE = "tracing"
SHOWN = ("gen_ai.request.model", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.tool.name")


def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return f"{city}: sunny, 21 °C"


def get_time(city: str) -> str:
    """The local time in a city.

    Args:
        city: The city's name, e.g. "Paris".
    """
    return f"{city}: 14:05"


def scripted_model(request):
    """What the fake vendor answers offline: both tools at once, then a sentence."""
    if request.messages[-1].role != "tool":
        return call_tools(
            ("get_weather", {"city": "Paris"}), ("get_time", {"city": "Paris"}), usage=Usage(input_tokens=120)
        )
    return reply("In Paris it is 14:05, sunny and 21 °C.", usage=Usage(input_tokens=180, output_tokens=14))


def print_tree(spans: tuple[ReadableSpan, ...]) -> None:
    """Each span under its parent, with a few of its attributes."""
    ids = {span.context.span_id for span in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)

    def show(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            shown = {k: v for k, v in (span.attributes or {}).items() if k in SHOWN}
            print(f"{'  ' * depth}{span.name}" + (f"  {shown}" if shown else ""))
            show(span.context.span_id, depth + 1)

    show(None, 0)


async def main() -> None:
    settings = load_settings()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    metrics = InMemoryMetricReader()
    tracing = Tracing(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[metrics]))
    agent = settings.agent(name="clock", instructions="Be brief.", tools=[get_weather, get_time])
    with fake_vendors_without_keys([settings.provider], scripted_model):
        plugin = DurableLLMPlugin(tools=[get_weather, get_time], tracing=tracing)
        async with connect(settings, plugins=[plugin]) as connection, Worker(connection.client, task_queue=TASK_QUEUE):
            handle = await connection.client.start_workflow(
                AgentWorkflow.run,
                AgentInput(agent=agent, chat=True),
                id=f"tracing-{uuid.uuid4().hex[:8]}",
                task_queue=TASK_QUEUE,
            )
            print(f"agent: {await send_message(handle, 'Weather and time in Paris?')}")
            await handle.signal(AgentWorkflow.end_conversation)
            await handle.result()
    turn = [s for s in spans.get_finished_spans() if s.name == "StartWorkflowUpdate:send_message"]
    print_tree(tuple(s for s in spans.get_finished_spans() if s.context.trace_id == turn[0].context.trace_id))
    for resource in metrics.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    print(f"metric {metric.name} {dict(point.attributes or {})}: sum {getattr(point, 'sum', None)}")


if __name__ == "__main__":
    asyncio.run(main())
