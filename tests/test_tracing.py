"""OpenTelemetry traces of a conversation (`DurableLLMPlugin(tracing=...)`), with the SDK's in-memory exporter."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
from agent_kit import add, agent_worker, get_weather, new_id, wait_for_state
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, Usage, send_message
from durable_llm.testing import ScriptedModel, call_tools, reply
from durable_llm.tracing import Tracing


@pytest.fixture
def telemetry():
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    return (
        spans,
        reader,
        Tracing(tracer_provider=tracer_provider, meter_provider=MeterProvider(metric_readers=[reader])),
    )


def turn_script():
    return [
        call_tools(("get_weather", {"city": "Paris"}), ("add", {"a": 2, "b": 3}), usage=Usage(input_tokens=50)),
        reply("Sunny; 5.", usage=Usage(input_tokens=80, output_tokens=7, cached_input_tokens=40, reasoning_tokens=3)),
    ]


def plugin(model: ScriptedModel, tracing) -> DurableLLMPlugin:
    return DurableLLMPlugin(tools=[get_weather, add], scripted_models={"traced": model}, tracing=tracing)


def tree(spans) -> dict[str, list[str]]:
    """Each span's name -> the names of its children, for spans of one trace."""
    names = {s.context.span_id: s.name for s in spans}
    children: dict[str, list[str]] = {s.name: [] for s in spans}
    for s in spans:
        if s.parent is not None and s.parent.span_id in names:
            children[names[s.parent.span_id]].append(s.name)
    return {name: sorted(kids) for name, kids in children.items()}


def by_id(spans):
    return {s.context.span_id: s for s in spans}


def parent_name(span, spans) -> str | None:
    parent = by_id(spans).get(span.parent.span_id) if span.parent is not None else None
    return parent.name if parent is not None else None


async def chat_turn(client, queue, agent, spans, text: str):
    """Start a chat (not traced here) and send one message; returns the handle and the turn's spans."""
    handle = await client.start_workflow(
        AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
    )
    await wait_for_state(handle, "waiting_for_input")
    spans.clear()
    assert await send_message(handle, text) == "Sunny; 5."
    return handle, spans.get_finished_spans()


def check_turn(turn) -> None:
    """One turn with two tool calls: one trace rooted at the client's send_message, each piece under its caller."""
    assert len({s.context.trace_id for s in turn}) == 1, [s.name for s in turn]
    [root] = [s for s in turn if s.parent is None]
    assert root.name == "StartWorkflowUpdate:send_message"
    names = sorted(s.name for s in turn)
    assert names == sorted(
        [
            "StartWorkflowUpdate:send_message",
            "ValidateUpdate:send_message",
            "HandleUpdate:send_message",
            *["StartActivity:durable_llm.call_model", "RunActivity:durable_llm.call_model", "chat traced"] * 2,
            *["StartActivity:get_weather", "RunActivity:get_weather", "execute_tool get_weather"],
            *["StartActivity:add", "RunActivity:add", "execute_tool add"],
        ]
    )
    expected_parents = {
        "ValidateUpdate:send_message": root.name,
        "HandleUpdate:send_message": root.name,
        "StartActivity:durable_llm.call_model": root.name,
        "RunActivity:durable_llm.call_model": "StartActivity:durable_llm.call_model",
        "chat traced": "RunActivity:durable_llm.call_model",
        "StartActivity:get_weather": root.name,
        "RunActivity:get_weather": "StartActivity:get_weather",
        "execute_tool get_weather": "RunActivity:get_weather",
        "RunActivity:add": "StartActivity:add",
        "execute_tool add": "RunActivity:add",
    }
    for span in turn:
        if span.name in expected_parents:
            assert parent_name(span, turn) == expected_parents[span.name], span.name


