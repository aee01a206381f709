"""The examples, run offline: fake vendor servers, a canned National Weather Service, a real Temporal dev server."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_llm import DurableLLMPlugin, tool_spec
from durable_llm.cli.demo import NWSStub, get_alerts, get_forecast
from durable_llm.testing import FakeVendorServer

EXAMPLES = Path(__file__).parent.parent / "examples"
FIXTURES = Path(__file__).parent / "fixtures" / "nws"
sys.path.insert(0, str(EXAMPLES))

import agent_team  # noqa: E402
import embed_in_existing_workflow  # noqa: E402
import fallback_models  # noqa: E402
import human_in_the_loop  # noqa: E402
import message_with_files  # noqa: E402
import structured_output  # noqa: E402
import switch_provider  # noqa: E402

VENDOR_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_BASE_URL",
    "GOOGLE_GEMINI_BASE_URL",
    "OLLAMA_HOST",
)


def nws_routes() -> dict[str, object]:
    routes = json.loads((FIXTURES / "routes.json").read_text())
    return {path: json.loads((FIXTURES / name).read_text()) for path, name in routes.items()}


@pytest.fixture
def nws(monkeypatch) -> Iterator[NWSStub]:
    with NWSStub(nws_routes()) as stub:
        monkeypatch.setenv("NWS_BASE_URL", stub.base_url)
        yield stub


@pytest.fixture(autouse=True)
def no_keys(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("DURABLE_LLM_") or name in VENDOR_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def fakes(monkeypatch) -> Iterator[Callable[..., dict[str, FakeVendorServer]]]:
    """Start fake vendors playing a script, with the environment pointing at them; closed after the test."""
    started: list[FakeVendorServer] = []

    def start(script, providers=("openai", "anthropic", "gemini", "ollama")) -> dict[str, FakeVendorServer]:
        servers = {provider: FakeVendorServer(provider, responses=script).start() for provider in providers}
        for server in servers.values():
            started.append(server)
            for name, value in server.env().items():
                monkeypatch.setenv(name, value)
        return servers

    yield start
    for server in started:
        server.close()


def client_for(env: WorkflowEnvironment, plugin: DurableLLMPlugin) -> Client:
    return Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])


# -- the weather tools ---------------------------------------------------------------------------


async def test_forecast_goes_from_the_point_to_its_forecast_and_keeps_four_periods(nws):
    text = await get_forecast(latitude=37.7749, longitude=-122.4194)

    assert nws.paths == ["/points/37.7749,-122.4194", "/gridpoints/MTR/85,105/forecast"]
    periods = text.split("\n---\n")
    assert len(periods) == 4
    assert periods[0] == (
        "This Afternoon: 61°F, wind 12 mph NW. Sunny, with a high near 61. Northwest wind around 12 mph."
    )


async def test_coordinates_are_rounded_to_the_four_decimals_nws_accepts(nws):
    await get_forecast(latitude=37.774929, longitude=-122.419416)

    assert nws.paths[0] == "/points/37.7749,-122.4194"


async def test_alerts_list_event_area_severity_and_instructions(nws):
    text = await get_alerts(state="ca")

    assert nws.paths == ["/alerts/active?area=CA"]
    first, second = text.split("\n---\n")
    assert first.splitlines()[:3] == [
        "Event: Winter Storm Warning",
        "Area: Sierra Nevada from Yosemite to Kings Canyon",
        "Severity: Severe",
    ]
    assert "Instructions: none given" in second


async def test_a_state_without_alerts_says_so(nws):
    assert await get_alerts(state="VT") == "No active alerts for VT."


async def test_a_point_outside_the_us_is_an_error_the_model_can_read(nws):
    with pytest.raises(LookupError, match="covers the US only"):
        await get_forecast(latitude=48.8566, longitude=2.3522)


def test_the_tools_docstrings_are_their_schema():
    forecast, alerts = tool_spec(get_forecast), tool_spec(get_alerts)

    assert forecast.description == "Get the weather forecast for a location in the United States."
    assert forecast.parameters["required"] == ["latitude", "longitude"]
    assert forecast.parameters["properties"]["latitude"] == {
        "type": "number",
        "description": "Latitude of the location, in degrees.",
    }
    assert alerts.parameters["properties"]["state"]["description"] == "Two-letter US state code, e.g. CA or NY."


# -- examples/weather_agent.py -------------------------------------------------------------------


async def test_weather_agent_example_runs_as_a_script_without_keys(temporal_env, nws):
    address = temporal_env.client.service_client.config.target_host
    env = {**os.environ, "DURABLE_LLM_TEMPORAL_ADDRESS": address, "DURABLE_LLM_MODEL": "gemini:gemini-2.5-flash"}

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLES / "weather_agent.py"), "Weather in San Francisco?"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "(no GEMINI_API_KEY: a local fake gemini server answers from a script)" in done.stdout
    assert 'tool call: get_forecast({"latitude":37.7749,"longitude":-122.4194})' in done.stdout
    # Printed as it streamed in: the canned NWS fixture, through the tool.
    assert "agent: In San Francisco — This Afternoon: 61°F" in done.stdout
    assert "California has 2 active alert(s); the first: Winter Storm Warning." in done.stdout
    assert "2 model calls" in done.stdout
    assert sorted(nws.paths) == [
        "/alerts/active?area=CA",
        "/gridpoints/MTR/85,105/forecast",
        "/points/37.7749,-122.4194",
    ]


# -- examples/switch_provider.py -----------------------------------------------------------------


@pytest.fixture
async def capitals_worker(temporal_env) -> Iterator[Client]:
    client = client_for(temporal_env, DurableLLMPlugin(tools=[switch_provider.lookup_capital]))
    async with Worker(client, task_queue=switch_provider.TASK_QUEUE, workflows=[switch_provider.ContinueConversation]):
        yield client


async def test_the_same_agent_runs_on_each_vendor_by_configuration_only(fakes, capitals_worker):
    servers = fakes(switch_provider.scripted_model)

    results = await switch_provider.ask_everywhere(capitals_worker, "What is the capital of France?")

    assert {model: r.output for model, r in results.items()} == dict.fromkeys(
        switch_provider.MODELS, "That capital is Paris."
    )
    for provider, server in servers.items():
        assert len(server.requests) == 2, provider
        assert server.requests[0].instructions == switch_provider.INSTRUCTIONS
        assert [t.name for t in server.requests[0].tools] == ["lookup_capital"]


async def test_one_conversation_continues_from_vendor_to_vendor(fakes, capitals_worker):
    servers = fakes(switch_provider.scripted_model)

    results = await switch_provider.hop_between_vendors(
        capitals_worker, ["What is the capital of Japan?", "And of Brazil?", "And of Kenya?", "And of Canada?"]
    )

    assert [r.output for r in results] == [
        "That capital is Tokyo.",
        "That capital is Brasília.",
        "That capital is Nairobi.",
        "That capital is Ottawa.",
    ]
    # Claude saw OpenAI's turn; Gemini saw both, with the placeholder signature on calls it did not make.
    claude_first = servers["anthropic"].requests[0]
    assert [m.text for m in claude_first.messages if m.role == "user"] == [
        "What is the capital of Japan?",
        "And of Brazil?",
    ]
    gemini_body = json.dumps(servers["gemini"].raw_requests[0].body)
    assert gemini_body.count("skip_thought_signature_validator") == 2
    assert "Tokyo" in gemini_body and "Bras" in gemini_body
    # The local model, through Chat Completions, saw the whole conversation, each result answering its call.
    local = servers["ollama"].raw_requests[0]
    assert local.path == "/v1/chat/completions"
    history = local.body["messages"]
    assert [m["content"] for m in history if m["role"] == "tool"] == ["Tokyo", "Brasília", "Nairobi"]
    calls = [c["id"] for m in history if m["role"] == "assistant" for c in m.get("tool_calls") or ()]
    assert [m["tool_call_id"] for m in history if m["role"] == "tool"] == calls


async def test_one_running_chat_is_switched_from_vendor_to_vendor(fakes, capitals_worker):
    servers = fakes(switch_provider.scripted_model)

    answers = await switch_provider.switch_a_running_chat(
        capitals_worker, ["What is the capital of Japan?", "And of Brazil?", "And of Kenya?", "And of Canada?"]
    )

    assert answers == [
        "That capital is Tokyo.",
        "That capital is Brasília.",
        "That capital is Nairobi.",
        "That capital is Ottawa.",
    ]
    assert [len(servers[p].requests) for p in ("openai", "anthropic", "gemini", "ollama")] == [2, 2, 2, 2]
    # The local model was sent the whole chat: every earlier vendor's tool results, each answering its call.
    history = servers["ollama"].raw_requests[0].body["messages"]
    assert [m["content"] for m in history if m["role"] == "tool"] == ["Tokyo", "Brasília", "Nairobi"]


# -- examples/embed_in_existing_workflow.py ------------------------------------------------------


async def test_an_agent_is_one_step_of_the_users_order_workflow(fakes, temporal_env):
    (server,) = fakes(embed_in_existing_workflow.scripted_model, providers=("anthropic",)).values()
    client = client_for(temporal_env, DurableLLMPlugin(tools=[embed_in_existing_workflow.shipping_estimate]))
    order = embed_in_existing_workflow.Order(
        order_id=uuid.uuid4().hex[:6],
        customer_email="ada@example.com",
        skus=("KB-101", "KB-102"),
        model="anthropic:claude-sonnet-4-5",
    )

    outcome = await embed_in_existing_workflow.process(client, order)

    assert outcome.backordered == ("KB-102",)
    assert outcome.note == "Thank you for your order! Shipping: KB-102 ships in 14 days."
    history = await client.get_workflow_handle(f"order-{order.order_id}").fetch_history()
    activities = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert activities == [
        "reserve_stock",
        "durable_llm.call_model",
        "shipping_estimate",
        "durable_llm.call_model",
        "send_email",
    ]
    assert "Backordered: KB-102" in server.requests[0].messages[0].text


# -- examples/human_in_the_loop.py ---------------------------------------------------------------


@pytest.mark.parametrize("approved", [True, False])
async def test_a_refund_waits_for_a_person_then_runs_or_is_refused(fakes, temporal_env, approved):
    fakes(human_in_the_loop.scripted_model, providers=("anthropic",))
    client = client_for(temporal_env, DurableLLMPlugin(tools=[human_in_the_loop.issue_refund]))
    settings = human_in_the_loop.load_settings(model="anthropic:claude-sonnet-4-5")

    async with Worker(client, task_queue=human_in_the_loop.TASK_QUEUE):
        handle = await human_in_the_loop.start(client, settings)
        pending = await asyncio.wait_for(human_in_the_loop.wait_for_approval_request(handle), timeout=30)
        assert (pending.name, json.loads(pending.arguments_raw)) == ("issue_refund", {"order_id": "1234", "amount": 30})
        assert (await handle.query(human_in_the_loop.AgentWorkflow.status)).state == "waiting_for_approval"
        await human_in_the_loop.decide(client, handle.id, pending.call_id, approved, reason="policy says no")
        result = await handle.result()

    if approved:
        assert result.output == "Done: refunded $30.00 for order 1234. Sorry about the broken item!"
    else:
        assert result.output == "I could not refund the order: the user rejected this call: policy says no."
    ran = [
        e
        for e in (await handle.fetch_history()).events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "issue_refund"
    ]
    assert len(ran) == (1 if approved else 0)


# -- examples/structured_output.py ---------------------------------------------------------------


async def test_a_typed_refund_is_corrected_until_it_validates_and_meets_the_policy(fakes, temporal_env):
    (server,) = fakes(structured_output.scripted_model, providers=("anthropic",)).values()
    client = client_for(temporal_env, DurableLLMPlugin())

    async with Worker(client, task_queue=structured_output.TASK_QUEUE, workflows=[structured_output.DecideRefund]):
        refund = await structured_output.decide_in_your_workflow(client, "Order A17 arrived broken; it cost 80.")
        result = await structured_output.decide_from_a_client(client, "Order B2 arrived late.")

    assert refund == structured_output.Refund(order_id="A17", amount=40, reason="arrived broken")
    assert isinstance(result.output, structured_output.Refund) and result.turns == 1
    corrections = [r.messages[-1].text for r in server.requests[1:3]]
    assert "amount" in corrections[0] and "Field required" in corrections[0]
    assert "need a manager" in corrections[1]
    assert all(r.body["output_config"]["format"]["type"] == "json_schema" for r in server.raw_requests)


# -- examples/fallback_models.py -----------------------------------------------------------------


async def test_an_overloaded_claude_hands_the_turn_to_openai(fakes, temporal_env):
    servers = fakes(fallback_models.scripted_model)
    servers["anthropic"].fail(529, times=10)
    client = client_for(temporal_env, DurableLLMPlugin())

    async with Worker(client, task_queue=fallback_models.TASK_QUEUE):
        result = await fallback_models.ask(client, "When does my parcel ship?")

    assert (result.model, result.output) == ("openai:gpt-5-mini", "Your parcel ships tomorrow.")
    assert servers["anthropic"].calls == 2 and servers["openai"].calls == 1 and servers["gemini"].calls == 0


# -- examples/agent_team.py ----------------------------------------------------------------------


async def test_a_gemini_triage_claude_specialist_and_openai_policy_agent_settle_a_refund(fakes, temporal_env):
    servers = fakes(agent_team.scripted_model)
    client = client_for(temporal_env, DurableLLMPlugin())

    async with Worker(client, task_queue=agent_team.TASK_QUEUE):
        result = await agent_team.handle_complaint(client, "My order A17 arrived broken. I paid 80.")

    assert result.output == agent_team.Refund(order_id="A17", amount=80, reason="arrived broken")
    assert [m.agent for m in result.messages if m.role == "assistant"] == ["triage", "refunds", "refunds"]
    assert set(result.usage_by_agent) == {"triage", "refunds", "policy"}
    assert [servers[p].calls for p in ("gemini", "anthropic", "openai")] == [1, 2, 1]


# -- examples/message_with_files.py --------------------------------------------------------------


async def test_a_pdf_and_a_photo_reach_each_vendor_in_its_own_form(fakes, temporal_env):
    servers = fakes(message_with_files.scripted_model)
    client = client_for(temporal_env, DurableLLMPlugin())

    async with Worker(client, task_queue=message_with_files.TASK_QUEUE):
        answers = [(await message_with_files.ask(client, model)).output for model in message_with_files.MODELS]

    assert answers == ["I was sent: document (application/pdf), image (https://example.com/cafe.jpg)."] * 3
    assert "document" in json.dumps(servers["anthropic"].raw_requests[0].body)
    assert "input_file" in json.dumps(servers["openai"].raw_requests[0].body)
    assert "inlineData" in json.dumps(servers["gemini"].raw_requests[0].body)


# -- examples/mcp_tools.py -----------------------------------------------------------------------


async def test_mcp_tools_example_runs_as_a_script_without_keys(temporal_env):
    address = temporal_env.client.service_client.config.target_host
    env = {**os.environ, "DURABLE_LLM_TEMPORAL_ADDRESS": address, "DURABLE_LLM_MODEL": "anthropic:claude-sonnet-4-5"}

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLES / "mcp_tools.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert 'tool call: cities_population({"city":"Lyon"})' in done.stdout
    assert "agent: Lyon has 522000 inhabitants; Lyon: sunny, 24 °C." in done.stdout


# -- examples/tracing.py -------------------------------------------------------------------------


async def test_tracing_example_prints_one_turn_as_a_span_tree(temporal_env):
    address = temporal_env.client.service_client.config.target_host
    env = {**os.environ, "DURABLE_LLM_TEMPORAL_ADDRESS": address, "DURABLE_LLM_MODEL": "openai:gpt-5-mini"}

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLES / "tracing.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "agent: In Paris it is 14:05, sunny and 21 °C." in lines
    assert lines[2] == "StartWorkflowUpdate:send_message"
    assert (
        "    RunActivity:get_time" in lines and "      execute_tool get_time  {'gen_ai.tool.name': 'get_time'}" in lines
    )
    chats = [line for line in lines if line.strip().startswith("chat gpt-5-mini")]
    assert len(chats) == 2 and "'gen_ai.request.model': 'gpt-5-mini'" in chats[0]
    assert "'gen_ai.usage.input_tokens': 180, 'gen_ai.usage.output_tokens': 14" in chats[1]
    assert any(line.startswith("metric gen_ai.client.token.usage") and line.endswith("sum 300") for line in lines)
