"""Time to encode and decode a 200-message history with tool calls, per vendor adapter.

Goal: under 5 ms for each operation. Run: `.venv/bin/python bench/adapters.py`.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

from durable_llm.conversation import (
    Message,
    ModelRequest,
    ModelResponse,
    ReasoningPart,
    ReasoningToken,
    TextPart,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    Usage,
    project,
)
from durable_llm.providers import get_adapter

PROVIDERS = ("openai", "anthropic", "gemini", "openai_chat")
API = {"openai": "responses", "anthropic": "messages", "gemini": "generate_content", "openai_chat": "chat_completions"}
GOAL_MS = 5.0


def history(provider: str, messages: int = 200) -> tuple[Message, ...]:
    """user -> assistant (reasoning + tool call) -> tool result -> assistant text, repeated."""
    token = ReasoningToken(provider=provider, api=API[provider], model="bench-model", value="sig" * 40)
    out: list[Message] = []
    turn = 0
    while len(out) < messages:
        call_id = f"call_{turn}"
        args = {"city": f"City {turn}", "days": turn % 7}
        out += [
            Message(role="user", parts=(TextPart(text=f"What is the weather in City {turn}? " * 4),)),
            Message(
                role="assistant",
                parts=(
                    ReasoningPart(text="I should call the tool.", token=token),
                    ToolCallPart(id=call_id, name="get_weather", arguments_raw=json.dumps(args), arguments=args),
                ),
            ),
            Message(
                role="tool",
                parts=(
                    ToolResultPart(call_id=call_id, name="get_weather", content=(TextPart(text="Sunny, 21C. " * 8),)),
                ),
            ),
            Message(role="assistant", parts=(TextPart(text=f"It is sunny in City {turn}. " * 5),)),
        ]
        turn += 1
    return tuple(out[:messages])


def best_ms(fn: Callable[[], object], repeat: int = 30) -> tuple[float, float]:
    """(median, best) wall time of `fn` in milliseconds."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), min(samples)


def bench(provider: str) -> None:
    """Print the four timings of one vendor's adapter."""
    tool = ToolSpec(
        name="get_weather",
        description="Weather for a city.",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city", "days"],
            "additionalProperties": False,
        },
    )
    adapter = get_adapter(provider)
    messages, _ = project(history(provider), provider, "bench-model")
    request = ModelRequest(model="bench-model", instructions="Be brief.", messages=messages, tools=(tool,))
    body = adapter.encode_request(request)
    response = ModelResponse(
        provider=provider,
        id="resp_1",
        model="bench-model",
        message=messages[1],
        usage=Usage(input_tokens=5000, output_tokens=40),
        stop_reason="tool_calls",
    )
    response_body = adapter.encode_response(response)
    rows = {
        "encode_request (200 msgs)": lambda: adapter.encode_request(request),
        "decode_request (200 msgs)": lambda: adapter.decode_request(body),
        "encode_response": lambda: adapter.encode_response(response),
        "decode_response": lambda: adapter.decode_response(response_body),
    }
    for name, fn in rows.items():
        median, best = best_ms(fn)
        verdict = "ok" if median < GOAL_MS else "SLOW"
        print(f"{provider:<12} {name:<28} {median:>10.2f} {best:>9.2f}  {verdict}")


def main() -> None:
    print(f"{'vendor':<12} {'operation':<28} {'median ms':>10} {'best ms':>9}  goal < {GOAL_MS} ms")
    for provider in PROVIDERS:
        bench(provider)


if __name__ == "__main__":
    main()
