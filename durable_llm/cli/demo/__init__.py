"""The weather agent `durable-llm demo` runs, and what it needs offline: not part of the library.

The tools (`weather`) call the National Weather Service; without network or API keys, `NWSStub`
serves a sample of NWS answers on loopback (`nws_sample.json`) and `scripted_weather_model`
plays the model on a `FakeVendorServer`, so the same agent, SDKs and workflow run end to end.
`durable-llm worker --tools durable_llm.cli.demo:WEATHER_TOOLS` serves the tools.
"""

from durable_llm.cli.demo.nws_stub import SAMPLE_NWS, NWSStub
from durable_llm.cli.demo.script import result_text, scripted_offline_model, scripted_weather_model
from durable_llm.cli.demo.weather import INSTRUCTIONS, QUESTION, WEATHER_TOOLS, get_alerts, get_forecast

__all__ = [
    "INSTRUCTIONS",
    "QUESTION",
    "SAMPLE_NWS",
    "WEATHER_TOOLS",
    "NWSStub",
    "get_alerts",
    "get_forecast",
    "result_text",
    "scripted_offline_model",
    "scripted_weather_model",
]
