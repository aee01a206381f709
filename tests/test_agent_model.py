"""`Agent` and its options: validation at construction, JSON round trip, Temporal retry policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from agent_kit import add, get_weather
from pydantic import ValidationError
from temporalio.common import RetryPolicy

from durable_llm import Agent, AgentInput, ToolOptions, ToolSpec
from durable_llm.agent import RetryOptions


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("gpt-5", "must look like 'provider:model'"),
        ("openai:", "must look like 'provider:model'"),
        ("Mistral AI:large", "provider name 'Mistral AI' is malformed"),
        ("openai:gpt-5 ", "surrounding whitespace or control characters"),
        (" openai:gpt-5", "surrounding whitespace or control characters"),
        ("openai:gpt-5\n", "surrounding whitespace or control characters"),
        ("openai:gpt\x00-5", "surrounding whitespace or control characters"),
        ("openai:" + "x" * 300, "model string of 307 characters .* at most 256 are taken"),
    ],
)
def test_a_bad_model_string_is_refused_with_a_clear_error(model, problem):
    with pytest.raises(ValidationError, match=problem):
        Agent(model=model)


def test_a_provider_outside_the_registry_is_accepted_for_the_worker_to_check():
    # Its plugin (DurableLLMPlugin(providers={"azure": ...})) is not known where the agent is made.
    assert Agent(model="azure:gpt-5").provider == "azure"


def test_the_model_string_splits_into_provider_and_model_name():
    agent = Agent(model="openai:ft:gpt-4o:acme")
    assert (agent.provider, agent.model_name) == ("openai", "ft:gpt-4o:acme")


def test_functions_become_tool_specs_and_names_stay_references():
    agent = Agent(model="test:m", tools=[get_weather, "add"])
    spec, name = agent.tools
    assert isinstance(spec, ToolSpec) and spec.name == "get_weather"
    assert spec.parameters["required"] == ["city"]
    assert name == "add"
    assert agent.tool_names == ("get_weather", "add")


def test_tool_names_must_be_unique_and_options_must_name_a_tool():
    with pytest.raises(ValidationError, match="unique"):
        Agent(model="test:m", tools=[add, "add"])
    with pytest.raises(ValidationError, match=r"tools the agent does not have: \['delete'\]"):
        Agent(model="test:m", tools=[add], tool_options={"delete": ToolOptions(requires_approval=True)})


def test_an_agent_survives_a_json_round_trip():
    agent = Agent(
        name="helper",
        model="anthropic:claude-sonnet-4-5",
        instructions="Be brief.",
        tools=[get_weather, "add"],
        tool_options={"get_weather": ToolOptions(timeout=timedelta(seconds=30), requires_approval=True)},
        temperature=0.3,
        stop=("END",),
        provider_options={"anthropic": {"thinking": {"type": "enabled", "budget_tokens": 2048}}},
        max_turns=4,
    )
    start = AgentInput(agent=agent, message="hi")
    assert AgentInput.model_validate_json(start.model_dump_json()) == start
    assert agent.options_for("get_weather").requires_approval
    assert agent.options_for("add") == ToolOptions()


def test_retry_options_become_a_temporal_retry_policy():
    options = RetryOptions(
        initial_interval=timedelta(seconds=2), maximum_attempts=4, non_retryable_error_types=("authentication",)
    )
    assert options.to_temporal() == RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_attempts=4,
        non_retryable_error_types=["authentication"],
    )
