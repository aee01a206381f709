"""The answer being written: folded from the vendor's pieces, finished from the recorded answer, as `Delta`s."""

from __future__ import annotations

import json

import pytest
from corpus import exchanges, requires_corpus

from durable_llm.conversation import Message, TextPart, ToolCallPart
from durable_llm.events import AnswerWritten, Delta
from durable_llm.live import _Answers
from durable_llm.progress import AnswerFolder, AnswerSoFar, AnswerStream, answer_streams
from durable_llm.providers import get_provider
from durable_llm.providers._wire import sse_events
from durable_llm.providers.errors import ProviderError

APIS = {
    "openai_responses": "openai",
    "anthropic_messages": "anthropic",
    "gemini_generate_content": "gemini",
    "openai_chat_completions": "openai_chat",
}


@requires_corpus
@pytest.mark.parametrize("api", APIS)
def test_streams_folded_from_recorded_streams_end_as_their_recorded_answers(api):
    adapter = get_provider(APIS[api]).adapter
    checked = 0
    for exchange in exchanges(api):
        sse = exchange["response"].get("sse")
        if exchange["response"]["status"] != 200 or not sse:
            continue
        events = json.loads(sse) if sse.lstrip().startswith("[") else sse_events(sse)
        try:
            response = adapter.decode_events(events)
        except ProviderError:  # a stream the vendor cut with an error: no answer recorded
            continue
        folder = AnswerFolder()
        for event in events:
            for piece in adapter.stream_deltas(event):
                folder.add(piece)
        streamed = {s.key: s.text for s in folder.streams()}
        for stream in answer_streams(response.message):
            if stream.delta == "tool_arguments":  # the same JSON, perhaps re-spaced (or not streamed: "{}")
                streamed_text = streamed.get(stream.key) or "{}"
                assert json.loads(streamed_text) == json.loads(stream.text or "{}"), exchange["file"]
            else:
                assert streamed.get(stream.key, "") == stream.text, (exchange["file"], stream.key)
        checked += 1
    assert checked > 50


def _shown(deltas: list[Delta]) -> dict[tuple[str, int, str], str]:
    """What a client holds after the deltas, each put at its position."""
    held: dict[tuple[str, int, str], str] = {}
    for d in deltas:
        key = (d.call, d.attempt, f"{d.delta}:{d.index}")
        held[key] = held.get(key, "")[: d.position] + d.text
    return held


def _so_far(text: str, attempt: int = 1, arguments: str | None = None) -> AnswerSoFar:
    streams = [AnswerStream(delta="text", text=text)]
    if arguments is not None:
        streams.append(AnswerStream(delta="tool_arguments", text=arguments, tool_call_id="c1"))
    return AnswerSoFar(call="3", attempt=attempt, agent="a", streams=tuple(streams))


def _written(text: str, arguments: str | None = None) -> AnswerWritten:
    parts: list = [TextPart(text=text)]
    if arguments is not None:
        parts.append(ToolCallPart(id="c1", name="f", arguments_raw=arguments))
    return AnswerWritten(call="3", agent="a", streams=answer_streams(Message(role="assistant", parts=tuple(parts))))


def test_a_follower_shows_each_growth_once_and_finishes_with_what_was_recorded():
    answers = _Answers()
    deltas = [*answers.grow(_so_far("Sun"), 5), *answers.grow(_so_far("Sun"), 5), *answers.grow(_so_far("Sunny"), 5)]
    deltas += answers.finish(_written("Sunny, 21 degrees."), 6)
    assert [(d.text, d.position, d.offset) for d in deltas] == [("Sun", 0, 5), ("ny", 3, 5), (", 21 degrees.", 5, 6)]
    assert list(answers.grow(_so_far("Sunny"), 6)) == []  # details read before the answer was recorded: stale


def test_tool_arguments_a_vendor_re_spaced_are_set_right_from_where_they_differ():
    answers = _Answers()
    deltas = [*answers.grow(_so_far("", arguments='{"city": "Os'), 1)]
    deltas += answers.finish(_written("", arguments='{"city":"Oslo"}'), 2)
    assert _shown(deltas) == {("3", 1, "tool_arguments:0"): '{"city":"Oslo"}'}
    assert deltas[-1].position == len('{"city":')


def test_a_retried_call_starts_over_and_the_earlier_attempts_details_are_ignored():
    answers = _Answers()
    deltas = [*answers.grow(_so_far("Rain"), 1), *answers.grow(_so_far("Sun", attempt=2), 1)]
    deltas += answers.grow(_so_far("Rain, more rain", attempt=1), 1)  # the server still held attempt 1's
    deltas += answers.finish(_written("Sunny."), 2)
    assert [(d.attempt, d.text, d.position) for d in deltas] == [(1, "Rain", 0), (2, "Sun", 0), (2, "ny.", 3)]


def test_resuming_after_a_delta_shows_the_rest_of_the_answer_and_nothing_twice():
    first = _Answers()
    before = next(first.grow(_so_far("Sunny, 21"), 4))
    resumed = _Answers()
    resumed.resume(before)
    after = [*resumed.grow(_so_far("Sunny, 21 degrees"), 4), *resumed.finish(_written("Sunny, 21 degrees."), 5)]
    assert _shown([before, *after]) == {("3", 1, "text:0"): "Sunny, 21 degrees."}
    assert [d.position for d in after] == [9, 17] and after[-1].shown == {"text:0": 18}


async def test_the_reporter_heartbeats_the_first_piece_at_once_and_later_ones_merged():
    import asyncio

    from durable_llm.progress import HEARTBEAT_GAP, AnswerReporter
    from durable_llm.providers.base import StreamDelta

    beats: list[tuple[AnswerSoFar, ...]] = []
    reporter = AnswerReporter("3", 1, "a", lambda *details: beats.append(details))
    assert reporter.details() == ()  # nothing written yet: a liveness heartbeat carries nothing
    reporter.receive(StreamDelta("text", "Sun"))
    reporter.receive(StreamDelta("text", "ny"))
    reporter.receive(StreamDelta("tool_arguments", '{"a":', index=1, call_id="c1"))
    assert [b[0].streams[0].text for b in beats] == ["Sun"]
    await asyncio.sleep(HEARTBEAT_GAP * 2)
    [_, (latest,)] = beats
    assert [(s.key, s.text, s.tool_call_id) for s in latest.streams] == [
        ("text:0", "Sunny", None),
        ("tool_arguments:0", '{"a":', "c1"),
    ]
    assert reporter.details() == (latest,)
    reporter.close()
