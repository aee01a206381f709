"""Running a command with no vendor account: a local fake of the vendor, and of the weather service.

The fake (`durable_llm.testing.FakeVendorServer`) speaks the vendor's real wire format, so the
vendor's own SDK, the adapters and the durable workflow run as they would against the real API;
only the answers are scripted (`demo.script`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from durable_llm.cli.render import console
from durable_llm.config import Settings
from durable_llm.providers import get_provider


def use_vendor(stack: AsyncExitStack, settings: Settings, *, offline: bool, think: float = 0.0) -> None:
    """Say which model answers; offline (asked, or no API key set) a local fake of its vendor does.

    Offline, the environment points the vendor's SDK (and, unless `NWS_BASE_URL` is set, the
    weather tools) at local servers until `stack` closes. `think` is about the seconds each
    fake answer takes.
    """
    if not offline and settings.has_api_key():
        console.print(f"Model: [bold]{settings.model}[/] (the real {settings.provider} API).")
        return
    from durable_llm.cli.demo import NWSStub, scripted_offline_model
    from durable_llm.testing import FakeVendorServer

    missing = get_provider(settings.provider).credentials_missing() or "an API key"

    saved = dict(os.environ)
    stack.callback(_restore_environment, saved)
    fake = stack.enter_context(
        FakeVendorServer(settings.provider, responses=_slowly(scripted_offline_model, think), event_interval=think / 20)
    )
    os.environ.update(fake.env())
    if "NWS_BASE_URL" not in os.environ:
        os.environ.update(stack.enter_context(NWSStub()).env())
    why = "--offline" if offline else f"No API key for {settings.provider} (set {missing})"
    console.print(
        f"[yellow]{why}[/]: running OFFLINE against a local fake {settings.provider} server (model "
        f"{settings.model}) with a scripted model, and a local sample of the National Weather Service. "
        "Set the vendor's API key to use the real model."
    )


def _slowly(script: Callable[[Any], Any], think: float) -> Callable[[Any], Any]:
    def answer(request: Any) -> Any:
        time.sleep(think / 2)  # the rest of the time goes into writing the answer, event by event
        return script(request)

    return answer


def _restore_environment(saved: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(saved)
