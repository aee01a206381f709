"""How the examples run with no API key: a local fake of each vendor that has none.

`FakeVendorServer` speaks the vendor's real wire format, so the vendor's own SDK, our adapter and
the durable workflow all run exactly as they would against the real API; only the answers are
scripted. With a key in the environment, the real vendor is used instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager

from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.providers import get_provider
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
            missing = get_provider(provider).credentials_missing()
            if missing is None:
                continue
            server = stack.enter_context(FakeVendorServer(provider, responses=script))
            os.environ.update(server.env())
            faked.append(provider)
            print(f"(no {missing.split()[0]}: a local fake {provider} server answers from a script)")
        try:
            yield faked
        finally:
            os.environ.clear()
            os.environ.update(saved)
