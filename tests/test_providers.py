"""Providers from code: one registry, names a plugin adds, keys and endpoints per provider, unknown names."""

from __future__ import annotations

import json

import pytest
from agent_kit import agent_worker, new_id
from corpus import exchanges, requires_corpus
from temporalio.client import WorkflowFailureError

from durable_llm import (
    Agent,
    AgentInput,
    AgentWorkflow,
    DurableLLMPlugin,
    Message,
    ModelRequest,
    ModelResponse,
    TextPart,
)
from durable_llm.conversation import ReasoningPart, ReasoningToken
from durable_llm.providers import (
    PROVIDERS,
    GeminiProvider,
    OpenAIProvider,
    Provider,
    StreamDelta,
    get_adapter,
    get_provider,
)
from durable_llm.providers.openai.client import keep_reasoning
from durable_llm.testing import FakeVendorServer, ScriptedModel, call_tools, reply


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_registered_provider_fulfils_the_protocol(name):
    provider = get_provider(name)
    assert isinstance(provider, Provider)
    assert provider.adapter is get_adapter(name)
    # The API family it speaks: "ollama", "groq", ... speak "openai_chat".
    assert provider.name == provider.adapter.name


def test_each_get_provider_call_makes_its_own_provider():
    assert get_provider("openai") is not get_provider("openai")


def test_a_plugin_refuses_a_malformed_provider_name_or_a_non_provider():
    with pytest.raises(ValueError, match="provider name 'Azure EU' is malformed"):
        DurableLLMPlugin(providers={"Azure EU": OpenAIProvider(api_key="k")})
    with pytest.raises(TypeError, match="not a Provider"):
        DurableLLMPlugin(providers={"azure": "https://example.invalid"})  # type: ignore[dict-item]


def test_keys_given_in_code_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    assert get_provider("openai").credentials_missing() is None
    monkeypatch.delenv("OPENAI_API_KEY")
    assert get_provider("openai").credentials_missing() == "OPENAI_API_KEY"
    assert OpenAIProvider(api_key="from-code").credentials_missing() is None


async def test_two_openai_style_providers_in_one_worker_reach_their_own_server_with_their_own_key(
    temporal_env, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with (
        FakeVendorServer("openai", responses=[reply("from azure")]) as azure,
        FakeVendorServer("openai", responses=[reply("from the proxy")]) as proxy,
    ):
        plugin = DurableLLMPlugin(
            providers={
                "azure": OpenAIProvider(base_url=f"{azure.base_url}/v1", api_key="azure-key"),
                "proxy": OpenAIProvider(base_url=f"{proxy.base_url}/v1", api_key="proxy-key"),
            }
        )
        async with agent_worker(temporal_env, plugin) as (client, queue):
            answers = []
            for name in ("azure", "proxy"):
                result = await client.execute_workflow(
                    AgentWorkflow.run,
                    AgentInput(agent=Agent(model=f"{name}:gpt-5-mini"), message="hi"),
                    id=new_id(),
                    task_queue=queue,
                )
                answers.append(result.output)

    assert answers == ["from azure", "from the proxy"]
    assert [r.api_key for r in azure.raw_requests] == ["azure-key"]
    assert [r.api_key for r in proxy.raw_requests] == ["proxy-key"]
    assert azure.requests[0].model == proxy.requests[0].model == "gpt-5-mini"


async def test_a_provider_the_worker_does_not_have_fails_the_conversation_at_once(temporal_env):
    plugin = DurableLLMPlugin(scripted_models={"m": ScriptedModel(["unused"])})
    async with agent_worker(temporal_env, plugin) as (client, queue):
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(
                AgentWorkflow.run,
                AgentInput(agent=Agent(model="azure-eu:gpt-5"), message="hi"),
                id=new_id(),
                task_queue=queue,
            )
    message = str(failed.value.cause.cause)
    assert "unknown provider 'azure-eu'" in message and "DurableLLMPlugin(providers=" in message


def test_each_plugin_has_its_own_back_off():
    assert DurableLLMPlugin().providers.backoff is not DurableLLMPlugin().providers.backoff


def weather_question(model: str, **options) -> ModelRequest:
    message = Message(role="user", parts=(TextPart(text="Weather?"),))
    return ModelRequest(model=model, messages=(message,), provider_options={"openai": options} if options else {})


@pytest.mark.parametrize("model", ["gpt-5-mini", "o4-mini", "gpt-5.1-codex"])
async def test_a_reasoning_model_keeps_its_reasoning_encrypted_in_our_transcript(model):
    token = ReasoningToken(provider="openai", api="responses", model=model, value="gAAAAB-encrypted")
    answer = reply("Sunny.")
    answer = answer.model_copy(
        update={"message": Message(role="assistant", parts=(ReasoningPart(token=token), *answer.message.parts))}
    )
    with FakeVendorServer("openai", responses=[answer]) as server:
        provider = OpenAIProvider(base_url=f"{server.base_url}/v1", api_key="k")
        response = await provider.complete(weather_question(model), timeout=30)
    body = server.raw_requests[0].body
    assert (body["store"], body["include"]) == (False, ["reasoning.encrypted_content"])
    [reasoning] = [p for p in response.message.parts if isinstance(p, ReasoningPart)]
    assert reasoning.token is not None and reasoning.token.value == "gAAAAB-encrypted"


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (weather_question("gpt-4.1-mini"), {}),
        (weather_question("gpt-5-chat-latest"), {}),
        (weather_question("gpt-5", store=True), {"store": True, "include": ["reasoning.encrypted_content"]}),
        (weather_question("gpt-5", previous_response_id="resp_1"), {"previous_response_id": "resp_1"}),
        (
            weather_question("gpt-4.1", reasoning={"effort": "low"}, include=["file_search_call.results"]),
            {
                "reasoning": {"effort": "low"},
                "include": ["file_search_call.results", "reasoning.encrypted_content"],
                "store": False,
            },
        ),
    ],
    ids=["not-reasoning", "chat-model", "store-kept", "server-side-state", "reasoning-asked"],
)
def test_what_the_caller_set_wins_and_other_models_are_left_alone(request_, expected):
    assert keep_reasoning(request_).provider_options.get("openai", {}) == expected


