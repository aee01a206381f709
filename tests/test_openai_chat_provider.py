"""ChatCompletionsProvider and the named services, through the openai SDK's own client, against a fake server."""

from __future__ import annotations

import os

import pytest
from agent_kit import agent_worker, new_id

from durable_llm import AgentInput, AgentWorkflow, DurableLLMPlugin
from durable_llm.config import ConfigError, load_settings
from durable_llm.conversation import Message, ModelRequest, TextPart
from durable_llm.providers import AuthenticationFailed, ChatCompletionsProvider, get_provider
from durable_llm.providers.openai_chat import AzureChatCompletionsProvider
from durable_llm.providers.openai_chat.endpoints import ENDPOINTS
from durable_llm.testing import FakeVendorServer, reply
from durable_llm.transport import call_vendor

VARIABLES = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OLLAMA_HOST",
    "OLLAMA_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_VERSION",
    "GPU_BOX_KEY",
    *(v for e in ENDPOINTS.values() for v in (e.base_url_variable, e.api_key_variable) if v),
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def hello(model: str = "llama3.2", max_output_tokens: int | None = None) -> ModelRequest:
    return ModelRequest(
        model=model,
        messages=(Message(role="user", parts=(TextPart(text="hi"),)),),
        max_output_tokens=max_output_tokens,
    )


async def test_ollama_is_reached_at_ollama_host_without_a_key(monkeypatch):
    with FakeVendorServer("openai_chat", [reply("hello from llama")]) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.base_url.removeprefix("http://"))  # host:port, as Ollama takes it
        result = await call_vendor(hello(max_output_tokens=64), provider="ollama")
    assert result.message.text == "hello from llama"
    (raw,) = server.raw_requests
    assert raw.path == "/v1/chat/completions"
    assert raw.api_key == "none"  # no key of another service went there
    assert raw.body["max_tokens"] == 64 and "max_completion_tokens" not in raw.body


def test_ollama_defaults_to_this_machine_and_needs_no_key():
    provider = get_provider("ollama")
    assert isinstance(provider, ChatCompletionsProvider)
    assert provider.base_url() == "http://localhost:11434/v1"
    assert provider.credentials_missing() is None


