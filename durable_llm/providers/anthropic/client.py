"""`AnthropicProvider`: Claude's Messages API reached with one account."""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from typing import Any

from durable_llm.conversation import ModelRequest
from durable_llm.providers._http import (
    DEFAULT_TIMEOUT,
    HttpProvider,
    credential_id,
    httpx_timeout,
    missing_credentials,
)
from durable_llm.providers.anthropic.rules import RULES
from durable_llm.providers.anthropic.wire import ADAPTER


class AnthropicProvider(HttpProvider):
    """The Messages API at `base_url` with `api_key` (or a bearer `auth_token`).

    What is not given comes from the environment, as the `anthropic` SDK reads it
    (`ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN`, `ANTHROPIC_BASE_URL`), at each call.
    """

    adapter = ADAPTER
    rules = RULES
    environment = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
    """The environment variables it reads what code did not give from."""
    _credentials_hint = "ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN)"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        auth_token: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._settings = {"api_key": api_key, "auth_token": auth_token, "base_url": base_url}
        self._headers = dict(headers or {})

    def _resolved(self) -> dict[str, str | None]:
        env = {"api_key": "ANTHROPIC_API_KEY", "auth_token": "ANTHROPIC_AUTH_TOKEN", "base_url": "ANTHROPIC_BASE_URL"}
        return {key: value or os.environ.get(env[key]) or None for key, value in self._settings.items()}

    def _credentials(self) -> str | None:
        return (settings := self._resolved())["api_key"] or settings["auth_token"]

    def account(self) -> Hashable:
        settings = self._resolved()
        return (
            self.name,
            credential_id(settings["api_key"]),
            credential_id(settings["auth_token"]),
            settings["base_url"],
            tuple(sorted(self._headers.items())),
        )

    def _new_client(self) -> Any:
        import anthropic

        settings = self._resolved()
        if not settings["api_key"] and not settings["auth_token"]:
            # The SDK only notices missing credentials when it sends; say so before anything is sent.
            raise missing_credentials(self)
        return anthropic.AsyncAnthropic(
            api_key=settings["api_key"],
            auth_token=settings["auth_token"],
            base_url=settings["base_url"],
            default_headers=self._headers or None,
            max_retries=0,
            timeout=httpx_timeout(DEFAULT_TIMEOUT),
        )

    def _error_types(self) -> tuple[tuple[type[BaseException], ...], ...]:
        import anthropic

        return (anthropic.APIStatusError,), (anthropic.APITimeoutError,), (anthropic.APIConnectionError,)

    async def _post(
        self, client: Any, request: ModelRequest, body: dict[str, Any], timeout: float, stream: bool
    ) -> Any:
        import httpx2

        options: dict[str, Any] = {"timeout": httpx_timeout(timeout)}
        # `provider_options["anthropic"]["betas"]` is, as in the SDK's `beta.messages.create(betas=...)`,
        # a header and not a body key: the beta client sends the same path with `anthropic-beta`.
        body = dict(body)
        if betas := body.pop("betas", None):
            options["headers"] = {"anthropic-beta": ",".join(betas)}
        if stream:
            body["stream"] = True
        return await client.post("/v1/messages", body=body, cast_to=httpx2.Response, options=options, stream=stream)
