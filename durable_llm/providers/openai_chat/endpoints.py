"""Services that speak Chat Completions, by name: where each is and which variables configure it.

`ollama:llama3.2`, `groq:llama-3.3-70b-versatile`, ... resolve here (the registry calls the
function of the name), each to a `ChatCompletionsProvider` with the service's default base URL and
key variable. Any other server: `DurableLLMPlugin(providers={"mine": ChatCompletionsProvider(base_url=...)})`.
"""

from __future__ import annotations

from durable_llm.providers.openai_chat.client import (
    OPENAI,
    AzureChatCompletionsProvider,
    ChatCompletionsProvider,
    Endpoint,
)

ENDPOINTS: dict[str, Endpoint] = {
    endpoint.name: endpoint
    for endpoint in (
        OPENAI,
        Endpoint(
            "ollama", "http://localhost:11434/v1", "OLLAMA_HOST", "OLLAMA_API_KEY", False, max_tokens_key="max_tokens"
        ),
        Endpoint("vllm", "http://localhost:8000/v1", "VLLM_BASE_URL", "VLLM_API_KEY", False),
        Endpoint(
            "openrouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_BASE_URL",
            "OPENROUTER_API_KEY",
            max_tokens_key="max_tokens",
        ),
        Endpoint("groq", "https://api.groq.com/openai/v1", "GROQ_BASE_URL", "GROQ_API_KEY"),
        Endpoint(
            "mistral",
            "https://api.mistral.ai/v1",
            "MISTRAL_BASE_URL",
            "MISTRAL_API_KEY",
            max_tokens_key="max_tokens",
            stream_usage=False,
        ),
        Endpoint(
            "deepseek",
            "https://api.deepseek.com/v1",
            "DEEPSEEK_BASE_URL",
            "DEEPSEEK_API_KEY",
            max_tokens_key="max_tokens",
        ),
        Endpoint(
            "together",
            "https://api.together.xyz/v1",
            "TOGETHER_BASE_URL",
            "TOGETHER_API_KEY",
            max_tokens_key="max_tokens",
        ),
    )
}
"""The named services; Azure (`azure`) has its own shape (endpoint, deployment, api-version)."""


def ollama() -> ChatCompletionsProvider:
    """Ollama: `OLLAMA_HOST` (default localhost:11434), no key needed (`OLLAMA_API_KEY` for ollama.com)."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["ollama"])


def vllm() -> ChatCompletionsProvider:
    """A vLLM server: `VLLM_BASE_URL` (default http://localhost:8000/v1), `VLLM_API_KEY` if it asks for one."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["vllm"])


def openrouter() -> ChatCompletionsProvider:
    """OpenRouter: `OPENROUTER_API_KEY`; models named like "anthropic/claude-sonnet-4.5"."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["openrouter"])


def groq() -> ChatCompletionsProvider:
    """Groq: `GROQ_API_KEY`."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["groq"])


def mistral() -> ChatCompletionsProvider:
    """Mistral: `MISTRAL_API_KEY`."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["mistral"])


def deepseek() -> ChatCompletionsProvider:
    """DeepSeek: `DEEPSEEK_API_KEY`."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["deepseek"])


def together() -> ChatCompletionsProvider:
    """Together AI: `TOGETHER_API_KEY`."""
    return ChatCompletionsProvider(endpoint=ENDPOINTS["together"])


def azure() -> AzureChatCompletionsProvider:
    """Azure OpenAI: `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION`; model = deployment."""
    return AzureChatCompletionsProvider()