@pytest.mark.parametrize(
    ("name", "base_url", "key"),
    [
        ("openai_chat", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        ("openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        ("groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        ("mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
        ("deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
        ("together", "https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    ],
)
def test_hosted_services_have_their_base_url_and_key_variable(name, base_url, key, monkeypatch):
    provider = get_provider(name)
    assert isinstance(provider, ChatCompletionsProvider)
    assert (provider.name, provider.base_url(), provider.credentials_missing()) == ("openai_chat", base_url, key)
    monkeypatch.setenv(key, "k")
    assert provider.credentials_missing() is None


async def test_a_hosted_service_without_its_key_says_which_variable_to_set():
    with pytest.raises(AuthenticationFailed, match="GROQ_API_KEY"):
        await call_vendor(hello(), provider="groq")


async def test_groq_gets_its_key_at_its_base_url(monkeypatch):
    with FakeVendorServer("openai_chat", [reply("fast")]) as server:
        monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
        monkeypatch.setenv("GROQ_BASE_URL", f"{server.base_url}/openai/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
        result = await call_vendor(hello("llama-3.3-70b-versatile", 10), provider="groq", on_text=lambda _: None)
    assert result.message.text == "fast"
    (raw,) = server.raw_requests
    assert (raw.path, raw.api_key) == ("/openai/v1/chat/completions", "gsk-test")
    assert raw.body["max_completion_tokens"] == 10 and raw.body["stream_options"] == {"include_usage": True}


async def test_mistral_gets_max_tokens_and_no_stream_options(monkeypatch):
    with FakeVendorServer("openai_chat", [reply("bonjour")]) as server:
        monkeypatch.setenv("MISTRAL_API_KEY", "m-key")
        monkeypatch.setenv("MISTRAL_BASE_URL", f"{server.base_url}/v1")
        await call_vendor(hello("mistral-small-latest", 32), provider="mistral", on_text=lambda _: None)
    (raw,) = server.raw_requests
    assert raw.body["max_tokens"] == 32
    assert "max_completion_tokens" not in raw.body and "stream_options" not in raw.body


async def test_a_server_of_your_own_gets_its_key_and_headers_and_never_the_openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    with FakeVendorServer("openai_chat", [reply("mine"), reply("mine again")]) as server:
        keyless = ChatCompletionsProvider(base_url=f"{server.base_url}/v1")
        keyed = ChatCompletionsProvider(
            base_url=f"{server.base_url}/v1", api_key="my-key", headers={"X-Title": "durable-llm"}
        )
        assert keyless.credentials_missing() is None
        await keyless.complete(hello(), timeout=10)
        await keyed.complete(hello(), timeout=10)
    assert [raw.api_key for raw in server.raw_requests] == ["none", "my-key"]
    assert server.raw_requests[1].headers["x-title"] == "durable-llm"


async def test_azure_posts_to_the_deployment_with_its_api_version(monkeypatch):
    with FakeVendorServer("openai_chat", [reply("from azure")]) as server:
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.base_url)
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key")
        result = await call_vendor(hello("my-gpt-4o"), provider="azure")
    assert result.message.text == "from azure"
    (raw,) = server.raw_requests
    assert raw.path == "/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21"
    assert raw.api_key == "azure-key"


def test_azure_without_an_endpoint_says_what_to_set():
    assert get_provider("azure").credentials_missing() == "AZURE_OPENAI_ENDPOINT"
    given = AzureChatCompletionsProvider(endpoint="https://r.openai.azure.com", api_key="k", api_version="2025-01-01")
    assert given.credentials_missing() is None and given.api_version() == "2025-01-01"


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:11434/v1"),
        ("0.0.0.0:8080", "http://0.0.0.0:8080/v1"),
        ("https://ollama.example.com", "https://ollama.example.com/v1"),
        ("http://gpu-box:11434/v1/", "http://gpu-box:11434/v1"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(host, url, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", host)
    assert get_provider("ollama").base_url() == url  # type: ignore[attr-defined]


# --- a server of your own, named in durable_llm.toml --------------------------------------------


@pytest.fixture
def settings_dir(tmp_path, monkeypatch):
    """An empty working directory and no DURABLE_LLM_* settings in the environment."""
    for name in [name for name in os.environ if name.startswith("DURABLE_LLM_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


SERVER_TOML = """
model = "gpu:qwen3-8b"

[servers.gpu]
base_url = "{base_url}/v1"
api_key_env = "GPU_BOX_KEY"
headers = {{ X-Title = "durable-llm" }}
"""


async def test_a_server_named_in_durable_llm_toml_runs_the_agent(settings_dir, temporal_env, monkeypatch):
    with FakeVendorServer("openai_chat", [reply("hello from the gpu box")]) as server:
        (settings_dir / "durable_llm.toml").write_text(SERVER_TOML.format(base_url=server.base_url))
        monkeypatch.setenv("GPU_BOX_KEY", "gpu-key")
        settings = load_settings()
        settings.check_api_key()
        plugin = DurableLLMPlugin(providers=settings.providers())
        async with agent_worker(temporal_env, plugin) as (client, queue):
            result = await client.execute_workflow(
                AgentWorkflow.run, AgentInput(agent=settings.agent(), message="hi"), id=new_id(), task_queue=queue
            )
    assert result.output == "hello from the gpu box"
    (raw,) = server.raw_requests
    assert (raw.path, raw.api_key, raw.body["model"]) == ("/v1/chat/completions", "gpu-key", "qwen3-8b")
    assert raw.headers["x-title"] == "durable-llm"


def test_a_server_in_the_settings_without_its_key_names_the_variable(settings_dir):
    (settings_dir / "durable_llm.toml").write_text(SERVER_TOML.format(base_url="http://127.0.0.1:9"))
    settings = load_settings()
    assert not settings.has_api_key()
    with pytest.raises(ConfigError, match="GPU_BOX_KEY"):
        settings.check_api_key()


def test_a_model_naming_no_known_server_is_refused_with_the_choices(settings_dir):
    (settings_dir / "durable_llm.toml").write_text('model = "gpu2:x"\n[servers.gpu]\nbase_url = "http://h/v1"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "unknown provider 'gpu2'" in caught.value.problem and "azure, gpu" in caught.value.problem
