"""The durable agent loop on a real Temporal dev server, with scripted models (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from agent_kit import add, agent_worker, get_weather, new_id, rendezvous, wait_for_state
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.service import RPCError
from temporalio.worker import Worker

from durable_llm import (
    Agent,
    AgentInput,
    AgentResult,
    AgentWorkflow,
    Checkpoint,
    DurableLLMPlugin,
    ToolCallPart,
    ToolContext,
    ToolOptions,
    checkpoint_conversation,
    run_agent,
)
from durable_llm.agent import TranscriptSnapshot
from durable_llm.conversation import FrozenModel, Message, ModelRequest, ToolResultPart
from durable_llm.testing import ScriptedModel, call_tools


def results_of(message: Message) -> list[ToolResultPart]:
    assert message.role == "tool"
    return [p for p in message.parts if isinstance(p, ToolResultPart)]


async def test_agent_with_two_tools_completes_on_scripted_model(temporal_env):
    model = ScriptedModel(
        [call_tools(("get_weather", {"city": "Paris"}), ("add", {"a": 2, "b": 3})), "Sunny in Paris; 2 + 3 = 5."]
    )
    plugin = DurableLLMPlugin(tools=[get_weather, add], scripted_models={"m": model})
    agent = Agent(model="test:m", instructions="Be brief.", tools=[get_weather, add])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Weather, and 2+3?"), id=new_id(), task_queue=queue
        )
    assert result.output == "Sunny in Paris; 2 + 3 = 5."
    assert (result.stop_reason, result.turns) == ("completed", 2)
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    weather, total = results_of(result.messages[2])
    assert weather.value == {"city": "Paris", "sky": "sunny", "celsius": 21}
    assert (total.name, total.value, total.is_error) == ("add", 5, False)
    calls = result.messages[1].tool_calls
    assert [r.call_id for r in (weather, total)] == [c.id for c in calls]
    # The model saw the instructions, both tool specs, and the results in its second call.
    second = model.requests[1]
    assert second.instructions == "Be brief."
    assert [t.name for t in second.tools] == ["get_weather", "add"]
    assert second.messages == result.messages[:3]


async def test_parallel_tool_calls_run_concurrently(temporal_env):
    # Each call waits until all three are running: one at a time, the first would wait alone.
    group = new_id()
    model = ScriptedModel([call_tools(*[("rendezvous", {"group": group, "size": 3})] * 3), "Met."])
    plugin = DurableLLMPlugin(tools=[rendezvous], scripted_models={"m": model})
    agent = Agent(model="test:m", tools=[rendezvous])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Meet."), id=new_id(), task_queue=queue
        )
    assert [r.text for r in results_of(result.messages[2])] == ["met 3"] * 3


CONTEXTS: list[ToolContext] = []


def whoami(ctx: ToolContext, greeting: str) -> str:
    """Say who is calling.

    Args:
        greeting: What to say first.
    """
    CONTEXTS.append(ctx)
    return f"{greeting}, {ctx.agent_name}"


async def test_a_tool_taking_a_context_learns_its_call_agent_and_workflow(temporal_env):
    model = ScriptedModel([call_tools(("whoami", {"greeting": "hello"})), "Done."])
    plugin = DurableLLMPlugin(tools=[whoami], scripted_models={"m": model})
    agent = Agent(name="concierge", model="test:m", tools=[whoami])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        workflow_id = new_id()
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Who?"), id=workflow_id, task_queue=queue
        )
    [call] = result.messages[1].tool_calls
    [context] = CONTEXTS
    assert (context.tool_call_id, context.tool_name) == (call.id, "whoami")
    assert (context.agent_name, context.workflow_id) == ("concierge", workflow_id)
    assert results_of(result.messages[2])[0].text == "hello, concierge"
    assert "ctx" not in model.requests[0].tools[0].parameters["properties"]


async def test_a_worker_with_an_activity_named_like_a_tool_fails_at_start_up(temporal_env):
    @activity.defn(name="get_weather")
    async def legacy_weather(city: str) -> str:
        return "from the other activity"

    plugin = DurableLLMPlugin(tools=[get_weather])
    client = Client(temporal_env.client.service_client, namespace=temporal_env.client.namespace, plugins=[plugin])
    with pytest.raises(ValueError, match=r"activities named like tools \(get_weather\).*rename"):
        Worker(client, task_queue=new_id(), activities=[legacy_weather])

    @activity.defn(dynamic=True)
    async def anything(args: Sequence[RawValue]) -> str:
        return "from your dynamic activity"

    with pytest.raises(ValueError, match=r"dynamic activity of yours.*another task queue"):
        Worker(client, task_queue=new_id(), activities=[anything])


def explode(reason: str) -> str:
    """Always fails.

    Args:
        reason: Why.
    """
    raise RuntimeError(f"boom: {reason}")


async def test_bad_argument_unknown_tool_and_tool_exception_are_fed_back_and_model_recovers(temporal_env):
    bad_json = ToolCallPart(id="call_bad", name="add", arguments_raw='{"a": 1, "b": "two"}')
    script = [
        call_tools(bad_json, ("teleport", {"to": "Mars"}), ("explode", {"reason": "test"})),
        call_tools(("add", {"a": 1, "b": 2})),
        "1 + 2 = 3",
    ]
    model = ScriptedModel(script)
    plugin = DurableLLMPlugin(tools=[add, explode], scripted_models={"m": model})
    agent = Agent(model="test:m", tools=[add, explode])
    async with agent_worker(temporal_env, plugin) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Add 1 and 2"), id=new_id(), task_queue=queue
        )
    bad, unknown, failed = results_of(result.messages[2])
    assert bad.is_error and "b" in bad.text and "two" in bad.text
    assert unknown.is_error and "no tool named 'teleport'" in unknown.text and "add, explode" in unknown.text
    assert failed.is_error and "RuntimeError: boom: test" in failed.text
    assert results_of(result.messages[4])[0].value == 3
    assert (result.output, result.stop_reason, result.turns) == ("1 + 2 = 3", "completed", 3)


async def test_max_turns_stops_a_runaway_loop_without_running_the_last_calls(temporal_env):
    ran: list[int] = []

    def count(n: int) -> int:
        """Count.

        Args:
            n: A number.
        """
        ran.append(n)
        return n

    model = ScriptedModel(lambda request: call_tools(("count", {"n": len(request.messages)})))
    plugin = DurableLLMPlugin(tools=[count], scripted_models={"loop": model})
    agent = Agent(model="test:loop", tools=[count], max_turns=3)
    async with agent_worker(temporal_env, plugin) as (client, queue):
        result = await client.execute_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Count forever"), id=new_id(), task_queue=queue
        )
    assert (result.stop_reason, result.turns) == ("max_turns", 3)
    assert len(ran) == 2
    last = results_of(result.messages[-1])[0]
    assert last.is_error and "limit of 3 model calls" in last.text


async def test_chat_answers_send_message_updates_until_ended(temporal_env):
    model = ScriptedModel(lambda request: f"you said {request.messages[-1].text!r} ({len(request.messages)} messages)")
    plugin = DurableLLMPlugin(scripted_models={"echo": model})
    agent = Agent(model="test:echo")
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
        )
        await wait_for_state(handle, "waiting_for_input")
        assert await handle.execute_update(AgentWorkflow.send_message, "hello") == "you said 'hello' (1 messages)"
        assert await handle.execute_update(AgentWorkflow.send_message, "again") == "you said 'again' (3 messages)"
        page = await handle.query(AgentWorkflow.history, args=[1, 2])
        assert (page.offset, page.total, [m.role for m in page.messages]) == (1, 4, ["assistant", "user"])
        await handle.signal(AgentWorkflow.end_conversation)
        result = await handle.result()
        with pytest.raises(RPCError, match="completed"):
            await handle.execute_update(AgentWorkflow.send_message, "too late")
        assert (await handle.query(AgentWorkflow.status)).state == "done"
    assert (result.stop_reason, result.turns, len(result.messages)) == ("ended", 2, 4)
    assert result.output == "you said 'again' (3 messages)"


def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: Which file.
    """
    return f"deleted {path}"


