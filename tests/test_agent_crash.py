"""A worker process killed with SIGKILL in the middle of a tool call: another one finishes the conversation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from agent_kit import checkpoint, new_id
from temporalio.client import Client

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, ToolOptions
from durable_llm.testing import FakeVendorServer, call_tools, reply

WORKER = Path(__file__).with_name("agent_worker_process.py")


def start_worker(env, task_queue: str, vendor_env: dict[str, str], stream: bool = False) -> subprocess.Popen:
    target = env.client.service_client.config.target_host
    return subprocess.Popen(
        [sys.executable, str(WORKER), target, env.client.namespace, task_queue, *(["stream"] if stream else [])],
        env={**os.environ, **vendor_env},
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.mark.slow
async def test_a_conversation_survives_its_worker_being_killed_mid_tool(temporal_env, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    server = FakeVendorServer(
        "openai", responses=[call_tools(("checkpoint", {"folder": str(marks)})), reply("All steps done.")]
    ).start()
    task_queue = f"crash-{uuid.uuid4()}"
    first = start_worker(temporal_env, task_queue, server.env())
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        client = Client(temporal_env.client.service_client, plugins=[DurableLLMPlugin()])
        agent = Agent(
            model="openai:gpt-5-mini",
            tools=[checkpoint],
            tool_options={"checkpoint": ToolOptions(heartbeat_timeout=timedelta(seconds=2))},
        )
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, message="Pass the checkpoint."),
            id=new_id(),
            task_queue=task_queue,
        )
        wait_for(lambda: (marks / str(first.pid)).exists(), 20, "the first worker to start the tool")
        first.send_signal(signal.SIGKILL)
        killed, killed_at = time.monotonic(), time.time()
        first.wait()
        second = start_worker(temporal_env, task_queue, server.env())
        result = await handle.result()
        recovery = time.monotonic() - killed
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        server.close()
    resumed = (marks / str(second.pid)).stat().st_mtime - killed_at
    print(f"worker SIGKILLed mid-tool: tool re-run {resumed:.2f} s later, conversation finished {recovery:.2f} s later")
    assert result.output == "All steps done."
    assert result.messages[2].parts[0].text == f"checkpoint passed in process {second.pid}"
    assert sorted(p.name for p in marks.iterdir()) == sorted([str(first.pid), str(second.pid)])
    assert server.calls == 2  # each model call reached the vendor exactly once
    # Recovery: the interrupted step runs again on the new worker. Measured here: ~4.0 s = the 2 s heartbeat
    # timeout + ~1 s before the server acts on it + the 1 s retry interval. Finishing then takes the step's own
    # 1 s, the dead worker's sticky queue timeout (1 s in the worker process) and the last model call.
    assert resumed < 60  # noticed by the 2 s heartbeat timeout, not the tool's 5-minute timeout


@pytest.mark.slow
async def test_a_tool_that_is_not_idempotent_is_not_run_again_after_its_worker_is_lost(temporal_env, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    server = FakeVendorServer(
        "openai", responses=[call_tools(("checkpoint", {"folder": str(marks)})), reply("I will check the order.")]
    ).start()
    task_queue = f"crash-{uuid.uuid4()}"
    first = start_worker(temporal_env, task_queue, server.env())
    second = None
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        client = Client(temporal_env.client.service_client, plugins=[DurableLLMPlugin()])
        agent = Agent(
            model="openai:gpt-5-mini",
            tools=[checkpoint],
            tool_options={"checkpoint": ToolOptions(idempotent=False, heartbeat_timeout=timedelta(seconds=2))},
        )
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="Charge it."), id=new_id(), task_queue=task_queue
        )
        wait_for(lambda: (marks / str(first.pid)).exists(), 20, "the first worker to start the tool")
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = start_worker(temporal_env, task_queue, server.env())
        result = await handle.result()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        server.close()
    assert [p.name for p in marks.iterdir()] == [str(first.pid)]  # never started again
    outcome = result.messages[2].parts[0]
    assert outcome.is_error and "the outcome of checkpoint is unknown" in outcome.text
    assert "the outcome of checkpoint is unknown" in server.requests[1].messages[2].parts[0].text
    assert result.output == "I will check the order."
