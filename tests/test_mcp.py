"""MCP tool servers as agent tools, against a real MCP server (tests/mcp_server.py) over stdio and HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from agent_kit import agent_worker, get_weather, new_id
from temporalio.worker import Replayer

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, MCPServer, ToolOptions, Usage
from durable_llm.testing import FakeVendorServer, ScriptedModel, call_tools, reply

SERVER = str(Path(__file__).parent / "mcp_server.py")
STDIO = MCPServer.stdio([sys.executable, SERVER, "stdio"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving_http():
    """The test MCP server over Streamable HTTP, in a process of its own; yields (MCPServer, process)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the MCP test server did not start") from None
            time.sleep(0.05)
    try:
        yield MCPServer.http(f"http://127.0.0.1:{port}/mcp", headers={"X-Test": "1"}, prefix="geo_"), process
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def http_server():
    with serving_http() as served:
        yield served


@pytest.fixture(scope="module")
def shared_http_server():
    """One server for the tests that do not stop it."""
    with serving_http() as (server, _):
        yield server


async def converse(env, agent: Agent, model: ScriptedModel, message: str = "go"):
    plugin = DurableLLMPlugin(tools=[get_weather], scripted_models={"mcp": model})
    async with agent_worker(env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message=message), id=new_id(), task_queue=queue
        )
        return await handle.result(), handle


def results(model: ScriptedModel, index: int = 1):
    """The tool results the model was shown in its `index`-th call."""
    return model.requests[index].messages[-1].parts


async def test_stdio_server_tools_join_the_agent_and_answer_calls(temporal_env):
    model = ScriptedModel(
        [
            call_tools(("add", {"a": 2, "b": 3}), ("describe", {"point": {"x": 1, "y": 2}}), ("snapshot", {})),
            "done",
        ]
    )
    agent = Agent(model="test:mcp", tools=[get_weather, STDIO])
    result, handle = await converse(temporal_env, agent, model)
    assert result.output == "done"
    first = model.requests[0]
    assert [t.name for t in first.tools] == ["get_weather", "add", "describe", "refuse", "snapshot", "crash"]
    describe = next(t for t in first.tools if t.name == "describe")
    # The schema went through the same cleaning as a function's: inlined $defs, no titles.
    assert describe.parameters["properties"]["point"] == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
    }
    assert "title" not in json.dumps(describe.parameters)
    added, described, picture = results(model)
    assert (added.value, added.text, added.is_error) == ({"result": 5}, "5", False)
    assert described.text == "here: (1, 2)"
    assert [p.kind for p in picture.content] == ["media", "text"]
    assert picture.content[0].mime_type == "image/png" and picture.content[1].text == "a tiny picture"
    # Listed once, in one activity: the second model call did not list again.
    history = await handle.fetch_history()
    types = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert types.count("durable_llm.list_mcp_tools") == 1
    assert types.count("durable_llm.call_mcp_tool") == 3
    # The finished history replays without asking the server anything.
    await Replayer(workflows=[], plugins=[DurableLLMPlugin()]).replay_workflow(history)


async def test_an_agent_handed_to_calls_its_own_mcp_server(temporal_env):
    model = ScriptedModel([call_tools(("transfer_to_maths", {})), call_tools(("add", {"a": 2, "b": 3})), "5"])
    maths = Agent(name="maths", model="test:mcp", tools=[STDIO], description="Does sums.")
    agent = Agent(name="triage", model="test:mcp", tools=[get_weather], handoffs=[maths])
    result, handle = await converse(temporal_env, agent, model)
    assert (result.output, result.agent) == ("5", "maths")
    assert [t.name for t in model.requests[0].tools] == ["get_weather", "transfer_to_maths"]
    assert "add" in [t.name for t in model.requests[1].tools]
    (added,) = results(model, 2)
    assert (added.value, added.is_error) == ({"result": 5}, False)
    history = await handle.fetch_history()
    await Replayer(workflows=[], plugins=[DurableLLMPlugin()]).replay_workflow(history)


async def test_a_server_tool_never_shadows_a_transfer_tool(temporal_env):
    model = ScriptedModel(["ok"])
    shadowing = MCPServer.stdio([sys.executable, SERVER, "stdio"], prefix="transfer_to_")
    agent = Agent(name="triage", model="test:mcp", tools=[shadowing], handoffs=[Agent(name="add", model="test:mcp")])
    result, _ = await converse(temporal_env, agent, model)
    names = [t.name for t in model.requests[0].tools]
    assert result.output == "ok" and names.count("transfer_to_add") == 1
    assert "transfer_to_describe" in names  # the server's other tools are kept


async def test_bad_arguments_and_tool_errors_reach_the_model(temporal_env):
    model = ScriptedModel(
        [
            call_tools(("add", {"a": "two", "b": 3}), ("refuse", {"reason": "no way"}), ("nothing", {}), ("crash", {})),
            "ok",
        ]
    )
    agent = Agent(model="test:mcp", tools=[STDIO])
    result, _ = await converse(temporal_env, agent, model)
    assert result.output == "ok" and result.stop_reason == "completed"
    invalid, refused, unknown, crashed = results(model)
    assert invalid.is_error and "Invalid arguments for tool 'add'" in invalid.text and "'a'" in invalid.text
    assert refused.is_error and "refused: no way" in refused.text
    assert unknown.is_error and "no tool named 'nothing'" in unknown.text
    assert crashed.is_error and "crash failed (MCP server" in crashed.text