@pytest.mark.parametrize("approved", [True, False])
async def test_tool_requiring_approval_waits_for_it(temporal_env, approved):
    model = ScriptedModel(
        [call_tools(ToolCallPart(id="call_rm", name="delete_file", arguments_raw='{"path": "/tmp/x"}')), "Done."]
    )
    plugin = DurableLLMPlugin(tools=[delete_file], scripted_models={"m": model})
    agent = Agent(
        model="test:m", tools=[delete_file], tool_options={"delete_file": ToolOptions(requires_approval=True)}
    )
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Remove /tmp/x"), id=new_id(), task_queue=queue
        )
        status = await wait_for_state(handle, "waiting_for_approval")
        assert [(p.call_id, p.name, p.arguments_raw) for p in status.pending_approvals] == [
            ("call_rm", "delete_file", '{"path": "/tmp/x"}')
        ]
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(AgentWorkflow.approve_tool_call, args=["call_nope", True])
        await handle.execute_update(AgentWorkflow.approve_tool_call, args=["call_rm", approved, "not that file"])
        result = await handle.result()
    outcome = results_of(result.messages[2])[0]
    if approved:
        assert (outcome.text, outcome.is_error) == ("deleted /tmp/x", False)
    else:
        assert outcome.is_error and outcome.text == "the user rejected this call: not that file"
    assert result.output == "Done."


