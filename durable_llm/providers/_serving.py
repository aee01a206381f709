"""The server side of a vendor API, as a fake server speaks it: what each vendor's `server` module provides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from durable_llm.conversation import ModelRequest, ModelResponse


@dataclass(frozen=True)
class ServedRequest:
    """A request as the vendor's server reads it: the neutral request, and whether it asks to stream."""

    request: ModelRequest
    stream: bool


class VendorServer(Protocol):
    """The server-side directions of one vendor API (read requests, write answers, streams and errors)."""

    name: str

    def endpoint(self, path: str) -> bool:
        """Whether `path` (without its query) is the API's model-call endpoint."""
        ...

    def decode_request(self, path: str, headers: Mapping[str, str], body: dict[str, Any]) -> ServedRequest:
        """The request a client posted to `path` (the model may be in the URL, settings in headers);
        `ValueError` for a body the API would refuse."""
        ...

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        """The JSON body answering with `response`."""
        ...

    def encode_stream(self, response: ModelResponse) -> str:
        """The server-sent events answering with `response` as a stream."""
        ...

    def error_body(self, status: int, message: str | None, headers: Mapping[str, str]) -> dict[str, Any]:
        """The API's JSON error body for `status`, with its typical message unless `message` is given."""
        ...

    def new_response_id(self) -> str:
        """A fresh id of the vendor's form for a response that has none."""
        ...

    def answer_headers(self) -> dict[str, str]:
        """Headers the vendor puts on every answer (e.g. its request id)."""
        ...

    def client_environment(self, base_url: str) -> dict[str, str]:
        """The environment variables pointing the vendor's client at a server at `base_url`, with a dummy key."""
        ...


def get_server(name: str) -> VendorServer:
    """The server side of registry provider `name`: `SERVER` in the `server` module of its package."""
    import importlib

    from durable_llm.providers.base import PROVIDERS

    if name not in PROVIDERS:
        raise ValueError(f"unknown provider {name!r}; choose one of: {', '.join(sorted(PROVIDERS))}")
    package = PROVIDERS[name].partition(":")[0]
    try:
        module = importlib.import_module(f"{package}.server")
    except ModuleNotFoundError:
        raise ValueError(f"provider {name!r} has no server side to fake") from None
    # A package serving several named services (Chat Completions: "ollama", "groq", ...) says which is which.
    return module.server_for(name) if hasattr(module, "server_for") else module.SERVER
