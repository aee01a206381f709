"""`ChatCompletionsProvider`: any server speaking OpenAI Chat Completions, through the openai SDK's own client."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from durable_llm.conversation import ModelRequest
from durable_llm.providers._http import (
    DEFAULT_TIMEOUT,
    HttpProvider,
    credential_id,
    httpx_timeout,
    missing_credentials,
)
from durable_llm.providers.openai_chat.adapter import ADAPTER
from durable_llm.providers.openai_chat.rules import RULES


@dataclass(frozen=True)
class Endpoint:
    """A Chat Completions service: its default base URL, the variables that configure it, its quirks."""

    name: str
    base_url: str
    base_url_variable: str | None
    api_key_variable: str | None
    key_required: bool = True
    max_tokens_key: str = "max_completion_tokens"
    """Which key carries the output limit: older servers know only `max_tokens` (some refuse the other)."""
    stream_usage: bool = True
    """Whether to ask for usage at the end of a stream (`stream_options.include_usage`); Mistral always
    sends it and refuses keys it does not know."""


OPENAI = Endpoint("openai_chat", "https://api.openai.com/v1", "OPENAI_BASE_URL", "OPENAI_API_KEY")
"""OpenAI itself, the default."""

_NO_KEY = "none"
"""The key sent to a server that needs none: the SDK always sends one (Ollama's own docs use a dummy)."""


class ChatCompletionsProvider(HttpProvider):
    """A server speaking Chat Completions at `base_url` with `api_key` (OpenAI by default).

    `ChatCompletionsProvider(base_url="http://gpu-box:8000/v1")` reaches a server of your own: with
    a `base_url` from code, no key variable is read (a key meant for one service never goes to
    another); pass `api_key` if it needs one. Named services (`ollama:`, `groq:`, ...) come from
    `durable_llm.providers.openai_chat.endpoints`, each with its own variables. `headers` go with
    every call (e.g. OpenRouter's `HTTP-Referer`).
    """

    adapter = ADAPTER
    rules = RULES

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        endpoint: Endpoint = OPENAI,
    ) -> None:
        super().__init__()
        self.endpoint = endpoint
        self._base_url = base_url
        self._api_key = api_key
        self._headers = dict(headers or {})
        self._credentials_hint = endpoint.api_key_variable or "an API key"

    def base_url(self) -> str:
        """Where the next call goes: given in code, else the service's variable, else its default."""
        if self._base_url is not None:
            return self._base_url
        variable = self.endpoint.base_url_variable
        configured = os.environ.get(variable) if variable else None
        if not configured:
            return self.endpoint.base_url
        return _ollama_url(configured) if variable == "OLLAMA_HOST" else configured

    def _credentials(self) -> str | None:
        if self._api_key is not None:
            return self._api_key
        variable = self.endpoint.api_key_variable
        if self._base_url is None and variable:
            return os.environ.get(variable) or None
        return None

    def credentials_missing(self) -> str | None:
        """The key variable to set when the service needs a key and has none; None otherwise."""
        if self.endpoint.key_required and self._base_url is None:
            return super().credentials_missing()
        return None

    def account(self) -> Hashable:
        return (
            self.endpoint.name,
            credential_id(self._credentials()),
            self.base_url(),
            tuple(sorted(self._headers.items())),
        )

    def _new_client(self) -> Any:
        import openai

        key = self._credentials()
        if key is None and self.credentials_missing():
            raise missing_credentials(self)
        return openai.AsyncOpenAI(
            api_key=key or _NO_KEY,
            base_url=self.base_url(),
            default_headers=self._headers or None,
            max_retries=0,
            timeout=httpx_timeout(DEFAULT_TIMEOUT),
        )

    def _error_types(self) -> tuple[tuple[type[BaseException], ...], ...]:
        import openai

        return (openai.APIStatusError,), (openai.APITimeoutError,), (openai.APIConnectionError,)

    async def _post(
        self, client: Any, request: ModelRequest, body: dict[str, Any], timeout: float, stream: bool
    ) -> Any:
        import httpx2

        body = dict(body)
        if self.endpoint.max_tokens_key != "max_completion_tokens" and "max_completion_tokens" in body:
            body.setdefault(self.endpoint.max_tokens_key, body.pop("max_completion_tokens"))
        if stream:
            body["stream"] = True
            if self.endpoint.stream_usage and "stream_options" not in body:
                body["stream_options"] = {"include_usage": True}
        return await client.post(
            "/chat/completions",
            body=body,
            cast_to=httpx2.Response,
            options={"timeout": httpx_timeout(timeout)},
            stream=stream,
        )


class AzureChatCompletionsProvider(ChatCompletionsProvider):
    """Azure OpenAI through Chat Completions: the model name is the deployment.

    What is not given comes from the variables the openai SDK's Azure client reads:
    `AZURE_OPENAI_ENDPOINT`, `AZURE_OPENAI_API_KEY`, `OPENAI_API_VERSION` (default `DEFAULT_API_VERSION`).
    """

    DEFAULT_API_VERSION = "2024-10-21"

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        api_key: str | None = None,
        api_version: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            base_url=endpoint,
            api_key=api_key,
            headers=headers,
            endpoint=Endpoint("azure", "", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"),
        )
        self._api_version = api_version

    def _credentials(self) -> str | None:
        return self._api_key or os.environ.get("AZURE_OPENAI_API_KEY") or None

    def credentials_missing(self) -> str | None:
        if not self.base_url():
            return "AZURE_OPENAI_ENDPOINT"
        return None if self._credentials() else "AZURE_OPENAI_API_KEY"

    def api_version(self) -> str:
        return self._api_version or os.environ.get("OPENAI_API_VERSION") or self.DEFAULT_API_VERSION

    def account(self) -> Hashable:
        return (super().account(), self.api_version())

    def _new_client(self) -> Any:
        import openai

        if missing := self.credentials_missing():
            raise missing_credentials(self) if missing == "AZURE_OPENAI_API_KEY" else _no_endpoint()
        return openai.AsyncAzureOpenAI(
            azure_endpoint=self.base_url(),
            api_key=self._credentials(),
            api_version=self.api_version(),
            default_headers=self._headers or None,
            max_retries=0,
            timeout=httpx_timeout(DEFAULT_TIMEOUT),
        )


def _no_endpoint() -> ValueError:
    return ValueError(
        "no Azure endpoint: pass AzureChatCompletionsProvider(endpoint='https://<resource>.openai.azure.com') "
        "or set AZURE_OPENAI_ENDPOINT in the environment of the worker that calls the model"
    )


def _ollama_url(host: str) -> str:
    """The API base URL for `OLLAMA_HOST` as Ollama reads it: "host", "host:port" or a URL ("/v1" added)."""
    url = host if "://" in host else f"http://{host}"
    parts = urlsplit(url)
    netloc = parts.netloc if parts.port is not None or "://" in host else f"{parts.netloc}:11434"
    path = parts.path.rstrip("/")
    return f"{parts.scheme}://{netloc}{path if path.endswith('/v1') else path + '/v1'}"
