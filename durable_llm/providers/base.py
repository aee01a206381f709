"""The adapter contract every vendor module fulfils, and the registry that finds them."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, Protocol

from durable_llm.conversation import ModelRequest, ModelResponse, ToolSpec
from durable_llm.providers.errors import ProviderError

PROVIDERS: dict[str, str] = {
    "openai": "durable_llm.providers.openai",
    "anthropic": "durable_llm.providers.anthropic",
    "gemini": "durable_llm.providers.gemini",
    "openai_chat": "durable_llm.providers.openai_chat",
}
"""Provider name -> module holding its `ADAPTER`. Modules import no vendor SDK at import time."""


class MalformedBody(ValueError):
    """A vendor JSON body that does not have the shape its API documents; names the JSON path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class Adapter(Protocol):
    """Pure mappings between the neutral model and one vendor API's JSON (no I/O)."""

    name: str
    api: str

    def encode_request(self, request: ModelRequest) -> dict[str, Any]: ...
    def decode_request(self, body: dict[str, Any]) -> ModelRequest: ...
    def decode_response(self, body: dict[str, Any]) -> ModelResponse: ...
    def encode_response(self, response: ModelResponse) -> dict[str, Any]: ...
    def decode_stream(self, sse_text: str) -> ModelResponse: ...
    def encode_stream(self, response: ModelResponse) -> str: ...
    def stream_text(self, event: dict[str, Any]) -> str: ...
    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError: ...
    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]: ...


def get_adapter(name: str) -> Adapter:
    """The adapter for `name` ("openai", "anthropic", "gemini" or "openai_chat")."""
    try:
        module = PROVIDERS[name]
    except KeyError:
        known = ", ".join(sorted(PROVIDERS))
        raise ValueError(f"unknown provider {name!r}; choose one of: {known}") from None
    return importlib.import_module(module).ADAPTER
