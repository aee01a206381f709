"""Call the model of a "provider:model" string: find the worker's provider, respect its back-off, send.

A worker's `Providers` are the registry's (`durable_llm.providers.get_provider`, configured from
the environment) plus those its plugin was given (`DurableLLMPlugin(providers={...})`), each with
its own clients; the back-off (`durable_llm.backoff`) belongs to the same `Providers`, so two
plugins in one process share neither. Nothing here knows a vendor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from durable_llm.backoff import VENDOR_BACKOFF, Backoff
from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers._http import DEFAULT_TIMEOUT
from durable_llm.providers.base import (
    PROVIDERS,
    DeltaListener,
    Provider,
    StreamDelta,
    check_provider_name,
    get_provider,
)
from durable_llm.providers.errors import ProviderError


class UnknownProvider(ValueError):
    """A model string names a provider the worker does not have."""


class Providers:
    """The providers one worker calls, by the name model strings use, and the back-off of their accounts."""

    def __init__(self, given: Mapping[str, Provider] | None = None, *, backoff: Backoff | None = None) -> None:
        given = dict(given or {})
        for name, provider in given.items():
            check_provider_name(name)
            if not isinstance(provider, Provider):
                raise TypeError(f"providers[{name!r}] is a {type(provider).__name__}, not a Provider")
        self._providers: dict[str, Provider] = given
        self.backoff = backoff or Backoff()

    @property
    def names(self) -> tuple[str, ...]:
        """Every provider name this worker knows, the registry's first."""
        return (*PROVIDERS, *(name for name in self._providers if name not in PROVIDERS))

    def get(self, name: str) -> Provider:
        """The provider model strings call `name`; `UnknownProvider` saying how to add one."""
        if name not in self._providers:
            if name not in PROVIDERS:
                raise UnknownProvider(
                    f"unknown provider {name!r}: this worker knows {', '.join(self.names)}; give it one with "
                    f'DurableLLMPlugin(providers={{"{name}": OpenAIProvider(base_url=..., api_key=...)}}) (or another '
                    "Provider) on every worker of the task queue"
                )
            self._providers[name] = get_provider(name)
        return self._providers[name]

    async def call(
        self,
        name: str,
        request: ModelRequest,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_delta: DeltaListener | None = None,
    ) -> ModelResponse:
        """`request` answered by provider `name`, after any wait its account was told to keep.

        Raises what the provider raises (`ProviderError` subclasses, `ValueError` for a request it
        cannot encode), `UnknownProvider`, and `RateLimited` without calling when the account must
        wait longer than `backoff.MAX_WAIT_IN_PLACE`.
        """
        provider = self.get(name)
        account = (name, provider.account(), request.model or "")
        await self.backoff.wait(account, provider.name)
        try:
            return await provider.complete(request, timeout=timeout, on_delta=on_delta)
        except ProviderError as error:
            self.backoff.note(account, error)
            raise


_DEFAULT = Providers(backoff=VENDOR_BACKOFF)


async def call_vendor(
    request: ModelRequest,
    *,
    provider: str,
    timeout: float = DEFAULT_TIMEOUT,
    on_text: Callable[[str], None] | None = None,
) -> ModelResponse:
    """Send `request` to the registry's `provider` (configured from the environment) and decode its answer.

    With `on_text`, the answer streams in and `on_text` gets each piece of its text on arrival;
    the response returned is the one a call without it would give. Outside a worker (scripts,
    tests); a worker calls through its plugin's `Providers`.
    """

    def texts(delta: StreamDelta) -> None:
        if on_text is not None and delta.kind == "text":
            on_text(delta.text)

    return await _DEFAULT.call(provider, request, timeout=timeout, on_delta=texts if on_text is not None else None)
