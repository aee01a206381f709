"""Whatever tool calls a model sends, every conversation ends with an answer: never a stuck workflow task.

Hypothesis writes the model's tool calls (ids, names and argument strings: duplicates, empty,
huge, unicode, lone surrogates, names of durable_llm's own activities); one worker on the real dev
server serves every example.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import pytest_asyncio
from agent_kit import add, agent_worker, get_weather
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolCallPart
from durable_llm.conversation import Message, ModelRequest, ModelResponse, TextPart, ToolResultPart
from durable_llm.testing import ScriptedModel

SCENARIOS: dict[str, list[ToolCallPart]] = {}

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
ids = st.one_of(
    st.none(), st.just(""), st.just("dup"), any_text, st.just("i" * 5000), st.just("\ud800 lone"), st.just("a\nb")
)
names = st.one_of(
    st.sampled_from(
        ["add", "get_weather", "durable_llm.call_model", "durable_llm.save_transcript", "durable_llm.load_transcript"]
    ),
    st.sampled_from(["", " add", "add\x00", "n" * 3000, "\udfff"]),
    any_text,
)
arguments = st.one_of(
    st.just('{"a": 1, "b": 2}'),
    st.just('{"city": "Paris"}'),
    st.just("{"),
    st.just('{"a": "\\ud800", "b": 1}'),
    st.just(json.dumps({"city": "x" * 200_000})),
    any_text,
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=5), max_size=3).map(json.dumps),
)
calls = st.lists(
    st.builds(lambda i, n, a: ToolCallPart(id=i, name=n, arguments_raw=a), ids, names, arguments), max_size=5
)


def model(request: ModelRequest) -> ModelResponse | str:
    last = request.messages[-1]
    if any(isinstance(p, ToolResultPart) for p in last.parts):
        return "done"
    parts = tuple(SCENARIOS[last.text])
    return ModelResponse(provider="test", message=Message(role="assistant", parts=parts), stop_reason="tool_calls")


@pytest_asyncio.fixture(scope="module")
async def served(temporal_env):
    plugin = DurableLLMPlugin(tools=[add, get_weather], scripted_models={"any": ScriptedModel(model)})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        yield client, queue


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(calls=calls)
async def test_any_tool_calls_end_in_an_answer(served, calls):
    client, queue = served
    key = str(uuid.uuid4())
    SCENARIOS[key] = calls
    agent = Agent(model="test:any", tools=[add, get_weather], max_turns=3)
    run = client.execute_workflow(
        AgentWorkflow.run, AgentInput(agent=agent, message=key), id=f"property-{key}", task_queue=queue
    )
    result = await asyncio.wait_for(run, 60)
    if not calls:
        assert result.turns == 1
        return
    assert result.output == "done"
    answered = [p for p in result.messages[2].parts if isinstance(p, ToolResultPart)]
    assert len(answered) == len(calls)
    for call, outcome in zip(result.messages[1].tool_calls, answered, strict=True):
        assert outcome.call_id == call.id  # paired by position, ids as the model wrote them
        assert outcome.is_error or call.name in ("add", "get_weather")
    assert all(isinstance(p, TextPart | ToolCallPart) for p in result.messages[1].parts)
