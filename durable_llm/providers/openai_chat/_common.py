"""What every direction of the Chat Completions mapping shares: names, markers, and keeping vendor keys."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import JsonValue

from durable_llm.conversation import ProviderDetails
from durable_llm.providers._wire import JSON_TYPES, json_type
from durable_llm.providers.base import MalformedBody

PROVIDER = "openai_chat"
API = "chat_completions"

MARKERS = frozenset(
    {
        *("absent", "content_form", "role", "field", "content_part", "echo", "legacy", "custom_call"),
        *("tool", "choice", "more_choices", "reply"),
    }
)
"""Keys of `provider_details["openai_chat"]` that are ours, not the vendor's (see the package docstring)."""


def pop(extras: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """Take `extras[key]` out if it has the type its neutral field needs; else leave it for replay."""
    value = extras.get(key)
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        del extras[key]
        return value
    return None


def need(extras: dict[str, Any], key: str, kind: type, at: str) -> Any:
    """Take a required key out, or say which one is missing or has the wrong type."""
    if key not in extras:
        raise MalformedBody(f"{at}.{key}", "missing")
    value = extras.pop(key)
    if not isinstance(value, kind):
        raise MalformedBody(f"{at}.{key}", f"expected {JSON_TYPES[kind]}, got {json_type(value)}")
    return value


def pd(details: dict[str, Any]) -> ProviderDetails:
    """`provider_details` holding `details` under our key (nothing when empty)."""
    return {PROVIDER: details} if details else {}


def details_of(thing: Any) -> dict[str, Any]:
    """Our `provider_details` of a neutral part, message, tool, ... ({} if it has none)."""
    details = getattr(thing, "provider_details", None)  # a ProviderPart has none: it is all vendor JSON
    return details.get(PROVIDER, {}) if details else {}


def restore(out: dict[str, Any], details: Mapping[str, Any]) -> dict[str, Any]:
    """`out` with the vendor keys kept in `details` merged back (objects key by key), absent keys removed.

    `absent` lists keys (dotted for nested ones) that our encoding writes but the vendor body had not.
    """
    _merge(out, {key: value for key, value in details.items() if key not in MARKERS})
    for path in details.get("absent", ()):
        *parents, last = path.split(".")
        target: Any = out
        for parent in parents:
            target = target.get(parent) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target.pop(last, None)
    return out


def _merge(out: dict[str, Any], extras: Mapping[str, Any]) -> None:
    for key, value in extras.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = dict(out[key])
            _merge(out[key], value)
        else:
            out[key] = value


def parse_arguments(raw: str) -> JsonValue:
    """The JSON a model wrote as tool arguments, or None when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError:
        return None
