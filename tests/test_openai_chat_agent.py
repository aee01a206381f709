"""End to end on the dev server: the weather agent on a local model (`ollama:`), through a fake Chat Completions
server, streamed, calling tools, its worker process SIGKILLed mid-run and another one finishing the conversation."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import timedelta

from agent_kit import checkpoint, get_weather, new_id
from temporalio.client import Client
from test_agent_crash import start_worker, wait_for

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolOptions
from durable_llm.conversation import ToolResultPart
from durable_llm.testing import FakeVendorServer, call_tools, reply


async def test_a_local_model_conversation_streams_calls_tools_and_survives_its_worker_being_killed(
    temporal_env, tmp_path
):
    marks = tmp_path / "marks"
    marks.mkdir()
    server = FakeVendorServer(
        "ollama",
        responses=[
            call_tools(("get_weather", {"city": "Paris"}), text="Let me check."),
            call_tools(("checkpoint", {"folder": str(marks)})),
            reply("Paris is sunny at 21 degrees, and the checkpoint is passed."),
        ],
        event_interval=0.005,
    ).start()
    task_queue = f"local-model-crash-{uuid.uuid4()}"
    first = start_worker(temporal_env, task_queue, {**server.env(), "OLLAMA_API_KEY": ""}, stream=True)
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        client = Client(temporal_env.client.service_client, plugins=[DurableLLMPlugin()])
        agent = Agent(
            model="ollama:llama3.2",
            instructions="Answer weather questions with the get_weather tool.",
            tools=[get_weather, checkpoint],
            tool_options={"checkpoint": ToolOptions(heartbeat_timeout=timedelta(seconds=2))},
        )
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, message="Weather in Paris? Then pass the checkpoint."),
            id=new_id(),
            task_queue=task_queue,
        )
        wait_for(lambda: (marks / str(first.pid)).exists(), 30, "the first worker to start the checkpoint")
        first.send_signal(signal.SIGKILL)
        first.wait()
        streamed_before_the_kill = first.stdout.read()
        second = start_worker(temporal_env, task_queue, {**server.env(), "OLLAMA_API_KEY": ""}, stream=True)
        started = time.monotonic()
        result = await handle.result()
        print(f"local-model conversation finished {time.monotonic() - started:.2f} s after the new worker started")
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        server.close()

    assert result.output == "Paris is sunny at 21 degrees, and the checkpoint is passed."
    assert sorted(p.name for p in marks.iterdir()) == sorted([str(first.pid), str(second.pid)])
    # Every model call streamed, through Chat Completions, and reached the server exactly once.
    assert server.calls == 3
    assert [raw.path for raw in server.raw_requests] == ["/v1/chat/completions"] * 3
    assert all(raw.body["stream"] is True for raw in server.raw_requests)
    assert all(raw.body["model"] == "llama3.2" for raw in server.raw_requests)
    assert "text: 'Let me check.'" in streamed_before_the_kill
    # The history the model saw grew turn by turn: the weather result answers its call, by id.
    second_request = server.requests[1]
    (weather_call,) = second_request.messages[1].tool_calls
    (weather_result,) = [p for p in second_request.messages[2].parts if isinstance(p, ToolResultPart)]
    assert (weather_result.call_id, weather_result.name) == (weather_call.id, "get_weather")
    assert '"sky": "sunny"' in weather_result.text or '"sky":"sunny"' in weather_result.text
    assert server.requests[2].messages[:3] == second_request.messages[:3]