async def test_streamable_http_server_with_prefix_and_approval(temporal_env, http_server):
    server, _ = http_server
    model = ScriptedModel([call_tools(("geo_add", {"a": 40, "b": 2})), "42"])
    agent = Agent(model="test:mcp", tools=[server], tool_options={"geo_add": ToolOptions(requires_approval=True)})
    plugin = DurableLLMPlugin(scripted_models={"mcp": model})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        handle = await client.start_workflow(
            AgentWorkflow.run, AgentInput(agent=agent, message="40+2?"), id=new_id(), task_queue=queue
        )
        from agent_kit import wait_for_state

        status = await wait_for_state(handle, "waiting_for_approval")
        [pending] = status.pending_approvals
        assert pending.name == "geo_add"
        await handle.execute_update("approve_tool_call", args=[pending.call_id, True, None])
        result = await handle.result()
    assert result.output == "42"
    assert "geo_add" in [t.name for t in model.requests[0].tools]
    [added] = results(model)
    assert added.value == {"result": 42} and not added.is_error


async def test_a_server_that_dies_mid_conversation_is_a_tool_error(temporal_env, http_server):
    server, process = http_server
    model = ScriptedModel(
        [
            call_tools(("geo_crash", {})),  # the server exits mid-call
            call_tools(("geo_add", {"a": 1, "b": 1})),  # nobody listens any more
            "sorry",
        ]
    )
    agent = Agent(model="test:mcp", tools=[server, get_weather])
    result, _ = await converse(temporal_env, agent, model)
    assert result.output == "sorry" and result.stop_reason == "completed"
    assert process.wait(timeout=5) == 3
    [crashed] = results(model, 1)
    [refused] = results(model, 2)
    assert crashed.is_error and "geo_crash failed (MCP server http://127.0.0.1" in crashed.text
    assert refused.is_error and "geo_add failed" in refused.text


async def test_a_server_down_from_the_start_leaves_the_agent_without_its_tools(temporal_env):
    down = MCPServer.http(f"http://127.0.0.1:{free_port()}/mcp")
    model = ScriptedModel(["fine without it"])
    result, _ = await converse(temporal_env, Agent(model="test:mcp", tools=[get_weather, down]), model)
    assert result.output == "fine without it"
    assert [t.name for t in model.requests[0].tools] == ["get_weather"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
async def test_each_vendor_calls_an_mcp_tool(temporal_env, provider, monkeypatch, shared_http_server):
    models = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
    script = [
        call_tools(("geo_describe", {"point": {"x": 3, "y": 4}, "label": "home"}), usage=Usage(input_tokens=9)),
        reply("home is at (3, 4)"),
    ]
    with FakeVendorServer(provider, responses=script) as vendor:
        for key, value in vendor.env().items():
            monkeypatch.setenv(key, value)
        agent = Agent(model=f"{provider}:{models[provider]}", tools=[shared_http_server])
        plugin = DurableLLMPlugin()
        async with agent_worker(temporal_env, plugin) as (client, queue):
            handle = await client.start_workflow(
                AgentWorkflow.run, AgentInput(agent=agent, message="where?"), id=new_id(), task_queue=queue
            )
            result = await handle.result()
        first, second = vendor.requests
    assert result.output == "home is at (3, 4)"
    assert "geo_describe" in [t.name for t in first.tools]
    [described] = second.messages[-1].parts
    assert "home: (3, 4)" in (described.text or json.dumps(described.value)), described
    assert not described.is_error
    await Replayer(workflows=[], plugins=[DurableLLMPlugin()]).replay_workflow(await handle.fetch_history())


def test_mcp_server_values_are_checked():
    with pytest.raises(TypeError, match="list of program and arguments"):
        MCPServer.stdio("python -m server")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="http:// or https:// url"):
        MCPServer.http("localhost:8000/mcp")
    agent = Agent(model="test:x", tools=[STDIO], tool_options={"add": ToolOptions(requires_approval=True)})
    assert Agent.model_validate_json(agent.model_dump_json()) == agent


def test_mcp_content_maps_to_the_neutral_tool_result():
    from mcp.types import BlobResourceContents, CallToolResult, EmbeddedResource, ResourceLink, TextResourceContents

    from durable_llm.conversation import ToolCallPart
    from durable_llm.mcp_activities import as_tool_result

    call = ToolCallPart(id="c1", name="files", arguments_raw="{}")
    outcome = CallToolResult(
        content=[
            EmbeddedResource(type="resource", resource=TextResourceContents(uri="file:///a.txt", text="alpha")),
            EmbeddedResource(
                type="resource",
                resource=BlobResourceContents(uri="file:///b.pdf", blob="JVBERg==", mime_type="application/pdf"),
            ),
            ResourceLink(type="resource_link", uri="file:///c.txt", name="c"),
        ],
        structured_content={"files": 3},
    )
    result = as_tool_result(call, outcome)
    text, pdf, link = result.content
    assert (result.call_id, result.name, result.value, result.is_error) == ("c1", "files", {"files": 3}, False)
    assert text.text == "alpha" and link.text == "resource file:///c.txt (c)"
    assert (pdf.media_type, pdf.mime_type, pdf.data) == ("document", "application/pdf", "JVBERg==")
    failed = as_tool_result(call, CallToolResult(content=[], is_error=True))
    assert failed.is_error and failed.text == "the tool failed"


def test_an_mcp_schema_is_cleaned_and_names_checked():
    from durable_llm.tools import ToolDefinitionError, schema_tool_spec

    spec = schema_tool_spec(
        "find",
        "Find things.",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "findArguments",
            "type": "object",
            "$defs": {"Box": {"title": "Box", "type": "object", "properties": {"w": {"type": "number"}}}},
            "properties": {"box": {"$ref": "#/$defs/Box"}, "q": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
        },
    )
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "box": {"type": "object", "properties": {"w": {"type": "number"}}},
            "q": {"type": ["string", "null"]},
        },
    }
    with pytest.raises(ToolDefinitionError, match="not accepted by every vendor"):
        schema_tool_spec("files/read", None, {"type": "object"})
