"""What streaming a model call costs: the same answer streamed (`on_text`) and whole, side by side.

Each vendor's real SDK calls its local fake server (loopback, no network latency), so the figure
is the cost of streaming itself: the server writing event by event, the SDK's streamed read,
cutting events, `stream_text`, folding the stream. Goal: under 5 ms added to a ~2 KB answer (a
vendor takes hundreds of milliseconds to seconds to write one). Run: `.venv/bin/python bench/streaming.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

from durable_llm.conversation import Message, ModelRequest, TextPart
from durable_llm.providers import AnthropicProvider, GeminiProvider, OpenAIProvider
from durable_llm.testing import FakeVendorServer, reply
from durable_llm.transport import call_vendor

ENVIRONMENT = {p.adapter.name: p.environment for p in (OpenAIProvider, AnthropicProvider, GeminiProvider)}

MODELS = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
ANSWER = "The forecast for Paris: sunny this afternoon, 21 degrees, a light north-west wind. " * 24  # ~2 KB
ROUNDS = 60


async def timed(request: ModelRequest, provider: str, stream: bool) -> float:
    pieces: list[str] = []
    started = time.perf_counter()
    response = await call_vendor(request, provider=provider, on_text=pieces.append if stream else None)
    seconds = time.perf_counter() - started
    assert response.message.text == ANSWER and (not stream or "".join(pieces) == ANSWER)
    return seconds


async def measure(provider: str) -> tuple[float, float, int]:
    """(median whole ms, median streamed ms, text pieces per streamed answer), alternating the two."""
    request = ModelRequest(model=MODELS[provider], messages=(Message(role="user", parts=(TextPart(text="hi"),)),))
    with FakeVendorServer(provider, responses=lambda _: reply(ANSWER)) as server:
        for name in ENVIRONMENT[provider]:
            os.environ.pop(name, None)
        os.environ.update(server.env())
        whole, streamed = [], []
        for _ in range(ROUNDS):
            whole.append(await timed(request, provider, stream=False))
            streamed.append(await timed(request, provider, stream=True))
        pieces: list[str] = []
        await call_vendor(request, provider=provider, on_text=pieces.append)
    return statistics.median(whole) * 1000, statistics.median(streamed) * 1000, len(pieces)


async def main() -> None:
    print(f"{len(ANSWER):,}-character answer, median of {ROUNDS} calls each, alternating\n")
    print(f"{'vendor':<10} {'whole':>9} {'streamed':>9} {'added':>9} {'pieces':>7}")
    for provider in MODELS:
        whole, streamed, pieces = await measure(provider)
        print(f"{provider:<10} {whole:>7.2f}ms {streamed:>7.2f}ms {streamed - whole:>7.2f}ms {pieces:>7}")


if __name__ == "__main__":
    asyncio.run(main())