@workflow.defn
class TripPlanner:
    """A user's own workflow with an agent step inside."""

    @workflow.run
    async def run(self, city: str) -> str:
        agent = Agent(model="test:planner", tools=["get_weather"])
        forecast = await run_agent(agent, f"What is the weather in {city}?")
        return f"Plan for {city}: {forecast.output} ({forecast.turns} model calls)"


class NotesInput(FrozenModel):
    texts: tuple[str, ...]
    checkpoint: Checkpoint | None = None


@workflow.defn
class TakeNotes:
    """A user's own long-running workflow: two agent exchanges a run, then continue-as-new."""

    @workflow.run
    async def run(self, input: NotesInput) -> AgentResult:
        agent = Agent(model="test:notes")
        result = await run_agent(agent, input.texts[0], checkpoint=input.checkpoint)
        if len(input.texts) > 1:
            result = await run_agent(agent, input.texts[1], messages=result.messages)
        if len(input.texts) <= 2:
            return result
        checkpoint = await checkpoint_conversation(agent, result.messages, previous=input.checkpoint)
        workflow.continue_as_new(NotesInput(texts=input.texts[2:], checkpoint=checkpoint))


async def test_run_agent_carries_a_conversation_through_the_user_workflows_continue_as_new(temporal_env):
    model = ScriptedModel(lambda request: f"noted {request.messages[-1].text} ({len(request.messages)} messages)")
    plugin = DurableLLMPlugin(scripted_models={"notes": model})
    texts = tuple(f"note {i}" for i in range(9))
    async with agent_worker(temporal_env, plugin, workflows=[TakeNotes]) as (client, queue):
        handle = await client.start_workflow(TakeNotes.run, NotesInput(texts=texts), id=new_id(), task_queue=queue)
        result = await handle.result()
        inputs = []
        async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'"):
            events = (await client.get_workflow_handle(handle.id, run_id=execution.run_id).fetch_history()).events
            inputs.append(events[0].workflow_execution_started_event_attributes.input.ByteSize())

    # Every call saw the whole conversation so far, across the five runs.
    assert [r.text for r in model.requests[-1].messages[::2]] == list(texts)
    assert result.output == "noted note 8 (17 messages)"
    assert len(result.messages) == 18 and result.turns == 1
    # Each run's input is a checkpoint of references, not the conversation.
    assert len(inputs) == 5 and max(inputs) < 2_000


async def test_a_checkpoint_of_fewer_messages_than_the_previous_one_is_refused_with_how_to_fix_it():
    previous = Checkpoint(transcript=TranscriptSnapshot(count=4, payload=""), run=2)
    with pytest.raises(ValueError, match=r"holds 4 messages but only 1 were given.*run_agent\(...\).messages"):
        await checkpoint_conversation(Agent(model="test:notes"), [Message(role="user")], previous=previous)