async def test_one_turn_is_one_trace_from_send_message_to_each_tool(temporal_env, telemetry):
    spans, reader, tracing = telemetry
    model = ScriptedModel(turn_script())
    agent = Agent(name="traced", model="test:traced", tools=[get_weather, add])
    async with agent_worker(temporal_env, plugin(model, tracing)) as (client, queue):
        _, turn = await chat_turn(client, queue, agent, spans, "Weather in Paris, and 2+3?")
    check_turn(turn)
    first, second = sorted((s for s in turn if s.name == "chat traced"), key=lambda s: s.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert dict(first.attributes) | {"gen_ai.request.tool_names": None} == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "test",
        "gen_ai.system": "test",
        "gen_ai.agent.name": "traced",
        "gen_ai.request.model": "traced",
        "gen_ai.request.tool_names": None,
        "gen_ai.response.model": "traced",
        "gen_ai.response.finish_reasons": ("tool_calls",),
        "gen_ai.response.tool_names": ("get_weather", "add"),
        "gen_ai.usage.input_tokens": 50,
        "gen_ai.usage.output_tokens": 0,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
    }
    assert first.attributes["gen_ai.request.tool_names"] == ("get_weather", "add")
    assert second.attributes["gen_ai.usage.cache_read.input_tokens"] == 40
    assert second.attributes["gen_ai.usage.reasoning.output_tokens"] == 3
    assert second.attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    # Content stays out unless asked for.
    assert not [key for s in turn for key in (s.attributes or {}) if "messages" in key or "arguments" in key]
    weather = next(s for s in turn if s.name == "execute_tool get_weather")
    assert weather.attributes is not None and weather.attributes["gen_ai.tool.call.id"].startswith("call_")

    metrics = {
        m.name: m
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for m in scope.metrics
    }
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in metrics["gen_ai.client.token.usage"].data.data_points}
    assert tokens == {"input": 130, "output": 7}
    [duration] = metrics["gen_ai.client.operation.duration"].data.data_points
    assert duration.count == 2 and duration.attributes["gen_ai.provider.name"] == "test"
    assert duration.attributes["gen_ai.request.model"] == "traced"


async def test_content_is_traced_only_when_turned_on(temporal_env, telemetry):
    spans, _, tracing = telemetry
    model = ScriptedModel(turn_script())
    agent = Agent(name="traced", model="test:traced", instructions="Be brief.", tools=[get_weather, add])
    with_content = dataclasses.replace(tracing, capture_content=True)
    async with agent_worker(temporal_env, plugin(model, with_content)) as (client, queue):
        _, turn = await chat_turn(client, queue, agent, spans, "Weather in Paris, and 2+3?")
    chat = next(s for s in turn if s.name == "chat traced")
    assert chat.attributes is not None
    assert "Weather in Paris" in str(chat.attributes["gen_ai.input.messages"])
    assert chat.attributes["gen_ai.system_instructions"] == "Be brief."
    weather = next(s for s in turn if s.name == "execute_tool get_weather")
    assert weather.attributes is not None and weather.attributes["gen_ai.tool.call.arguments"] == '{"city":"Paris"}'
    assert "sunny" in str(weather.attributes["gen_ai.tool.call.result"])


async def test_a_restarted_worker_replaying_the_conversation_emits_no_span_twice(temporal_env, telemetry):
    spans, _, tracing = telemetry
    model = ScriptedModel([*turn_script(), *turn_script()])
    agent = Agent(name="traced", model="test:traced", tools=[get_weather, add])
    async with agent_worker(temporal_env, plugin(model, tracing)) as (client, queue):
        handle, first = await chat_turn(client, queue, agent, spans, "Weather in Paris, and 2+3?")
    check_turn(first)
    spans.clear()
    # A new worker, caching no workflow: every workflow task of the second turn replays the whole history.
    async with agent_worker(temporal_env, plugin(model, tracing), task_queue=queue, max_cached_workflows=0) as (
        client,
        _,
    ):
        assert await send_message(client.get_workflow_handle(handle.id), "And again?") == "Sunny; 5."
    second = spans.get_finished_spans()
    check_turn(second)
    assert not {s.context.span_id for s in first} & {s.context.span_id for s in second}


def test_without_tracing_opentelemetry_is_not_imported():
    probe = (
        "import sys\n"
        "from durable_llm import DurableLLMPlugin\n"
        "plugin = DurableLLMPlugin()\n"
        "assert plugin.agent_activities.telemetry is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'durable_llm.tracing'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
