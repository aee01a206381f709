"""Switching the model of a running conversation: to another vendor, across continue-as-new, in a team."""

from __future__ import annotations

import pytest
from agent_kit import agent_worker, get_weather, new_id
from sdk_validation import validate_request
from temporalio.client import WorkflowUpdateFailedError
from temporalio.worker import Replayer
from test_agent_scale import end, hopping_env, start_chat  # noqa: F401  (hopping_env is a fixture)

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, send_message, switch_model
from durable_llm.conversation import Message, ModelRequest, ModelResponse, TextPart, Usage
from durable_llm.handoffs import find_agent, with_model
from durable_llm.testing import ScriptedModel, call_tools, reply


async def test_a_chat_on_claude_goes_on_with_openai_after_a_switch(temporal_env, vendors):
    claude = vendors("anthropic", [call_tools(("get_weather", {"city": "Paris"})), reply("Sunny in Paris.")])
    openai = vendors("openai", [reply("Still sunny.")])
    agent = Agent(model="anthropic:claude-sonnet-4-5", tools=[get_weather])
    async with agent_worker(temporal_env, DurableLLMPlugin(tools=[get_weather])) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        assert await send_message(handle, "Weather in Paris?") == "Sunny in Paris."
        previous = await switch_model(handle, "openai:gpt-5-mini")
        status = await handle.query(AgentWorkflow.status)
        assert await send_message(handle, "And now?") == "Still sunny."
        memo = await (await handle.describe()).memo_value("model")
        await handle.signal(AgentWorkflow.end_conversation)
        result = await handle.result()
        history = await handle.fetch_history()

    assert previous == "anthropic:claude-sonnet-4-5"
    assert (status.model, memo, result.model) == ("openai:gpt-5-mini", "openai:gpt-5-mini", "openai:gpt-5-mini")
    assert (claude.calls, openai.calls) == (2, 1)
    # OpenAI was sent the whole conversation, Claude's tool call and its result included, in its own form.
    (request,) = openai.requests
    assert [m.role for m in request.messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert request.model == "gpt-5-mini"
    validate_request("openai", {k: v for k, v in openai.raw_requests[0].body.items() if k != "stream"})
    await Replayer(workflows=[AgentWorkflow], plugins=[DurableLLMPlugin()]).replay_workflow(history)


def answered_by(name: str) -> ScriptedModel:
    def answer(request: ModelRequest) -> ModelResponse:
        text = f"{name}: {request.messages[-1].text}"
        return ModelResponse(
            provider="test", message=Message(role="assistant", parts=(TextPart(text=text),)), usage=Usage()
        )

    return ScriptedModel(answer)


async def test_the_switch_holds_across_continue_as_new(hopping_env):  # noqa: F811
    plugin = DurableLLMPlugin(scripted_models={"a": answered_by("a"), "b": answered_by("b")})
    async with agent_worker(hopping_env, plugin) as (client, queue):
        handle = await start_chat(client, queue, Agent(model="test:a"))
        before = await send_message(handle, "hi")
        await switch_model(handle, "test:b")
        after = [await send_message(handle, f"m{i}") for i in range(12)]
        status = await handle.query(AgentWorkflow.status)
        await end(handle)

    assert before == "a: hi"
    assert after == [f"b: m{i}" for i in range(12)]
    assert status.run >= 2 and status.model == "test:b"  # continued as new, still on the model switched to


async def test_a_malformed_model_is_refused_before_anything_is_recorded(temporal_env):
    plugin = DurableLLMPlugin(scripted_models={"a": answered_by("a")})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await start_chat(client, queue, Agent(model="test:a"))
        with pytest.raises(ValueError, match="provider:model"):
            await switch_model(handle, "gpt 5")
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(AgentWorkflow.switch_model, "no-provider")
        assert await send_message(handle, "still there?") == "a: still there?"
        history = await handle.fetch_history()
        await end(handle)

    recorded = [e for e in history.events if e.HasField("workflow_execution_update_accepted_event_attributes")]
    assert len(recorded) == 1  # the message only: refused switches leave no trace


def test_in_a_team_the_agent_named_takes_the_model_wherever_it_sits():
    refunds = Agent(name="refunds", model="anthropic:claude-sonnet-4-5")
    billing = Agent(name="billing", model="gemini:gemini-2.5-flash", handoffs=[refunds])
    triage = Agent(name="triage", model="gemini:gemini-2.5-flash", handoffs=[billing, refunds])

    switched = with_model(triage, "refunds", "openai:gpt-5")

    assert [find_agent(switched, n).model for n in ("triage", "billing")] == ["gemini:gemini-2.5-flash"] * 2
    assert switched.handoffs[0].handoffs[0].model == switched.handoffs[1].model == "openai:gpt-5"