async def test_run_agent_inside_a_user_workflow(temporal_env):
    model = ScriptedModel([call_tools(("get_weather", {"city": "Lyon"})), "Sunny, 21 C."])
    plugin = DurableLLMPlugin(tools=[get_weather], scripted_models={"planner": model})
    async with agent_worker(temporal_env, plugin, workflows=[TripPlanner]) as (client, queue):
        plan = await client.execute_workflow(TripPlanner.run, "Lyon", id=new_id(), task_queue=queue)
    assert plan == "Plan for Lyon: Sunny, 21 C. (2 model calls)"
    assert model.requests[1].messages[-1].parts[0].value["city"] == "Lyon"


async def test_a_worker_with_an_empty_cache_reads_the_transcript_from_the_workflow(temporal_env):
    seen: list[ModelRequest] = []

    def echo(request: ModelRequest) -> str:
        seen.append(request)
        return f"reply {len(seen)}"

    agent = Agent(model="test:echo", instructions="Echo.")
    first = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    async with agent_worker(temporal_env, first) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="one", chat=True), id=new_id(), task_queue=queue
        )
        assert await handle.execute_update(AgentWorkflow.send_message, "two") == "reply 2"
    # A new worker (a restart: nothing cached) takes over the same conversation, as another process would.
    second = DurableLLMPlugin(scripted_models={"echo": ScriptedModel(echo)})
    second.agent_activities.read_in_process = False
    async with agent_worker(temporal_env, second, task_queue=queue):
        assert await handle.execute_update(AgentWorkflow.send_message, "three") == "reply 3"
        await handle.signal(AgentWorkflow.end_conversation)
        result = await handle.result()
    assert [m.text for m in seen[2].messages] == ["one", "reply 1", "two", "reply 2", "three"]
    assert seen[2].instructions == "Echo."
    assert second.agent_activities.transcript_fetches == 1
    assert [m.text for m in result.messages] == ["one", "reply 1", "two", "reply 2", "three", "reply 3"]


@workflow.defn
class Cleanup:
    """A user's own workflow whose agent step needs approval for a tool."""

    @workflow.run
    async def run(self, path: str) -> str:
        agent = Agent(
            model="test:cleaner",
            tools=["delete_file"],
            tool_options={"delete_file": ToolOptions(requires_approval=True)},
        )
        result = await run_agent(agent, f"Remove {path}")
        return f"{result.output} ({results_of(result.messages[2])[0].text})"


async def test_run_agent_takes_approvals_through_the_user_workflow(temporal_env):
    model = ScriptedModel(
        [call_tools(ToolCallPart(id="call_rm", name="delete_file", arguments_raw='{"path": "/tmp/y"}')), "Done."]
    )
    plugin = DurableLLMPlugin(tools=[delete_file], scripted_models={"cleaner": model})
    async with agent_worker(temporal_env, plugin, workflows=[Cleanup]) as (client, queue):
        handle = await client.start_workflow(Cleanup.run, "/tmp/y", id=new_id(), task_queue=queue)
        for _ in range(200):  # the validator refuses until the call waits for approval
            try:
                await handle.execute_update("approve_tool_call", args=["call_rm", True])
                break
            except WorkflowUpdateFailedError:
                await asyncio.sleep(0.05)
        assert await handle.result() == "Done. (deleted /tmp/y)"


async def test_a_model_activity_in_the_workflows_process_reads_the_transcript_from_memory(temporal_env):
    model = ScriptedModel(lambda request: f"reply {len(request.messages)}")
    plugin = DurableLLMPlugin(scripted_models={"echo": model})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=Agent(model="test:echo"), chat=True), id=new_id(), task_queue=queue
        )
        for text in ("one", "two", "three"):
            await handle.execute_update(AgentWorkflow.send_message, text)
        await handle.signal(AgentWorkflow.end_conversation)
        result = await handle.result()
    assert [m.text for m in model.requests[2].messages] == ["one", "reply 1", "two", "reply 3", "three"]
    assert [m.text for m in result.messages] == ["one", "reply 1", "two", "reply 3", "three", "reply 5"]
    assert plugin.agent_activities.transcript_fetches == 0
