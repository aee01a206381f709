"""`GeminiProvider`: the Gemini Developer API (`generateContent`) reached with one account."""

from __future__ import annotations

import json
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
from durable_llm.providers.gemini.rules import RULES
from durable_llm.providers.gemini.wire import ADAPTER

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"

DEFAULT_API_VERSION = "v1beta"
"""The API version called unless configured: the one documenting every field the adapter sends
(`parametersJsonSchema`, `responseJsonSchema`, `thoughtSignature`), and the one every recorded client used."""


class GeminiProvider(HttpProvider):
    """The Gemini API at `base_url`, version `api_version`, with `api_key`.

    What is not given comes from the environment, as the `google-genai` SDK reads it
    (`GEMINI_API_KEY` or `GOOGLE_API_KEY`, `GOOGLE_GEMINI_BASE_URL`, `GOOGLE_GENAI_API_VERSION`),
    at each call. The body is posted with httpx2 exactly as the adapter encodes it: the SDK's
    public calls convert it through its own types, which drop fields they do not know.
    """

    adapter = ADAPTER
    rules = RULES
    environment = ("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION")
    """The environment variables it reads what code did not give from."""
    _credentials_hint = "GEMINI_API_KEY (or GOOGLE_API_KEY)"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        api_version: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._settings = {"api_key": api_key, "base_url": base_url, "api_version": api_version}
        self._headers = dict(headers or {})

    def _resolved(self) -> dict[str, str | None]:
        key = self._settings["api_key"] or os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
        base_url = self._settings["base_url"] or os.environ.get("GOOGLE_GEMINI_BASE_URL") or DEFAULT_BASE_URL
        version = self._settings["api_version"] or os.environ.get("GOOGLE_GENAI_API_VERSION") or DEFAULT_API_VERSION
        return {"api_key": key or None, "base_url": base_url.rstrip("/"), "api_version": version.strip("/")}

    def _credentials(self) -> str | None:
        return self._resolved()["api_key"]

    def account(self) -> Hashable:
        settings = self._resolved()
        return (
            self.name,
            credential_id(settings["api_key"]),
            settings["base_url"],
            settings["api_version"],
            tuple(sorted(self._headers.items())),
        )

    def _new_client(self) -> Any:
        import httpx2

        settings = self._resolved()
        if not settings["api_key"]:
            raise missing_credentials(self)
        return httpx2.AsyncClient(
            base_url=f"{settings['base_url']}/{settings['api_version']}/",
            headers={"x-goog-api-key": settings["api_key"], **self._headers},
            timeout=httpx_timeout(DEFAULT_TIMEOUT),
        )

    async def _post(
        self, client: Any, request: ModelRequest, body: dict[str, Any], timeout: float, stream: bool
    ) -> Any:
        path = ADAPTER.request_path(request, stream=stream)
        content = json.dumps(body, ensure_ascii=False).encode()
        http_request = client.build_request(
            "POST", path, content=content, headers={"content-type": "application/json"}, timeout=httpx_timeout(timeout)
        )
        return await client.send(http_request, stream=stream)
