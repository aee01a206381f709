"""How the examples run with no API key: a local fake of each vendor that has none.

`FakeVendorServer` speaks the vendor's real wire format, so the vendor's own SDK, our adapter and
the durable workflow all run exactly as they would against the real API; only the answers are
scripted. With a key in the environment, the real vendor is used instead; a local model server
(Ollama) is used when it is running.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers import ChatCompletionsProvider, get_provider
from durable_llm.testing import FakeVendorServer


@contextmanager
def fake_vendors_without_keys(
    providers: Iterable[str], script: Callable[[ModelRequest], ModelResponse]
) -> Iterator[list[str]]:
    """Stand in for each of `providers` that has no API key; yields the ones faked.

    The fakes' base URLs and dummy keys go into `os.environ` (where the worker's SDK clients look)
    and are removed again on exit.
    """
    saved = dict(os.environ)
    faked: list[str] = []
    with ExitStack() as stack:
        for provider in dict.fromkeys(providers):
            missing = _missing(provider)
            if missing is None:
                continue
            server = stack.enter_context(FakeVendorServer(provider, responses=script))
            os.environ.update(server.env())
            faked.append(provider)
            print(f"(no {missing}: a local fake {provider} server answers from a script)")
        try:
            yield faked
        finally:
            os.environ.clear()
            os.environ.update(saved)


def _missing(provider: str) -> str | None:
    """What the real `provider` lacks here (its key, or a local server that is not running), or None."""
    real = get_provider(provider)
    if (missing := real.credentials_missing()) is not None:
        return missing.split()[0]
    if isinstance(real, ChatCompletionsProvider) and not _listening(real.base_url()):
        return f"server at {real.base_url()}"
    return None


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "localhost", parts.port or 443), timeout=0.5):
            return True
    except OSError:
        return False
