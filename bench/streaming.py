"""What streaming a model call costs: the same answer streamed (`on_text`) and whole, side by side.

Each vendor's real SDK calls its local fake server (loopback, no network latency), so the figure
is the cost of streaming itself: the server writing event by event, the SDK's streamed read,
cutting events, `stream_text`, folding the stream. Goal: under 5 ms added to a ~2 KB answer (a
vendor takes hundreds of milliseconds to seconds to write one).

Then, to a client in another process (`durable_llm.follow`, through a local Temporal dev server):
how long after the worker received the vendor's first piece (over loopback: about when the vendor
sent it) the client has it (goal < 300 ms), and the history bytes one streamed ~2 KB answer adds
to a chat, against the same chat whose model calls neither stream nor report their answer (goal:
< 10 % more), with and without a follower attached. Run: `cd bench && ../.venv/bin/python streaming.py`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
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


FOLLOWER = """
import asyncio, sys, time
from temporalio.client import Client
from durable_llm import DurableLLMPlugin, follow
async def main(address, conversation):
    client = await Client.connect(address, plugins=[DurableLLMPlugin()])
    print("ready", flush=True)
    async for event in follow(client, conversation):
        if event.kind == "delta":
            print(f"delta {time.time()}", flush=True)
        if event.kind == "turn_finished":
            print("turn", flush=True)
asyncio.run(main(*sys.argv[1:3]))
"""
TURNS = 12
EVENT_INTERVAL = 0.01  # the fake vendor writes an event every 10 ms: a 2 KB answer takes ~1 s


def first_token_after(turn: int) -> float:
    """How long the vendor thinks before it answers, spread over the turns (0.2 s to 1.3 s).

    A vendor's first piece can come at any moment of the model activity's liveness heartbeats
    (every 0.625 s), which the worker's heartbeat throttle makes it wait after."""
    return 0.2 + 0.1 * turn


async def remote(streamed: bool, followed: bool) -> tuple[list[float], list[int], list[int]]:
    """(ms from the worker's first piece to the follower's, per turn; history bytes and events added per turn)."""
    from bench_kit import dev_server, history_bytes
    from temporalio.client import Client
    from temporalio.worker import Worker

    import durable_llm.activities as activities
    from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin

    reporter = activities._answer_reporter
    if not streamed:  # the same chat, its answers neither streamed nor reported
        activities._answer_reporter = lambda turn, agent: None  # type: ignore[assignment]
    firsts: list[float] = []
    plugin = DurableLLMPlugin(on_text=(lambda _: firsts.append(time.time())) if streamed else None)
    latencies, growth, events = [], [], []
    try:
        async with await dev_server() as env:
            client = Client(env.client.service_client, namespace=env.client.namespace, plugins=[plugin])
            with FakeVendorServer("openai", lambda _: reply(ANSWER), event_interval=EVENT_INTERVAL) as server:
                os.environ.update(server.env())
                async with Worker(client, task_queue="bench"):
                    handle = await client.start_workflow(
                        AgentWorkflow.run,
                        AgentInput(agent=Agent(model="openai:gpt-5-mini"), chat=True),
                        id=f"bench-{streamed}-{followed}",
                        task_queue="bench",
                    )
                    follower = None
                    if followed:
                        follower = await asyncio.create_subprocess_exec(
                            sys.executable,
                            "-c",
                            FOLLOWER,
                            env.client.service_client.config.target_host,
                            handle.id,
                            stdout=asyncio.subprocess.PIPE,
                        )
                        assert follower.stdout and await follower.stdout.readline() == b"ready\n"
                    for turn in range(TURNS):
                        server.delay(first_token_after(turn))
                        before = await handle.fetch_history()
                        firsts.clear()
                        await handle.execute_update(AgentWorkflow.send_message, f"Question {turn}")
                        if follower is not None:
                            assert follower.stdout
                            lines = []
                            while (line := (await follower.stdout.readline()).decode().strip()) != "turn":
                                lines.append(line)
                            latencies.append((float(lines[0].split()[1]) - firsts[0]) * 1000)
                        after = await handle.fetch_history()
                        growth.append(history_bytes(after) - history_bytes(before))
                        events.append(len(after.events) - len(before.events))
                    if follower is not None:
                        follower.kill()
                        await follower.wait()
    finally:
        activities._answer_reporter = reporter  # type: ignore[assignment]
    return latencies, growth[1:], events[1:]  # the first turn also records the patch markers, once


async def main() -> None:
    print(f"{len(ANSWER):,}-character answer, median of {ROUNDS} calls each, alternating\n")
    print(f"{'vendor':<10} {'whole':>9} {'streamed':>9} {'added':>9} {'pieces':>7}")
    for provider in MODELS:
        whole, streamed, pieces = await measure(provider)
        print(f"{provider:<10} {whole:>7.2f}ms {streamed:>7.2f}ms {streamed - whole:>7.2f}ms {pieces:>7}")

    print(f"\nTo a client in another process, a chat of {TURNS} turns, each a {len(ANSWER):,}-character answer")
    _, unstreamed, unstreamed_events = await remote(streamed=False, followed=False)
    _, alone, alone_events = await remote(streamed=True, followed=False)
    latencies, followed, followed_events = await remote(streamed=True, followed=True)
    base = statistics.median(unstreamed)
    runs = (
        ("unstreamed", unstreamed, unstreamed_events),
        ("streamed, no follower", alone, alone_events),
        ("streamed + 1 follower", followed, followed_events),
    )
    for name, sizes, counts in runs:
        size = statistics.median(sizes)
        print(
            f"  history per turn, {name:<22} {size:>7,.0f} bytes ({(size - base) / base:+.1%}), "
            f"{statistics.median(counts):.0f} events"
        )
    p90 = statistics.quantiles(latencies, n=10)[-1]
    print(
        f"  first piece at the follower, after the worker received it from the vendor: "
        f"median {statistics.median(latencies):.0f} ms, p90 {p90:.0f} ms, max {max(latencies):.0f} ms "
        f"(each turn: {', '.join(f'{ms:.0f}' for ms in latencies)})"
    )


if __name__ == "__main__":
    asyncio.run(main())