@pytest.mark.parametrize(("api_version", "path"), [(None, "/v1beta/"), ("v1", "/v1/")])
async def test_gemini_calls_the_configured_api_version(api_version, path, monkeypatch):
    monkeypatch.delenv("GOOGLE_GENAI_API_VERSION", raising=False)
    with FakeVendorServer("gemini", responses=[reply("Sunny.")]) as server:
        provider = GeminiProvider(base_url=server.base_url, api_key="g-key", api_version=api_version)
        await provider.complete(weather_question("gemini-2.5-flash"), timeout=30)
    [raw] = server.raw_requests
    assert raw.path.startswith(f"{path}models/gemini-2.5-flash:generateContent")
    assert raw.api_key == "g-key"


def recorded_openai_answer_echoing_its_request() -> ModelResponse:
    for exchange in exchanges("openai_responses"):
        body = exchange["response"].get("body")
        if isinstance(body, dict) and body.get("tools") and body.get("instructions") and "output" in body:
            return get_adapter("openai").decode_response(body)
    raise AssertionError("no recorded OpenAI response echoes tools and instructions")


@requires_corpus
async def test_an_openai_answer_is_kept_without_what_it_echoes_of_the_request():
    recorded = recorded_openai_answer_echoing_its_request()
    with FakeVendorServer("openai", responses=[recorded]) as server:
        provider = OpenAIProvider(base_url=f"{server.base_url}/v1", api_key="k")
        response = await provider.complete(weather_question("gpt-4.1-mini"), timeout=30)
    kept = response.provider_details.get("openai", {})
    assert {"tools", "instructions"} <= set(recorded.provider_details["openai"])
    assert not {"tools", "instructions"} & set(kept)
    assert response.message == recorded.message and response.usage == recorded.usage
    assert len(response.model_dump_json()) < len(recorded.model_dump_json())


@pytest.mark.parametrize("vendor", ["openai", "anthropic", "gemini", "openai_chat", "ollama"])
async def test_a_stream_is_decoded_once_into_typed_deltas_that_add_up_to_the_answer(vendor, monkeypatch):
    answer = call_tools(("get_weather", {"city": "Paris"}), text="Let me look that up. " * 5)
    with FakeVendorServer(vendor, responses=[answer, answer]) as server:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        provider = get_provider(vendor)
        deltas: list[StreamDelta] = []
        request = weather_question("gemini-2.5-flash" if vendor == "gemini" else "gpt-4.1-mini")
        streamed = await provider.complete(request, timeout=30, on_delta=deltas.append)
        whole = await provider.complete(request, timeout=30)
    assert streamed.message == whole.message
    assert "".join(d.text for d in deltas if d.kind == "text") == "Let me look that up. " * 5
    arguments = [d for d in deltas if d.kind == "tool_arguments"]
    assert json.loads("".join(d.text for d in arguments)) == {"city": "Paris"}
    assert len([d for d in deltas if d.kind == "text"]) > 1  # the text came in pieces


@pytest.mark.parametrize(
    ("vendor", "event"),
    [
        ("openai", {"type": "response.reasoning_summary_text.delta", "output_index": 0, "delta": "Hmm."}),
        (
            "anthropic",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}},
        ),
        ("gemini", {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hmm.", "thought": True}]}}]}),
        ("openai_chat", {"choices": [{"index": 0, "delta": {"reasoning_content": "Hmm."}}]}),
        ("openai_chat", {"choices": [{"index": 0, "delta": {"reasoning": "Hmm.", "content": ""}}]}),
    ],
)
def test_reasoning_streams_as_reasoning_deltas_not_as_text(vendor, event):
    adapter = get_adapter(vendor)
    assert [(d.kind, d.text) for d in adapter.stream_deltas(event)] == [("reasoning", "Hmm.")]
    assert adapter.stream_text(event) == ""
