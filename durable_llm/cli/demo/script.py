"""The model's part of the offline weather agent: a script that reads the conversation it is sent."""

from __future__ import annotations

import json

from durable_llm.conversation import ModelRequest, ModelResponse, ToolResultPart, ToolSpec, Usage
from durable_llm.testing import call_tools, reply

WEATHER_TOOL_NAMES = frozenset({"get_forecast", "get_alerts"})
"""The tools the script asks for."""


def scripted_weather_model(request: ModelRequest) -> ModelResponse:
    """Play the model for the demo question: ask for both tools, then answer from their results.

    It reads the conversation it is sent, so a demo interrupted and resumed in a new process
    (with a new fake server) carries on from where the workflow is.
    """
    last = request.messages[-1]
    usage = _rough_usage(request)
    if last.role != "tool":
        return call_tools(
            ("get_forecast", {"latitude": 37.7749, "longitude": -122.4194}),
            ("get_alerts", {"state": "CA"}),
            text="Let me check the National Weather Service.",
            usage=usage,
        )
    results = {part.name: result_text(part) for part in last.parts if isinstance(part, ToolResultPart)}
    forecast = (results.get("get_forecast") or "(no forecast)").split("\n---\n")[0]
    alerts = (results.get("get_alerts") or "(no alerts)").split("\n---\n")
    headline = alerts[0].partition("\n")[0].removeprefix("Event: ")
    return reply(
        f"In San Francisco — {forecast}\n"
        f"California has {len(alerts)} active alert(s); the first: {headline}.\n"
        "(This answer was scripted by the local fake model; the weather data came through the tools.)",
        usage=usage,
    )


def scripted_offline_model(request: ModelRequest) -> ModelResponse:
    """The model of `run`, `chat` and `worker` offline: the weather script when it has the weather
    tools, else an answer that says what it is (it cannot guess arguments for unknown tools)."""
    names = [tool.name for tool in request.tools if isinstance(tool, ToolSpec)]
    if WEATHER_TOOL_NAMES.issubset(names):
        return scripted_weather_model(request)
    said = next((m.text for m in reversed(request.messages) if m.role == "user"), "")
    tools = ", ".join(names) or "none"
    return reply(
        f"(A scripted offline answer: no real model runs.) You said: {said!r}. Tools I was given: {tools}.",
        usage=_rough_usage(request),
    )


def result_text(part: ToolResultPart) -> str:
    """A tool result as text, however the vendor carried it (Gemini: `{"output": text}` as the value)."""
    if part.text:
        return part.text
    if isinstance(part.value, dict) and set(part.value) <= {"output", "error"}:
        return str(next(iter(part.value.values()), ""))
    return json.dumps(part.value)


def _rough_usage(request: ModelRequest) -> Usage:
    """Token counts for the fake model: about four characters per token, as vendors count English."""
    size = len(request.model_dump_json())
    return Usage(input_tokens=size // 4, output_tokens=60)
