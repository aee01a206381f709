"""The contracts every vendor fulfils (`Provider`, and its pure wire mapping `Adapter`) and the registry.

A provider is everything about one vendor API reached with one account: how its JSON maps to the
neutral model (`adapter`), what a history must look like for it (`rules`, which `project()` reads),
and how to call it (`complete`). The registry names the providers a model string may use
("openai:gpt-5" -> the "openai" provider); `DurableLLMPlugin(providers={...})` adds or replaces
names for one worker, e.g. {"azure": OpenAIProvider(base_url=..., api_key=...)}.

To add a vendor: a package under `durable_llm/providers/` and one line in `PROVIDERS`; nothing
else names it. The package holds, by convention:

- `wire.py`: its `Adapter` (pure JSON mappings, streams decoded once into `StreamDelta`s);
- `rules.py`: its `HistoryRules` (tool-call id pattern, media it takes, system role, ...);
- `client.py`: its `Provider`, constructible with no arguments (configured from the environment)
  and with credentials and endpoint from code; an HTTP API subclasses `_http.HttpProvider`,
  which only asks how to make a client and post a body;
- `server.py`: `SERVER`, its server side for the fake servers (`_serving.VendorServer`).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from durable_llm.conversation import ModelRequest, ModelResponse, ToolSpec
from durable_llm.conversation.projection import HistoryRules
from durable_llm.providers.errors import ProviderError

PROVIDERS: dict[str, str] = {
    "openai": "durable_llm.providers.openai:OpenAIProvider",
    "anthropic": "durable_llm.providers.anthropic:AnthropicProvider",
    "gemini": "durable_llm.providers.gemini:GeminiProvider",
    "test": "durable_llm.providers.scripted:ScriptedProvider",
    # OpenAI Chat Completions, on OpenAI itself and on the services that speak it:
    "openai_chat": "durable_llm.providers.openai_chat:ChatCompletionsProvider",
    **{
        name: f"durable_llm.providers.openai_chat:{name}"
        for name in ("ollama", "vllm", "openrouter", "groq", "mistral", "deepseek", "together", "azure")
    },
}
"""Provider name -> "module:class" of its default `Provider` (configured from the environment).

Modules are imported on first use and import no vendor SDK at import time."""

SDK_MODULES: tuple[str, ...] = ("openai", "anthropic", "google.genai", "httpx", "httpx2")
"""The modules the providers' clients import (vendor SDKs and their HTTP clients), which a workflow
sandbox must share rather than re-import."""

PROVIDER_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
"""What a provider name looks like: lowercase letters, digits, "_", "." and "-", starting with a letter."""


class MalformedBody(ValueError):
    """A vendor JSON body that does not have the shape its API documents; names the JSON path."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


DeltaKind = Literal["text", "tool_arguments", "reasoning"]


@dataclass(frozen=True)
class StreamDelta:
    """A piece of a model's answer as it streams in, decoded once from the vendor's event.

    `kind` says what it extends: answer text, the arguments (JSON text) of a tool call, or
    visible reasoning. `index` is the position of the part it extends in the vendor's answer
    (output item, content block or part) when the vendor says it, and tool-call pieces carry the
    call's id and name when the event does. Pieces come in order; together they are the answer's.
    """

    kind: DeltaKind
    text: str
    index: int | None = None
    call_id: str | None = None
    name: str | None = None


class Adapter(Protocol):
    """Pure mappings between the neutral model and one vendor API's JSON (no I/O).

    A stream's events are decoded once (`sse_events`): `stream_deltas` gives the typed pieces
    each adds, `decode_events` folds them into the response (`decode_stream` does both from text).
    """

    name: str
    api: str

    def encode_request(self, request: ModelRequest) -> dict[str, Any]: ...
    def decode_request(self, body: dict[str, Any]) -> ModelRequest: ...
    def decode_response(self, body: dict[str, Any]) -> ModelResponse: ...
    def encode_response(self, response: ModelResponse) -> dict[str, Any]: ...
    def decode_stream(self, sse_text: str) -> ModelResponse: ...
    def encode_stream(self, response: ModelResponse) -> str: ...
    def stream_text(self, event: dict[str, Any]) -> str: ...
    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]: ...
    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse: ...
    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError: ...
    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]: ...


