"""The `durable-llm` commands and the embedded Temporal server, against fake vendors and a real dev server.

The commands run in-process (typer's CliRunner) or as real processes where Ctrl-C and a second
terminal matter. They share one embedded server, which each command finds already running.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from durable_llm import Agent, AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin, ToolOptions, Usage
from durable_llm.cli import app
from durable_llm.cli.demo import NWSStub, scripted_weather_model
from durable_llm.cli.server import EmbeddedServer, EmbeddedServerError
from durable_llm.testing import FakeVendorServer, call_tools, reply

DURABLE_LLM = Path(sys.executable).parent / "durable-llm"
FIXTURES = Path(__file__).parent / "fixtures" / "nws"
CLEARED = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "NWS_BASE_URL",
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_PROFILE",
)

runner = CliRunner()


def free_ports(count: int = 2) -> list[int]:
    """Distinct free ports (all held open while choosing, so the OS cannot hand one out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def nws_routes() -> dict[str, object]:
    routes = json.loads((FIXTURES / "routes.json").read_text())
    return {path: json.loads((FIXTURES / name).read_text()) for path, name in routes.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[EmbeddedServer]:
    """One embedded dev server for the module; the commands reuse it."""
    port, ui_port = free_ports()
    embedded = EmbeddedServer(port=port, ui_port=ui_port, data_dir=tmp_path_factory.mktemp("server"))
    asyncio.run(embedded.start())
    yield embedded
    embedded.stop()


@pytest.fixture(scope="module")
def nws() -> Iterator[NWSStub]:
    with NWSStub(nws_routes()) as stub:
        yield stub


@pytest.fixture(autouse=True)
def environment(server, nws, tmp_path, monkeypatch) -> dict[str, str]:
    """No keys and no settings but those pointing at the shared server and the canned NWS."""
    for name in list(os.environ):
        if name.startswith("DURABLE_LLM_") or name in CLEARED:
            monkeypatch.delenv(name)
    settings = {
        "DURABLE_LLM_SERVER_PORT": str(server.port),
        "DURABLE_LLM_UI_PORT": str(server.ui_port),
        "DURABLE_LLM_DATA_DIR": str(server.data_dir),
        "TEMPORAL_CONFIG_FILE": str(tmp_path / "no-profile.toml"),
        **nws.env(),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return settings


@pytest.fixture
def fake_vendor(monkeypatch) -> Iterator[FakeVendorServer]:
    """A fake Anthropic (the default model's vendor) playing the weather script; its key is set."""
    with FakeVendorServer("anthropic", responses=scripted_weather_model) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        yield fake


def invoke(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def conversation_id(output: str, prefix: str) -> str:
    found = re.search(rf"\b{prefix}-[0-9a-f]+", output)
    assert found, output
    return found.group(0)


class Process:
    """A `durable-llm` command in its own process, its output read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.popen = subprocess.Popen(
            [str(DURABLE_LLM), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """The output up to the first line containing `text`."""
        while text not in self.output:
            try:
                self.output += self.lines.get(timeout=timeout)
            except queue.Empty:
                self.popen.kill()
                raise AssertionError(f"no {text!r} in {timeout} s; output so far:\n{self.output}") from None
        return self.output

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C; returns the exit code once the process is gone."""
        self.popen.send_signal(signal.SIGINT)
        code = self.popen.wait(timeout=timeout)
        while not self.lines.empty():
            self.output += self.lines.get()
        return code


def process_env(**extra: str) -> dict[str, str]:
    """This environment for a command process, which can import the test tools (`cli_tools`)."""
    path = os.pathsep.join(p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_executable_exits_with_the_commands_code_and_flushes_its_output():
    # `durable-llm` leaves through os._exit (no interpreter teardown racing Temporal's threads).
    done = subprocess.run(
        [str(DURABLE_LLM), "run", "hi", "-m", "bogus:x"], capture_output=True, text=True, env=process_env(), timeout=60
    )

    assert done.returncode == 2
    assert "model (from option --model): unknown provider 'bogus'" in done.stdout
    assert "e.g. --model gemini:gemini-2.5-flash" in done.stdout


# -- demo ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["anthropic:claude-sonnet-4-5", "openai:gpt-5-mini", "gemini:gemini-2.5-flash"])
def test_demo_without_keys_runs_offline_on_each_vendor_and_says_so(monkeypatch, model):
    monkeypatch.delenv("NWS_BASE_URL")  # the demo brings its own NWS sample when offline
    monkeypatch.setenv("DURABLE_LLM_MODEL", model)

    output = invoke("demo", "--think", "0")

    provider = model.partition(":")[0]
    assert f"No API key for {provider}" in output
    assert f"OFFLINE against a local fake {provider} server" in output
    assert "already running" in output  # the shared embedded server was reused
    assert '→ get_forecast({"latitude":37.7749,"longitude":-122.4194})' in output
    assert '→ get_alerts({"state":"CA"})' in output
    assert "← get_alerts: Event: Wind Advisory" in output
    assert "the first: Wind Advisory" in output
    assert "2 model call(s)" in output
    assert "durable-llm demo --conversation weather-demo-" in output


def test_demo_interrupted_with_ctrl_c_resumes_from_the_last_completed_step(environment):
    demo = Process("demo", "--think", "2", env=process_env())
    demo.wait_for("← get_alerts")  # the tools ran; the model now thinks about their results

    assert demo.interrupt() == 130
    assert "Interrupted. The conversation is safe in Temporal" in demo.output
    conversation = conversation_id(demo.output, "weather-demo")
    assert "agent: In San Francisco" not in demo.output

    resumed = invoke("demo", "--conversation", conversation, "--think", "0")

    assert f"Resuming {conversation}" in resumed
    assert "agent: In San Francisco" in resumed
    assert "2 model call(s)" in resumed
    history = json.loads(invoke("history", conversation, "--json"))
    assert [m["role"] for m in history["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert history["status"] == "completed"


# -- run, history, approve -----------------------------------------------------------------------


def test_run_prints_the_answer_tool_calls_and_usage(monkeypatch):
    script = [
        call_tools(
            ("get_forecast", {"latitude": 37.7749, "longitude": -122.4194}),
            usage=Usage(input_tokens=321, output_tokens=21),
        ),
        reply("Sunny this afternoon, 61°F.", usage=Usage(input_tokens=456, output_tokens=12, cached_input_tokens=300)),
    ]
    with FakeVendorServer("gemini", responses=script) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        output = invoke(
            "run",
            "Weather in San Francisco?",
            "-m",
            "gemini:gemini-2.5-flash",
            "-t",
            "durable_llm.cli.demo:WEATHER_TOOLS",
        )

    assert "you: Weather in San Francisco?" in output
    assert '→ get_forecast({"latitude":37.7749,"longitude":-122.4194})' in output
    assert "← get_forecast: This Afternoon: 61°F, wind 12 mph NW." in output  # from the canned NWS fixture
    assert "agent: Sunny this afternoon, 61°F." in output
    assert "2 model call(s) · 777 input tokens (300 cached) · 33 output tokens" in output
    assert [m.role for m in fake.requests[-1].messages] == ["user", "assistant", "tool"]
    assert {t.name for t in fake.requests[0].tools} == {"get_alerts", "get_forecast"}


def test_run_without_an_api_key_runs_offline_with_the_weather_tools_and_says_so():
    done = subprocess.run(
        [str(DURABLE_LLM), "run", "Any storms in Kansas today?"],
        capture_output=True,
        text=True,
        env=process_env(),
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "No API key for anthropic (set ANTHROPIC_API_KEY" in done.stdout.replace("\n", " ")
    assert "OFFLINE against a local fake anthropic server" in done.stdout
    assert '→ get_forecast({"latitude":37.7749,"longitude":-122.4194})' in done.stdout
    assert "← get_alerts: Event: Winter Storm Warning" in done.stdout  # the tools ran (canned NWS fixture)
    assert "agent: In San Francisco" in done.stdout
    assert "2 model call(s)" in done.stdout


def test_offline_is_used_when_asked_even_with_a_key(fake_vendor):
    output = invoke("run", "Hello?", "--offline", "--tools", "cli_tools:TOOLS")

    assert (
        "--offline: running OFFLINE against a local fake anthropic server (model anthropic:claude-sonnet-4-5)" in output
    )
    assert "agent: (A scripted offline answer: no real model runs.) You said: 'Hello?'" in output
    assert "Tools I was given: world_clock." in output
    assert fake_vendor.requests == []  # the key's vendor was not called


def test_bad_model_setting_fails_before_anything_starts(monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_MODEL", "claude-sonnet-4-5")

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 2
    assert "model (from environment variable DURABLE_LLM_MODEL)" in result.output
    assert "'claude-sonnet-4-5' is not 'provider:model'" in result.output


def test_history_prints_roles_tool_calls_and_tokens_or_json(fake_vendor):
    output = invoke("run", "Weather?", "--tools", "durable_llm.cli.demo:WEATHER_TOOLS")
    conversation = conversation_id(output, "run")

    readable = invoke("history", conversation)
    as_json = json.loads(invoke("history", conversation, "--json"))

    assert f"Conversation {conversation} (completed), 4 messages" in readable
    assert "you: Weather?" in readable
    assert '→ get_alerts({"state":"CA"})' in readable
    assert "← get_alerts: Event: Winter Storm Warning" in readable  # canned NWS fixture
    assert "the first: Winter Storm Warning" in readable
    assert "2 model call(s)" in readable
    assert as_json["conversation"] == conversation
    assert [m["role"] for m in as_json["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert as_json["usage"]["input_tokens"] > 0
    assert as_json["usage"]["cache_write_tokens"] == 0  # every field written, zero or not
    assert as_json["turns"] == 2


def test_history_of_an_unknown_conversation_is_a_clean_error():
    result = runner.invoke(app, ["history", "no-such-conversation"])

    assert result.exit_code == 1
    assert "Error" in result.output
    assert "Traceback" not in result.output


def test_approve_from_another_terminal_lets_a_waiting_tool_call_run(server, fake_vendor):
    from temporalio.client import Client

    agent = Agent(
        model="anthropic:claude-sonnet-4-5",
        tools=("get_alerts", "get_forecast"),
        tool_options={"get_alerts": ToolOptions(requires_approval=True)},
    )

    async def start_and_wait_for_approval() -> tuple[str, str]:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, message="weather?"),
            id=f"approve-{os.urandom(4).hex()}",
            task_queue="approvals",
        )
        while not (status := await handle.query(AgentWorkflow.status)).pending_approvals:
            await asyncio.sleep(0.1)
        return handle.id, status.pending_approvals[0].call_id

    async def result(conversation: str) -> AgentResult:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        return await client.get_workflow_handle(conversation, result_type=AgentResult).result()

    worker = Process(
        "worker", "--tools", "durable_llm.cli.demo:WEATHER_TOOLS", "--task-queue", "approvals", env=process_env()
    )
    worker.wait_for("Worker on task queue approvals")
    try:
        conversation, call_id = asyncio.run(start_and_wait_for_approval())
        waiting = invoke("history", conversation)
        output = invoke("approve", conversation, call_id)
        answer = asyncio.run(result(conversation))
    finally:
        assert worker.interrupt() == 130

    # The id `approve` takes is the status query's; the model's call id is shown with the call.
    assert f'Waiting for approval: get_alerts({{"state":"CA"}}) — durable-llm approve {conversation} {call_id}' in (
        waiting
    )
    assert re.search(r'→ get_alerts\(\{"state":"CA"\}\) \(id call_[0-9a-f]+\)', waiting), waiting
    assert f"Approved {call_id} in {conversation}" in output
    assert "the first: Winter Storm Warning" in answer.output


def test_approving_a_call_that_is_not_waiting_is_refused(server):
    from temporalio.client import Client

    async def start() -> str:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        agent = Agent(model="anthropic:claude-sonnet-4-5")
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=f"idle-{os.urandom(4).hex()}", task_queue="idle"
        )
        return handle.id

    conversation = asyncio.run(start())
    worker = Process("worker", "--task-queue", "idle", env=process_env(ANTHROPIC_API_KEY="unused"))
    worker.wait_for("Worker on task queue idle")
    try:
        result = runner.invoke(app, ["approve", conversation, "call_nope"])
    finally:
        assert worker.interrupt() == 130

    assert result.exit_code == 1
    assert "no tool call 'call_nope' is waiting for approval" in result.output


def test_approve_with_no_worker_polling_says_so_quickly_and_fails(server):
    from temporalio.client import Client

    async def start() -> str:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        handle = await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=Agent(model="anthropic:claude-sonnet-4-5"), message="hi"),
            id=f"orphan-{os.urandom(4).hex()}",
            task_queue="nobody-polls-this",
        )
        return handle.id

    conversation = asyncio.run(start())
    started = time.monotonic()
    done = subprocess.run(
        [str(DURABLE_LLM), "approve", conversation, "call_1"],
        capture_output=True,
        text=True,
        env=process_env(),
        timeout=60,
    )

    assert time.monotonic() - started < 30
    assert done.returncode == 1
    assert "no worker is serving task queue 'nobody-polls-this'" in done.stdout
    assert "start `durable-llm worker`" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_query_no_worker_answers_ends_in_a_clear_error(server, monkeypatch):
    from temporalio.client import Client

    from durable_llm.cli import workers
    from durable_llm.cli.exit import CommandError
    from durable_llm.queries import read_messages

    monkeypatch.setattr(workers, "WORKER_WAIT", 1.0)

    async def scenario() -> None:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        agent = Agent(model="anthropic:claude-sonnet-4-5")
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=f"mute-{os.urandom(4).hex()}", task_queue="mute"
        )
        with workers.answered_in_time(handle.id):
            await read_messages(handle, rpc_timeout=workers.query_timeout())

    with pytest.raises(CommandError, match="did not answer within 1 s: no worker is serving its task queue"):
        asyncio.run(scenario())


def test_offline_without_a_worker_here_is_refused_naming_the_worker_command():
    result = runner.invoke(app, ["run", "hi", "--no-worker", "--offline"])

    assert result.exit_code == 1
    assert "--offline applies to the worker that calls the model: give it to `durable-llm worker`" in result.output


def test_offline_chat_then_history_as_separate_processes():
    chat = subprocess.run(
        [str(DURABLE_LLM), "chat"],
        input="Weather in SF?\n",
        capture_output=True,
        text=True,
        env=process_env(),
        timeout=120,
    )
    assert chat.returncode == 0, chat.stdout + chat.stderr
    conversation = conversation_id(chat.stdout, "chat")

    history = subprocess.run(
        [str(DURABLE_LLM), "history", conversation], capture_output=True, text=True, env=process_env(), timeout=120
    )

    assert "running OFFLINE against a local fake anthropic server" in chat.stdout
    assert "agent: In San Francisco" in chat.stdout
    assert f"Left open: durable-llm chat --conversation {conversation}" in chat.stdout
    assert history.returncode == 0, history.stdout + history.stderr
    assert f"Conversation {conversation} (running), 4 messages" in history.stdout
    assert re.search(r'→ get_alerts\(\{"state":"CA"\}\) \(id call_[0-9a-f]+\)', history.stdout), history.stdout


# -- chat ----------------------------------------------------------------------------------------


def test_chat_takes_several_turns_then_reattaches_and_ends(fake_vendor, monkeypatch):
    first = invoke("chat", "-t", "durable_llm.cli.demo:WEATHER_TOOLS", input="Weather in SF?\nAnd alerts?\n")
    conversation = conversation_id(first, "chat")

    assert first.count('→ get_alerts({"state":"CA"})') == 2
    assert first.count("agent: In San Francisco") == 2
    assert f"Left open: durable-llm chat --conversation {conversation}" in first

    monkeypatch.setenv("DURABLE_LLM_MODEL", "openai:gpt-5-mini")
    second = invoke("chat", "--conversation", conversation, "-t", "durable_llm.cli.demo:WEATHER_TOOLS", input="/end\n")

    assert (
        f"Switched {conversation} from anthropic:claude-sonnet-4-5 to openai:gpt-5-mini (from environment variable "
        "DURABLE_LLM_MODEL)" in " ".join(second.split())
    )
    assert "you: Weather in SF?" in second  # the conversation so far, printed on re-attaching
    assert "you: And alerts?" in second
    assert "Conversation ended." in second
    history = json.loads(invoke("history", conversation, "--json"))
    assert [m["role"] for m in history["messages"]].count("user") == 2
    assert len(fake_vendor.requests) == 4
    listed = json.loads(invoke("list", "--json"))
    assert next(c for c in listed if c["id"] == conversation)["model"] == "openai:gpt-5-mini"


def test_chat_asks_before_running_a_tool_that_needs_approval(fake_vendor, monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_APPROVAL_REQUIRED", "get_alerts")

    output = invoke("chat", "-t", "durable_llm.cli.demo:WEATHER_TOOLS", input="Weather in SF?\ny\n")

    assert 'The agent wants to run get_alerts({"state":"CA"})' in output
    assert "← get_alerts: Event: Winter Storm Warning" in output
    assert "agent: In San Francisco" in output


def test_chat_rejection_goes_back_to_the_model(fake_vendor, monkeypatch):
    monkeypatch.setenv("DURABLE_LLM_APPROVAL_REQUIRED", "get_alerts")

    output = invoke("chat", "-t", "durable_llm.cli.demo:WEATHER_TOOLS", input="Weather in SF?\nn\n")

    assert "← get_alerts: the user rejected this call: the user said no" in output
    tool_message = fake_vendor.requests[-1].messages[-1]
    assert [p.is_error for p in tool_message.parts] == [False, True]


# -- worker and server ---------------------------------------------------------------------------


def test_worker_serves_a_run_started_elsewhere_and_stops_on_ctrl_c(fake_vendor):
    worker = Process("worker", "--tools", "durable_llm.cli.demo:WEATHER_TOOLS", env=process_env())
    worker.wait_for("Worker on task queue durable-llm; tools: get_alerts, get_forecast")

    output = invoke("run", "Weather?", "--no-worker", "--tools", "durable_llm.cli.demo:WEATHER_TOOLS")

    assert "agent: In San Francisco" in output
    assert worker.interrupt() == 130
    assert "Traceback" not in worker.output, worker.output


def test_worker_without_an_api_key_serves_offline(environment):
    worker = Process("worker", env=process_env(DURABLE_LLM_TASK_QUEUE="offline-worker"))
    output = worker.wait_for("Worker on task queue offline-worker; tools: get_alerts, get_forecast")
    try:
        done = subprocess.run(
            [str(DURABLE_LLM), "run", "Weather?", "--no-worker"],
            capture_output=True,
            text=True,
            env=process_env(DURABLE_LLM_TASK_QUEUE="offline-worker"),
            timeout=120,
        )
    finally:
        assert worker.interrupt() == 130

    assert "No API key for anthropic" in output
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Tools of the worker on offline-worker: get_alerts, get_forecast." in done.stdout
    assert "agent: In San Francisco" in done.stdout
    assert "Traceback" not in worker.output, worker.output


def test_chat_without_a_worker_uses_the_tools_the_worker_serves(tmp_path):
    script = [
        call_tools(("world_clock", {"city": "Paris"})),
        reply("It is noon in Paris."),
    ]
    queue = {"DURABLE_LLM_TASK_QUEUE": f"user-tools-{os.urandom(3).hex()}"}
    with FakeVendorServer("anthropic", responses=script) as fake:
        worker = Process("worker", "--tools", "cli_tools:TOOLS", env=process_env(**fake.env(), **queue))
        worker.wait_for("tools: world_clock. Ctrl-C to stop.")
        try:
            # The chat process has neither the tools nor a vendor key: the worker has both.
            chat = subprocess.run(
                [str(DURABLE_LLM), "chat", "--no-worker"],
                input="What time is it in Paris?\n",
                capture_output=True,
                text=True,
                env=process_env(**queue),
                timeout=120,
            )
            refused = subprocess.run(
                [str(DURABLE_LLM), "chat", "--no-worker", "--tools", "durable_llm.cli.demo:WEATHER_TOOLS"],
                input="Weather?\n",
                capture_output=True,
                text=True,
                env=process_env(**queue),
                timeout=120,
            )
        finally:
            assert worker.interrupt() == 130

    assert chat.returncode == 0, chat.stdout + chat.stderr
    assert f"Tools of the worker on {queue['DURABLE_LLM_TASK_QUEUE']}: world_clock." in chat.stdout
    assert '→ world_clock({"city":"Paris"})' in chat.stdout
    assert "← world_clock: 12:00 in Paris" in chat.stdout
    assert "agent: It is noon in Paris." in chat.stdout
    assert [t.name for t in fake.requests[0].tools] == ["world_clock"]
    assert refused.returncode == 1
    assert "does not run get_alerts, get_forecast (it runs: world_clock)" in refused.stdout
    assert "--tools / DURABLE_LLM_TOOLS" in refused.stdout


def test_reattaching_a_chat_without_a_worker_when_none_serves_it_is_refused_at_once(server):
    from temporalio.client import Client

    async def start() -> str:
        client = await Client.connect(server.address, plugins=[DurableLLMPlugin()])
        agent = Agent(model="anthropic:claude-sonnet-4-5")
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=f"idle-{os.urandom(4).hex()}", task_queue="gone"
        )
        return handle.id

    conversation = asyncio.run(start())
    done = subprocess.run(
        [str(DURABLE_LLM), "chat", "--no-worker", "--conversation", conversation],
        input="Hello?\n",
        capture_output=True,
        text=True,
        env=process_env(),
        timeout=60,
    )

    assert done.returncode == 1
    assert "no worker is serving task queue 'gone'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_chat_without_a_worker_and_without_one_running_is_refused_at_once():
    done = subprocess.run(
        [str(DURABLE_LLM), "chat", "--no-worker"],
        input="Hello?\n",
        capture_output=True,
        text=True,
        env=process_env(DURABLE_LLM_TASK_QUEUE=f"nobody-{os.urandom(3).hex()}"),
        timeout=60,
    )

    assert done.returncode == 1
    assert "no worker is serving task queue 'nobody-" in done.stdout
    assert "start `durable-llm worker`" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_server_starts_the_dev_server_and_ui_and_stops_on_ctrl_c(tmp_path, monkeypatch):
    port, ui_port = free_ports()
    env = process_env(
        DURABLE_LLM_SERVER_PORT=str(port), DURABLE_LLM_UI_PORT=str(ui_port), DURABLE_LLM_DATA_DIR=str(tmp_path / "d")
    )
    server = Process("server", env=env)
    output = server.wait_for("Ctrl-C to stop")

    assert f"Temporal dev server on 127.0.0.1:{port}" in output
    assert f"Web UI: http://127.0.0.1:{ui_port}" in output
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}") as page:
        assert page.status == 200
    assert (tmp_path / "d" / "temporal.db").exists()
    assert server.interrupt() == 130
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "the dev server outlived the command"


def test_a_second_server_on_the_same_data_directory_is_refused_and_another_directory_works(tmp_path):
    first_port, first_ui, second_port, second_ui = free_ports(4)
    first = Process(
        "server",
        env=process_env(
            DURABLE_LLM_SERVER_PORT=str(first_port),
            DURABLE_LLM_UI_PORT=str(first_ui),
            DURABLE_LLM_DATA_DIR=str(tmp_path / "one"),
        ),
    )
    first.wait_for("Ctrl-C to stop")
    try:
        same_directory = subprocess.run(
            [str(DURABLE_LLM), "server"],
            capture_output=True,
            text=True,
            timeout=60,
            env=process_env(
                DURABLE_LLM_SERVER_PORT=str(second_port),
                DURABLE_LLM_UI_PORT=str(second_ui),
                DURABLE_LLM_DATA_DIR=str(tmp_path / "one"),
            ),
        )
        same_port = subprocess.run(
            [str(DURABLE_LLM), "server"],
            capture_output=True,
            text=True,
            timeout=60,
            env=process_env(DURABLE_LLM_SERVER_PORT=str(first_port), DURABLE_LLM_DATA_DIR=str(tmp_path / "two")),
        )
        second = Process(
            "server",
            env=process_env(
                DURABLE_LLM_SERVER_PORT=str(second_port),
                DURABLE_LLM_UI_PORT=str(second_ui),
                DURABLE_LLM_DATA_DIR=str(tmp_path / "two"),
            ),
        )
        second_output = second.wait_for("Ctrl-C to stop")
        assert second.interrupt() == 130
    finally:
        assert first.interrupt() == 130

    assert same_directory.returncode == 1
    assert f"a Temporal server already serves {tmp_path / 'one'}, on 127.0.0.1:{first_port}" in same_directory.stdout
    assert same_port.returncode == 1
    assert f"port {first_port} is taken by another program" in same_port.stdout
    assert f"DURABLE_LLM_TEMPORAL_ADDRESS=127.0.0.1:{first_port}" in same_port.stdout
    assert (
        f"Temporal dev server on 127.0.0.1:{second_port}, data in {tmp_path / 'two' / 'temporal.db'}" in second_output
    )


def test_an_example_killed_with_sigterm_leaves_no_dev_server_running(tmp_path):
    port, ui_port = free_ports()
    example = Path(__file__).parent.parent / "examples" / "human_in_the_loop.py"
    env = process_env(
        DURABLE_LLM_SERVER_PORT=str(port), DURABLE_LLM_UI_PORT=str(ui_port), DURABLE_LLM_DATA_DIR=str(tmp_path)
    )
    script = subprocess.Popen(
        [sys.executable, str(example)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert script.stdout is not None
    for line in script.stdout:  # waits for a person: the embedded server is up
        if "Approve it from another terminal" in line:
            break
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) == 0

    script.send_signal(signal.SIGTERM)
    script.wait(timeout=30)

    deadline = time.monotonic() + 20
    while port_open(port) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_open(port), "the dev server outlived the example"


# -- the embedded server -------------------------------------------------------------------------


def test_embedded_server_keeps_conversations_across_restarts(tmp_path):
    async def scenario() -> tuple[str, str, str]:
        from temporalio.client import Client, WorkflowExecutionStatus

        port, ui_port = free_ports()
        agent = Agent(model="anthropic:claude-sonnet-4-5")
        async with EmbeddedServer(port=port, ui_port=ui_port, data_dir=tmp_path) as first:
            assert first.started
            client = await Client.connect(first.address, plugins=[DurableLLMPlugin()])
            handle = await client.start_workflow(
                AgentWorkflow.run, AgentInput(agent=agent, chat=True), id="kept", task_queue="nobody-polls"
            )
            run_id = handle.result_run_id
        async with EmbeddedServer(port=port, ui_port=ui_port, data_dir=tmp_path) as second:
            client = await Client.connect(second.address)
            description = await client.get_workflow_handle("kept").describe()
            assert description.status == WorkflowExecutionStatus.RUNNING
            return str(run_id), description.run_id, second.db_file.name

    first_run, second_run, db = asyncio.run(scenario())

    assert first_run == second_run
    assert db == "temporal.db"


def test_embedded_server_reuses_one_already_running_and_leaves_it_running(server):
    async def scenario() -> bool:
        async with EmbeddedServer(port=server.port, data_dir=server.data_dir) as again:
            return again.started

    assert asyncio.run(scenario()) is False
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", server.port)) == 0


def test_embedded_server_refuses_a_port_held_by_something_else(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]

        with pytest.raises(EmbeddedServerError, match=f"port {port} is taken by another program"):
            asyncio.run(EmbeddedServer(port=port, data_dir=tmp_path).start())


@pytest.mark.parametrize("command", ["demo", "run", "chat", "history", "list", "approve", "worker", "server", "ui"])
def test_help_screens_show_no_type_placeholders_and_keep_paragraphs_whole(command):
    output = runner.invoke(app, [command, "--help"], terminal_width=100).output

    assert "<bool>" not in output and "<list[str]>" not in output
    assert all(line == line.rstrip() for line in output.splitlines()), output  # no lines padded to the box
    if command == "demo":
        flat = " ".join(output.split())
        assert "a local fake of that vendor answers (through the vendor's real SDK and wire format)" in flat


def test_the_status_line_previews_the_answer_being_written_and_starts_over_on_a_new_call():
    from durable_llm.cli.render import LiveAnswer as _LiveAnswer
    from durable_llm.events import Delta

    def piece(text: str, call: str = "7", attempt: int = 1, kind: str = "text", position: int = 0) -> Delta:
        return Delta(delta=kind, text=text, call=call, attempt=attempt, agent="agent", position=position)  # type: ignore[arg-type]

    live = _LiveAnswer()
    assert live.receive(piece("Sunny in Paris, ")) is True
    assert live.receive(piece('{"city":', kind="tool_arguments")) is False  # not text: not shown
    assert live.receive(piece("21 degrees\nand a light wind.", position=16)) is False
    assert live.preview(80) == "Sunny in Paris, 21 degrees and a light wind."
    assert live.preview(12) == "…light wind."
    assert live.receive(piece("gentle breeze.", position=33)) is False  # set right from where it differs
    assert live.preview(80) == "Sunny in Paris, 21 degrees and a gentle breeze."
    assert live.receive(piece("Sunny", attempt=2)) is True  # the call is retried: starts over
    assert live.preview(80) == "Sunny"
    assert live.receive(piece("Cloudy", call="9")) is True
    assert live.preview(80) == "Cloudy"
    live.forget()
    assert live.preview(80) is None


def test_list_shows_conversations_newest_first_with_their_agent_model_turns_and_tokens(fake_vendor):
    invoke("run", "Weather in Paris?")
    newest = conversation_id(invoke("run", "And in Oslo?"), "run")

    for _ in range(50):  # the server's visibility store catches up within moments
        rows = json.loads(invoke("list", "--state", "completed", "--json"))
        if rows and rows[0]["id"] == newest:
            break
        time.sleep(0.1)
    assert rows[0]["id"] == newest
    assert {k: rows[0][k] for k in ("agent", "model", "state", "turns")} == {
        "agent": "agent",
        "model": "anthropic:claude-sonnet-4-5",
        "state": "completed",
        "turns": 2,
    }
    assert rows[0]["tokens"] > 0 and rows[0]["last_activity"] >= rows[1]["last_activity"]
    table = invoke("list")
    assert "conversation" in table and "tokens" in table and newest[:12] in table
    assert "No conversations timed_out" in invoke("list", "--state", "timed_out")
    refused = runner.invoke(app, ["list", "--state", "asleep"])
    assert refused.exit_code != 0 and "unknown state 'asleep'" in refused.output
