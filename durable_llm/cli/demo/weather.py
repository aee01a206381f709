"""The weather agent's tools: the National Weather Service API, as two typed async functions.

Their docstrings are the schema the model sees. They call https://api.weather.gov, or
`NWS_BASE_URL` when set, with httpx2 (the HTTP client the vendor SDKs already bring).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx2

NWS_API = "https://api.weather.gov"
"""The National Weather Service API; `NWS_BASE_URL` replaces it (tests, offline runs)."""

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
"""The tools of the weather agent (`durable-llm worker --tools durable_llm.cli.demo:WEATHER_TOOLS`)."""


def nws_base_url() -> str:
    """Where the tools send their requests: `NWS_BASE_URL`, else the real API."""
    return os.environ.get("NWS_BASE_URL", NWS_API).rstrip("/")


async def _get_json(path_or_url: str) -> dict[str, Any]:
    # The points answer holds an absolute forecast URL on the real API: keep it on our base URL.
    path = path_or_url.removeprefix(NWS_API)
    url = path if path.startswith("http") else f"{nws_base_url()}{path}"
    headers = {"User-Agent": USER_AGENT, "Accept": "application/geo+json"}
    async with httpx2.AsyncClient(timeout=30, follow_redirects=True) as client:
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