DeltaListener = Callable[[StreamDelta], None]
"""Called for every `StreamDelta` of a streamed call, in the caller's event loop; it must not block."""


@runtime_checkable
class Provider(Protocol):
    """One vendor API reached with one account: its wire mapping, its history rules and its client.

    Implementations never import temporalio, and import their SDK on first call. Clients (and
    their connection pools) belong to the provider instance; the caller keeps the back-off.
    """

    @property
    def name(self) -> str:
        """The API family it speaks, e.g. "openai": the `provider` of the responses and reasoning
        tokens it makes (an Azure endpoint registered as "azure" still speaks "openai")."""
        ...

    @property
    def adapter(self) -> Adapter:
        """Its pure wire mapping (what the fake servers serve)."""
        ...

    @property
    def rules(self) -> HistoryRules:
        """What a history sent to it must satisfy; the model activity projects every transcript to these."""
        ...

    def account(self) -> Hashable:
        """Who calls where (credentials and endpoint, not secret in itself): vendors limit rates
        per account, so a "wait" one call is told applies to every call of the same account."""
        ...

    def credentials_missing(self) -> str | None:
        """What to give for it to have credentials (e.g. "OPENAI_API_KEY"), or None when it has them;
        read by start-up checks before any call."""
        ...

    async def complete(
        self, request: ModelRequest, *, timeout: float, on_delta: DeltaListener | None = None
    ) -> ModelResponse:
        """Send `request` and return the answer; with `on_delta`, the answer streams in and
        `on_delta` gets each piece on arrival (the response returned is the same).

        Raises a `ProviderError` subclass for every failure the vendor or the network causes
        (`RateLimited` with `retry_after`, `Timeout` after `timeout` seconds, ...), and
        `ValueError` for a request it cannot encode.
        """
        ...


def check_provider_name(name: str) -> str:
    """`name` if it is a well-formed provider name, else a `ValueError` saying what is allowed."""
    if not PROVIDER_NAME.fullmatch(name):
        raise ValueError(
            f"provider name {name!r} is malformed: use lowercase letters, digits, '_', '.' or '-', "
            "starting with a letter (e.g. 'openai', 'azure-eu')"
        )
    return name


MAX_MODEL_LENGTH = 256
"""The longest "provider:model" string taken: vendors' model names are far shorter, and a model
string travels in workflow inputs, memos and every request."""


def split_model(value: str) -> tuple[str, str]:
    """("provider", "model") from a "provider:model" string; `ValueError` saying what is wrong otherwise.

    The model part may hold anything a vendor names a model with ("models/gemini-2.5-flash",
    "ft:gpt-4o:org::id"), but no whitespace at its ends and no control characters.
    """
    if len(value) > MAX_MODEL_LENGTH:
        raise ValueError(
            f"model string of {len(value)} characters (starting {value[:40]!r}): at most {MAX_MODEL_LENGTH} are taken"
        )
    provider, sep, model = value.partition(":")
    if not sep or not provider or not model:
        raise ValueError(f"model must look like 'provider:model' (e.g. 'openai:gpt-5'), got {value!r}")
    if value != value.strip() or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"model {value!r} has surrounding whitespace or control characters; remove them")
    if provider not in PROVIDERS:
        check_provider_name(provider)
    return provider, model


def get_provider(name: str) -> Provider:
    """A new `Provider` of the registry's `name` ("openai", "anthropic", "gemini", "test"), configured
    from the environment; each call makes its own (with its own clients)."""
    try:
        module, _, attribute = PROVIDERS[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown provider {name!r}; choose one of: {', '.join(sorted(PROVIDERS))}") from None
    return getattr(importlib.import_module(module), attribute)()


def get_adapter(name: str) -> Adapter:
    """The wire adapter of provider `name` ("openai", "anthropic", "gemini" or "test")."""
    return get_provider(name).adapter
