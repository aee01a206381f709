"""A worker SIGKILLed while a handed-to agent's child agent runs a tool: another worker finishes the
team's conversation, and no model call that had completed is made again."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta

import pytest
from agent_kit import checkpoint, new_id
from temporalio.client import Client
from test_agent_crash import start_worker, wait_for

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolOptions
from durable_llm.conversation import ModelRequest, ToolResultPart
from durable_llm.testing import FakeVendorServer, call_tools, reply


def team(marks: str) -> Agent:
    worker = Agent(
        name="worker",
        model="openai:gpt-5-mini",
        tools=[checkpoint],
        tool_options={"checkpoint": ToolOptions(heartbeat_timeout=timedelta(seconds=2))},
    )
    lead = Agent(
        name="lead",
        model="anthropic:claude-sonnet-4-5",
        tools=[worker.as_tool(name="delegate", description="Have the worker do a step.")],
    )
    return Agent(name="triage", model="gemini:gemini-2.5-flash", handoffs=[lead])


@pytest.mark.slow
async def test_a_team_survives_its_worker_being_killed_inside_a_child_agents_tool(temporal_env, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()

    def openai_script(request: ModelRequest):
        if request.messages[-1].role == "tool":
            return reply("step done")
        return call_tools(("checkpoint", {"folder": str(marks)}))

    def claude_script(request: ModelRequest):
        if any(isinstance(p, ToolResultPart) and p.name == "delegate" for p in request.messages[-1].parts):
            return reply("All steps done.")
        return call_tools(("delegate", {"input": "Pass the checkpoint."}))

    servers = [
        FakeVendorServer("gemini", responses=[call_tools(("transfer_to_lead", {}))]).start(),
        FakeVendorServer("anthropic", responses=claude_script).start(),
        FakeVendorServer("openai", responses=openai_script).start(),
    ]
    vendor_env = {key: value for server in servers for key, value in server.env().items()}
    task_queue = f"team-crash-{uuid.uuid4()}"
    first = start_worker(temporal_env, task_queue, vendor_env)
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        client = Client(temporal_env.client.service_client, plugins=[DurableLLMPlugin()])
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=team(str(marks)), message="Get it done."),
            id=new_id(),
            task_queue=task_queue,
        )
        wait_for(lambda: (marks / str(first.pid)).exists(), 30, "the child agent's tool to start")
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker(temporal_env, task_queue, vendor_env)
        result = await handle.result()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        for server in servers:
            server.close()

    assert second is not None
    assert result.output == "All steps done." and result.agent == "lead"
    assert [server.calls for server in servers] == [1, 2, 2]  # each completed model call reached its vendor once
    assert sorted(p.name for p in marks.iterdir()) == sorted([str(first.pid), str(second.pid)])
    assert set(result.usage_by_agent) == {"triage", "lead", "worker"}
