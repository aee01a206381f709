"""The weather agent `durable-llm demo` runs: real National Weather Service tools, and what it needs offline.

The tools are ordinary typed functions using httpx; their docstrings are the schema the model
sees. They call https://api.weather.gov, or `NWS_BASE_URL` when set. Without network or API
keys, `NWSStub` serves NWS-shaped JSON on loopback and `scripted_weather_model` plays the
model on a `FakeVendorServer`, so the same agent, SDKs and workflow run end to end.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import httpx

from durable_llm.conversation import ModelRequest, ModelResponse, ToolResultPart, Usage

NWS_API = "https://api.weather.gov"
"""The National Weather Service API; `NWS_BASE_URL` replaces it (tests, offline demo)."""

USER_AGENT = "durable-llm-weather-demo (https://github.com/durable-llm/durable-llm)"
"""NWS asks every client to identify itself; requests without a User-Agent are refused."""

INSTRUCTIONS = (
    "You are a weather assistant for the United States. Use the tools to look up forecasts and "
    "active alerts from the National Weather Service; give latitude and longitude yourself for "
    "places the user names. Answer briefly."
)

QUESTION = "What's the weather in San Francisco over the next day, and are there any weather alerts in California?"
"""What the demo asks."""


async def get_alerts(state: str) -> str:
    """Get the active weather alerts for a US state.

    Args:
        state: Two-letter US state code, e.g. CA or NY.
    """
    data = await _get_json(f"/alerts/active?area={state.strip().upper()}")
    features = data.get("features") or []
    if not features:
        return f"No active alerts for {state.upper()}."
    return "\n---\n".join(_alert_text(feature.get("properties", {})) for feature in features[:5])


async def get_forecast(latitude: float, longitude: float) -> str:
    """Get the weather forecast for a location in the United States.

    Args:
        latitude: Latitude of the location, in degrees.
        longitude: Longitude of the location, in degrees.
    """
    # NWS answers points with more than four decimals by a redirect; four is ~10 m.
    point = await _get_json(f"/points/{latitude:.4f},{longitude:.4f}")
    forecast_url = point["properties"]["forecast"]
    forecast = await _get_json(forecast_url)
    periods = forecast["properties"]["periods"][:4]
    return "\n---\n".join(
        f"{p['name']}: {p['temperature']}°{p['temperatureUnit']}, wind {p['windSpeed']} {p['windDirection']}. "
        f"{p['detailedForecast']}"
        for p in periods
    )


WEATHER_TOOLS = [get_alerts, get_forecast]
"""The tools of the weather agent (`durable-llm worker --tools durable_llm.demo:WEATHER_TOOLS`)."""


def nws_base_url() -> str:
    """Where the tools send their requests: `NWS_BASE_URL`, else the real API."""
    return os.environ.get("NWS_BASE_URL", NWS_API).rstrip("/")


async def _get_json(path_or_url: str) -> dict[str, Any]:
    # The points answer holds an absolute forecast URL on the real API: keep it on our base URL.
    path = path_or_url.removeprefix(NWS_API)
    url = path if path.startswith("http") else f"{nws_base_url()}{path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "application/geo+json"}
    async with httpx.AsyncClient(timeout=30, follow_redirects=True) as client:
        response = await client.get(url, headers=headers)
    if response.status_code == 404:
        raise LookupError(f"the National Weather Service has no data for {path} (it covers the US only)")
    response.raise_for_status()
    return response.json()


def _alert_text(properties: Mapping[str, Any]) -> str:
    return "\n".join(
        [
            f"Event: {properties.get('event', 'unknown')}",
            f"Area: {properties.get('areaDesc', 'unknown')}",
            f"Severity: {properties.get('severity', 'unknown')}",
            f"Headline: {properties.get('headline') or 'none'}",
            f"Instructions: {properties.get('instruction') or 'none given'}",
        ]
    )


# -- offline: a scripted model and a local NWS ------------------------------------------------


def scripted_weather_model(request: ModelRequest) -> ModelResponse:
    """Play the model for the demo question: ask for both tools, then answer from their results.

    It reads the conversation it is sent, so a demo interrupted and resumed in a new process
    (with a new fake server) carries on from where the workflow is.
    """
    from durable_llm.testing import call_tools, reply

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


SAMPLE_NWS: dict[str, Any] = {
    "/points/37.7749,-122.4194": {
        "properties": {
            "gridId": "MTR",
            "forecast": f"{NWS_API}/gridpoints/MTR/85,105/forecast",
            "relativeLocation": {"properties": {"city": "San Francisco", "state": "CA"}},
        }
    },
    "/gridpoints/MTR/85,105/forecast": {
        "properties": {
            "periods": [
                {
                    "name": "Tonight",
                    "temperature": 52,
                    "temperatureUnit": "F",
                    "windSpeed": "10 mph",
                    "windDirection": "W",
                    "detailedForecast": "Patchy fog after 11pm. Mostly cloudy, with a low around 52.",
                },
                {
                    "name": "Tuesday",
                    "temperature": 64,
                    "temperatureUnit": "F",
                    "windSpeed": "8 to 15 mph",
                    "windDirection": "WSW",
                    "detailedForecast": "Patchy fog before 11am. Partly sunny, with a high near 64.",
                },
            ]
        }
    },
    "/alerts/active?area=CA": {
        "type": "FeatureCollection",
        "features": [
            {
                "properties": {
                    "event": "Wind Advisory",
                    "areaDesc": "San Francisco Bay Shoreline; Coastal North Bay",
                    "severity": "Moderate",
                    "headline": "Wind Advisory issued for the Bay Area until 9 PM PST",
                    "instruction": "Use extra caution when driving, especially a high profile vehicle.",
                }
            }
        ],
    },
}
"""A small National Weather Service sample (shapes from the NWS API docs) for the offline demo."""


class NWSStub:
    """A read-only National Weather Service on 127.0.0.1, answering GETs from `routes`.

    `routes` maps a path with its query ("/alerts/active?area=CA") to the JSON to answer;
    absolute links to the real API inside it are rewritten to this server. Anything else gets
    the NWS's 404 problem document. `paths` records what was asked, in order.
    """

    def __init__(self, routes: Mapping[str, Any] = SAMPLE_NWS) -> None:
        self.routes = dict(routes)
        self.paths: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NWSHandler)
        cast(Any, self._httpd).stub = self

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: the value for `NWS_BASE_URL`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The environment that points the weather tools here."""
        return {"NWS_BASE_URL": self.base_url}

    def start(self) -> NWSStub:
        """Serve from a background thread."""
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> NWSStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answer(self, path: str) -> tuple[int, bytes]:
        self.paths.append(path)
        if path not in self.routes:
            problem = {"title": "Not Found", "status": 404, "detail": f"No data for {path}"}
            return 404, json.dumps(problem).encode()
        return 200, json.dumps(self.routes[path]).replace(NWS_API, self.base_url).encode()


class _NWSHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = cast(Any, self.server).stub._answer(self.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/geo+json" if status == 200 else "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the demo's output is the conversation."""
