"""Providers from code: one registry, names a plugin adds, keys and endpoints per provider, unknown names."""

from __future__ import annotations

import pytest
from agent_kit import agent_worker, new_id
from temporalio.client import WorkflowFailureError

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin
from durable_llm.providers import PROVIDERS, OpenAIProvider, Provider, get_adapter, get_provider
from durable_llm.testing import FakeVendorServer, ScriptedModel, reply


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
