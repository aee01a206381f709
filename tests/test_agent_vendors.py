"""The agent loop through each vendor's real SDK, against a fake vendor server on loopback."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from agent_kit import add, agent_worker, get_weather, new_id
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, TextDelta, Usage, get_adapter
from durable_llm.testing import FakeVendorServer, call_tools, reply

MODELS = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


def weather_and_sum_script() -> list:
    return [
        call_tools(
            ("get_weather", {"city": "Paris"}),
            ("add", {"a": 2, "b": 3}),
            usage=Usage(input_tokens=50, output_tokens=20),
        ),
        reply("Sunny in Paris; 2 + 3 = 5.", usage=Usage(input_tokens=90, output_tokens=12)),
    ]


@pytest.fixture
def vendor(request, monkeypatch):
    """A started fake server for `request.param`, with the worker's environment pointing at it."""
    server = FakeVendorServer(request.param, responses=weather_and_sum_script()).start()
    for key, value in server.env().items():
        monkeypatch.setenv(key, value)
    yield server
    server.close()


def agent_for(provider: str, **settings) -> Agent:
    return Agent(model=f"{provider}:{MODELS[provider]}", instructions="Be brief.", tools=[get_weather, add], **settings)


async def run(env, agent: Agent, message: str = "Weather in Paris, and 2+3?", **plugin_options):
    plugin = DurableLLMPlugin(tools=[get_weather, add], **plugin_options)
    async with agent_worker(env, plugin) as (client, queue):
        return await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message=message), id=new_id(), task_queue=queue
        )


@pytest.mark.parametrize("vendor", list(MODELS), indirect=True)
async def test_the_same_agent_with_two_tools_completes_on_each_vendor(temporal_env, vendor):
    result = await run(temporal_env, agent_for(vendor.provider, temperature=0.2))
    assert (result.output, result.stop_reason, result.turns) == ("Sunny in Paris; 2 + 3 = 5.", "completed", 2)
    assert (result.usage.input_tokens, result.usage.output_tokens) == (140, 32)
    first, second = vendor.requests
    assert first.instructions == "Be brief." and first.temperature == 0.2
    assert [t.name for t in first.tools] == ["get_weather", "add"]
    assert [m.role for m in second.messages] == ["user", "assistant", "tool"]
    weather, total = second.messages[2].parts
    assert weather.name == "get_weather" and "sunny" in (weather.text or str(weather.value))
    assert "5" in (total.text or str(total.value))
    assert vendor.calls == 2


async def timed_arrivals(server: FakeVendorServer, until: asyncio.Future) -> list[float]:
    """When each request reached `server` (polled every 5 ms), until `until` is done."""
    arrivals: list[float] = []
    while not until.done():
        while len(arrivals) < server.calls:
            arrivals.append(time.monotonic())
        await asyncio.sleep(0.005)
    return arrivals


@pytest.mark.parametrize("vendor", ["anthropic"], indirect=True)
async def test_a_429_is_retried_after_its_retry_after_delay(temporal_env, vendor):
    vendor.fail(429, headers={"Retry-After": "2"})
    conversation = asyncio.ensure_future(run(temporal_env, agent_for("anthropic")))
    arrivals = await timed_arrivals(vendor, conversation)
    result = await conversation
    gap = arrivals[1] - arrivals[0]
    print(f"429 with Retry-After: 2 -> next attempt after {gap:.2f} s")
    assert result.stop_reason == "completed" and vendor.calls == 3
    assert gap >= 1.9  # not sooner than the vendor asked
    assert gap < 10  # nor after some back-off of our own (the retry policy's own interval is 1 s)


@pytest.mark.parametrize("vendor", ["openai"], indirect=True)
async def test_a_401_fails_at_once_with_a_clear_error(temporal_env, vendor):
    vendor.fail(401)
    with pytest.raises(WorkflowFailureError) as failure:
        await run(temporal_env, agent_for("openai"))
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "authentication" and cause.non_retryable
    assert "openai:gpt-5-mini" in cause.message and "401" in cause.message
    assert vendor.calls == 1  # not retried


@pytest.mark.parametrize("vendor", ["gemini"], indirect=True)
@pytest.mark.parametrize("fault", ["server_error", "dropped_connection"])
async def test_a_500_and_a_dropped_connection_are_retried(temporal_env, vendor, fault):
    if fault == "server_error":
        vendor.fail(500)
    else:
        vendor.drop_connection()
    result = await run(temporal_env, agent_for("gemini"))
    assert result.output == "Sunny in Paris; 2 + 3 = 5."
    assert vendor.calls == 3


# -- streaming to a listener ---------------------------------------------------------------------


@pytest.mark.parametrize("vendor", list(MODELS), indirect=True)
async def test_on_text_gets_the_answer_as_it_streams_and_the_conversation_records_it_whole(temporal_env, vendor):
    deltas: list[TextDelta] = []
    plugin = DurableLLMPlugin(tools=[get_weather, add], on_text=deltas.append)
    workflow_id = new_id()
    async with agent_worker(temporal_env, plugin) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent_for(vendor.provider), message="Weather in Paris, and 2+3?"),
            id=workflow_id,
            task_queue=queue,
        )

    assert result.output == "Sunny in Paris; 2 + 3 = 5."
    assert "".join(d.text for d in deltas) == result.output
    assert {(d.workflow_id, d.agent, d.attempt) for d in deltas} == {(workflow_id, "agent", 1)}
    assert len({d.call for d in deltas}) == 1  # the first call asked for tools and wrote no text
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    if vendor.provider == "gemini":
        assert all(":streamGenerateContent" in r.path for r in vendor.raw_requests)
    else:
        assert all(r.body["stream"] is True for r in vendor.raw_requests)


@pytest.mark.parametrize("vendor", ["anthropic"], indirect=True)
async def test_a_stream_cut_short_is_retried_and_the_listener_sees_the_new_attempt(temporal_env, vendor):
    answer = reply("Sunny in Paris; 2 + 3 = 5. " * 4).model_copy(
        update={"provider": "anthropic", "model": MODELS["anthropic"], "id": "msg_cut"}
    )
    events = re.split(r"(?<=\n\n)", get_adapter("anthropic").encode_stream(answer))
    vendor.fail(200, body="".join(events[: len(events) // 2]), at=2)  # the second call breaks off mid-answer
    deltas: list[TextDelta] = []

    result = await run(temporal_env, agent_for("anthropic"), on_text=deltas.append)

    first_attempt = "".join(d.text for d in deltas if d.attempt == 1)
    second_attempt = "".join(d.text for d in deltas if d.attempt == 2)
    assert first_attempt and answer.message.text.startswith(first_attempt)
    assert second_attempt == result.output == "Sunny in Paris; 2 + 3 = 5."
    assert vendor.calls == 3


@pytest.mark.parametrize("vendor", ["openai"], indirect=True)
async def test_a_failing_listener_does_not_fail_the_conversation(temporal_env, vendor):
    calls: list[TextDelta] = []

    def broken(delta: TextDelta) -> None:
        calls.append(delta)
        raise RuntimeError("the UI went away")

    result = await run(temporal_env, agent_for("openai"), on_text=broken)

    assert result.output == "Sunny in Paris; 2 + 3 = 5."
    assert "".join(d.text for d in calls) == result.output  # called for every piece, failing each time
