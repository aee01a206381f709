"""A vendor's "wait" applies to every call a process makes with the same account and model.

A 429 (or an overloaded answer) with a retry delay says when the account may call that model
again (vendors limit each model separately), and every conversation on a worker calls with the
worker's account: each would get the same answer. So after one, every call to that account and
model holds back until the delay is over: in place (the
activity keeps heartbeating) up to `MAX_WAIT_IN_PLACE` seconds, else it fails at once with
`RateLimited` carrying the time left, for Temporal to retry then, without a request the vendor
would refuse.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Hashable

from durable_llm.providers.errors import ProviderError, RateLimited

MAX_WAIT_IN_PLACE = 30.0
"""Seconds a call waits for its vendor in place; a longer wait fails it, to be retried when over."""


class Backoff:
    """When each account (a vendor, its credentials and a model) may be called again, for one process."""

    def __init__(self) -> None:
        self._until: dict[Hashable, float] = {}

    def note(self, account: Hashable, error: ProviderError) -> None:
        """Remember a vendor's request to wait: a retryable error that came with a retry delay."""
        if error.retryable and error.retry_after:
            until = time.monotonic() + error.retry_after
            self._until[account] = max(self._until.get(account, until), until)

    def remaining(self, account: Hashable) -> float:
        """Seconds until `account` may be called (0 if it may now)."""
        return max(self._until.get(account, 0.0) - time.monotonic(), 0.0)

    def clear(self) -> None:
        """Forget every wait (for tests)."""
        self._until.clear()

    async def wait(self, account: Hashable, provider: str) -> None:
        """Return once `account` may be called; raise `RateLimited` if that is more than `MAX_WAIT_IN_PLACE` away."""
        remaining = self.remaining(account)
        if remaining > MAX_WAIT_IN_PLACE:
            raise RateLimited(
                f"the vendor asked this account to wait {remaining:.0f} s more (an earlier call's retry delay)",
                provider=provider,
                retry_after=remaining,
            )
        if remaining > 0:
            # Spread the calls that waited over a moment, instead of all at the same instant.
            await asyncio.sleep(remaining + random.uniform(0, min(remaining / 10, 1.0)))


VENDOR_BACKOFF = Backoff()
"""The process's back-off, shared by every `call_vendor`."""
