"""`OpenAIProvider`: the OpenAI Responses API (or any endpoint speaking it) reached with one account."""

from __future__ import annotations

import os
import re
from collections.abc import Hashable, Mapping
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers._http import (
    DEFAULT_TIMEOUT,
    HttpProvider,
    credential_id,
    httpx_timeout,
    missing_credentials,
)
from durable_llm.providers.base import DeltaListener
from durable_llm.providers.openai.rules import RULES
from durable_llm.providers.openai.wire import ADAPTER, PROVIDER

ENCRYPTED_REASONING = "reasoning.encrypted_content"

ECHOED = frozenset(
    {
        "instructions",
        "tools",
        "tool_choice",
        "text",
        "reasoning",
        "temperature",
        "top_p",
        "top_logprobs",
        "max_output_tokens",
        "max_tool_calls",
        "parallel_tool_calls",
        "truncation",
        "metadata",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_retention",
        "safety_identifier",
        "user",
        "store",
        "background",
        "previous_response_id",
        "conversation",
        "context_management",
    }
)
"""Keys of a response that only echo the request's settings: the request that made it holds them."""

_REASONING_MODEL = re.compile(r"(?:.*/)?(?:o[1-9]|gpt-5(?!-chat)|codex-)")


class OpenAIProvider(HttpProvider):
    """The Responses API at `base_url` with `api_key`: OpenAI itself, Azure OpenAI, or a proxy.

    What is not given comes from the environment, as the `openai` SDK reads it (`OPENAI_API_KEY`,
    `OPENAI_BASE_URL`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`), at each call.

    Calls to reasoning models keep their reasoning in our transcript (`keep_reasoning`), not in
    OpenAI's store: a conversation resumed weeks later, or on a zero-retention account, replays it.
    """

    adapter = ADAPTER
    rules = RULES
    environment = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")
    """The environment variables it reads what code did not give from."""
    _credentials_hint = "OPENAI_API_KEY"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._settings = {"api_key": api_key, "base_url": base_url, "organization": organization, "project": project}
        self._headers = dict(headers or {})

    def _resolved(self) -> dict[str, str | None]:
        env = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL", "organization": "OPENAI_ORG_ID"}
        env["project"] = "OPENAI_PROJECT_ID"
        return {key: value or os.environ.get(env[key]) or None for key, value in self._settings.items()}

    def _credentials(self) -> str | None:
        return self._resolved()["api_key"]

    def account(self) -> Hashable:
        settings = self._resolved()
        return (
            self.name,
            credential_id(settings["api_key"]),
            settings["base_url"],
            settings["organization"],
            settings["project"],
            tuple(sorted(self._headers.items())),
        )

    def _new_client(self) -> Any:
        import openai

        settings = self._resolved()
        if not settings["api_key"]:
            raise missing_credentials(self)
        return openai.AsyncOpenAI(
            api_key=settings["api_key"],
            base_url=settings["base_url"],
            organization=settings["organization"],
            project=settings["project"],
            default_headers=self._headers or None,
            max_retries=0,
            timeout=httpx_timeout(DEFAULT_TIMEOUT),
        )

    async def complete(
        self, request: ModelRequest, *, timeout: float = DEFAULT_TIMEOUT, on_delta: DeltaListener | None = None
    ) -> ModelResponse:
        response = await super().complete(keep_reasoning(request), timeout=timeout, on_delta=on_delta)
        return self._lean(response)

    def _lean(self, response: ModelResponse) -> ModelResponse:
        """`response` without what it only echoes of the request (tools, instructions, settings: about
        40 % of a Responses body), so a conversation's history does not store them again at every turn."""
        details = response.provider_details.get(PROVIDER)
        if not details or ECHOED.isdisjoint(details):
            return response
        kept = {key: value for key, value in details.items() if key not in ECHOED}
        others = {vendor: value for vendor, value in response.provider_details.items() if vendor != PROVIDER}
        return response.model_copy(update={"provider_details": {**others, **({PROVIDER: kept} if kept else {})}})

    def _error_types(self) -> tuple[tuple[type[BaseException], ...], ...]:
        import openai

        return (openai.APIStatusError,), (openai.APITimeoutError,), (openai.APIConnectionError,)

    async def _post(
        self, client: Any, request: ModelRequest, body: dict[str, Any], timeout: float, stream: bool
    ) -> Any:
        import httpx2

        return await client.post(
            "/responses",
            body={**body, "stream": True} if stream else body,
            cast_to=httpx2.Response,
            options={"timeout": httpx_timeout(timeout)},
            stream=stream,
        )


def keep_reasoning(request: ModelRequest) -> ModelRequest:
    """`request` asking a reasoning model for its reasoning encrypted, with `store: false`.

    OpenAI otherwise keeps the reasoning itself (for a limited time, never on zero-retention
    accounts) and answers with an id pointing at it. Settings given in `provider_options["openai"]`
    win; a request continuing server-side state (`previous_response_id`, `conversation`) is left as is.
    """
    options = dict(request.provider_options.get(PROVIDER, {}))
    model = request.model or ""
    if not (_REASONING_MODEL.match(model) or "reasoning" in options):
        return request
    if "previous_response_id" in options or "conversation" in options:
        return request
    include = options.get("include")
    include = list(include) if isinstance(include, list) else []
    if ENCRYPTED_REASONING not in include:
        include.append(ENCRYPTED_REASONING)
    options = {**options, "store": options.get("store", False), "include": include}
    return request.model_copy(update={"provider_options": {**request.provider_options, PROVIDER: options}})
