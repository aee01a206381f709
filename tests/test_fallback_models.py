"""Fallback models: a model failing past its retries hands the same turn to the next model (another
vendor, the history projected); an error the request caused never does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from agent_kit import agent_worker, get_weather, new_id
from sdk_validation import validate_request
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin
from durable_llm.agent import RetryOptions
from durable_llm.testing import FakeVendorServer, call_tools, reply

QUICK_RETRIES = RetryOptions(maximum_attempts=2, initial_interval=timedelta(milliseconds=50))


def team(**options) -> Agent:
    return Agent(
        model="anthropic:claude-sonnet-4-5",
        fallback_models=("openai:gpt-5-mini", "gemini:gemini-2.5-flash"),
        tools=[get_weather],
        model_retry=QUICK_RETRIES,
        **options,
    )


@pytest.fixture
def vendors(monkeypatch):
    answers = {
        "anthropic": [call_tools(("get_weather", {"city": "Paris"})), reply("unused")],
        "openai": [reply("Paris is sunny.")],
        "gemini": [reply("unused")],
    }
    servers = {provider: FakeVendorServer(provider, responses=script).start() for provider, script in answers.items()}
    for server in servers.values():
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
    yield servers
    for server in servers.values():
        server.close()


async def test_claude_overloaded_past_its_retries_hands_the_turn_to_openai(temporal_env, vendors):
    claude, openai, gemini = vendors["anthropic"], vendors["openai"], vendors["gemini"]
    claude.fail(529, times=2, at=2)  # the second model call: after Claude already asked for a tool
    async with agent_worker(temporal_env, DurableLLMPlugin(tools=[get_weather])) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=team(), message="Weather in Paris?"), id=new_id(), task_queue=queue
        )

    assert result.output == "Paris is sunny." and result.model == "openai:gpt-5-mini"
    assert claude.calls == 3 and openai.calls == 1 and gemini.calls == 0
    # OpenAI got the whole turn: Claude's tool call and its result, projected for the Responses API.
    [raw] = openai.raw_requests
    validate_request("openai", {k: v for k, v in raw.body.items() if k != "stream"})
    assert [item.get("type") for item in raw.body["input"]][-2:] == ["function_call", "function_call_output"]
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]


async def test_a_request_the_vendor_refuses_does_not_fall_back(temporal_env, vendors):
    vendors["anthropic"].fail(400, times=1, at=1)
    async with agent_worker(temporal_env, DurableLLMPlugin(tools=[get_weather])) as (client, queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await client.execute_workflow(
                AgentWorkflow.run, AgentInput(agent=team(), message="Weather?"), id=new_id(), task_queue=queue
            )
    assert isinstance(failure.value.cause, ActivityError)
    assert isinstance(failure.value.cause.cause, ApplicationError) and failure.value.cause.cause.type == "bad_request"
    assert vendors["openai"].calls == 0 and vendors["gemini"].calls == 0


async def test_every_model_failing_fails_the_turn_with_the_last_error(temporal_env, vendors):
    vendors["anthropic"].fail(503, times=2, at=1)
    vendors["openai"].fail(500, times=2, at=1)
    vendors["gemini"].fail(503, times=2, at=1)
    async with agent_worker(temporal_env, DurableLLMPlugin(tools=[get_weather])) as (client, queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await client.execute_workflow(
                AgentWorkflow.run, AgentInput(agent=team(), message="Weather?"), id=new_id(), task_queue=queue
            )
    cause = failure.value.cause
    assert isinstance(cause, ActivityError) and "gemini-2.5-flash" in str(cause.cause)
    assert [vendors[p].calls for p in ("anthropic", "openai", "gemini")] == [2, 2, 2]


def test_fallback_models_are_checked_like_the_model():
    with pytest.raises(ValueError, match="provider"):
        Agent(model="openai:gpt-5-mini", fallback_models=("gpt-4o",))
