"""Check request bodies with each vendor SDK's own request types (the SDKs are the judges here)."""

from __future__ import annotations

import typing
from functools import cache
from typing import Any

from pydantic import ConfigDict, TypeAdapter


def walk(value: Any) -> Any:
    """pydantic validates the SDKs' `Iterable[...]` fields lazily: walk them so every item is checked."""
    if isinstance(value, dict):
        return {k: walk(v) for k, v in value.items()}
    if isinstance(value, list | tuple) or type(value).__name__ == "ValidatorIterator":
        return [walk(v) for v in value]
    return value


@cache
def _adapter(params: Any) -> TypeAdapter[Any]:
    """Strict about unknown keys at any depth (`params` must be a Union: pydantic refuses a config on a
    bare TypedDict). Kept alive: pydantic-core panics if a lazy iterator outlives its TypeAdapter."""
    return TypeAdapter(params, config=ConfigDict(extra="forbid"))


def _check_top_level_keys(body: dict[str, Any], params: type) -> None:
    known = set(typing.get_type_hints(params))
    unknown = set(body) - known
    assert not unknown, f"keys the SDK's {params.__name__} does not know: {sorted(unknown)}"


def validate_openai(body: dict[str, Any]) -> None:
    from openai.types.responses import ResponseCreateParams
    from openai.types.responses.response_create_params import ResponseCreateParamsNonStreaming

    _check_top_level_keys(body, ResponseCreateParamsNonStreaming)
    walk(_adapter(ResponseCreateParams).validate_python(body))


def validate_openai_chat(body: dict[str, Any]) -> None:
    from openai.types.chat import CompletionCreateParams
    from openai.types.chat.completion_create_params import CompletionCreateParamsNonStreaming

    _check_top_level_keys(body, CompletionCreateParamsNonStreaming)
    walk(_adapter(CompletionCreateParams).validate_python(body))


def validate_anthropic(body: dict[str, Any]) -> None:
    from anthropic.types import MessageCreateParams
    from anthropic.types.message_create_params import MessageCreateParamsNonStreaming

    _check_top_level_keys(body, MessageCreateParamsNonStreaming)
    walk(_adapter(MessageCreateParams).validate_python(body))


def validate_gemini(body: dict[str, Any]) -> None:
    from google.genai import types

    for content in body["contents"]:
        types.Content.model_validate(content)
    config = {k: v for k, v in body.items() if k not in ("contents", "generationConfig")}
    types.GenerateContentConfig.model_validate({**body.get("generationConfig", {}), **config})


VALIDATORS = {
    "openai": validate_openai,
    "anthropic": validate_anthropic,
    "gemini": validate_gemini,
    "openai_chat": validate_openai_chat,
}


def validate_request(provider: str, body: dict[str, Any]) -> None:
    """Raise if the vendor SDK's request types reject `body`."""
    VALIDATORS[provider](body)
