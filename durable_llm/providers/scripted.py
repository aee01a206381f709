"""`ScriptedProvider`: the "test" provider, whose models answer from scripts (`durable_llm.testing.ScriptedModel`)."""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from durable_llm.conversation import ModelRequest, ModelResponse, ToolSpec
from durable_llm.conversation.projection import HistoryRules
from durable_llm.providers._wire import error_json, sse_events, stream_pieces
from durable_llm.providers.base import DeltaListener, MalformedBody, StreamDelta
from durable_llm.providers.errors import (
    ERROR_TYPES,
    BadRequest,
    NotFound,
    ProviderError,
    kind_from_status,
    retry_after_from_headers,
)

if TYPE_CHECKING:
    from durable_llm.testing.scripted import ScriptedModel

NAME = "test"
"""The provider of scripted models in an agent's model string ("test:<name>") and in their responses."""


class NeutralAdapter:
    """The scripted provider's wire format: durable_llm's own JSON of requests and responses.

    A stream is one `{"type": "text", "text": ...}` event per piece of answer text, then
    `{"type": "response", "response": ...}` with the whole response; an error is
    `{"error": {"message": ...}}`.
    """

    name = NAME
    api = "neutral"

    def encode_request(self, request: ModelRequest) -> dict[str, Any]:
        return request.model_dump(mode="json")

    def decode_request(self, body: dict[str, Any]) -> ModelRequest:
        return _validated(ModelRequest, body, "request")

    def decode_response(self, body: dict[str, Any]) -> ModelResponse:
        return _validated(ModelResponse, body, "response")

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        return response.model_dump(mode="json")

    def decode_stream(self, sse_text: str) -> ModelResponse:
        return self.decode_events(sse_events(sse_text))

    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse:
        if not events or events[-1].get("type") != "response":
            raise MalformedBody("events", "the stream does not end with a response event")
        return _validated(ModelResponse, events[-1].get("response"), "events[-1].response")

    def encode_stream(self, response: ModelResponse) -> str:
        events: list[dict[str, Any]] = [
            {"type": "text", "text": piece} for piece in stream_pieces(response.message.text)
        ]
        events.append({"type": "response", "response": self.encode_response(response)})
        return "".join(f"data: {json.dumps(event)}\n\n" for event in events)

    def stream_text(self, event: dict[str, Any]) -> str:
        return event["text"] if event.get("type") == "text" and isinstance(event.get("text"), str) else ""

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        text = self.stream_text(event)
        return [StreamDelta("text", text)] if text else []

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        text, parsed = error_json(body)
        error = parsed.get("error") if isinstance(parsed, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        kind = ERROR_TYPES[kind_from_status(status)]
        return kind(
            str(message or text or f"HTTP {status}"),
            provider=NAME,
            status=status,
            retry_after=retry_after_from_headers(headers),
            body=text,
        )

    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]:
        return spec.model_dump(mode="json")


def _validated(model: type[Any], body: Any, path: str) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise MalformedBody(path, str(exc)) from None


class ScriptedProvider:
    """Answers "test:<name>" models with the `ScriptedModel` registered under <name>; no HTTP.

    A history reaches a scripted model as it is (its rules change nothing). A missing model or
    a script that fails is a bug in the test: a non-retryable error.
    """

    name = NAME
    adapter = NeutralAdapter()
    rules = HistoryRules(tokens=None, system_messages=True, refusals=True, call_ids_optional=True)

    def __init__(self, models: Mapping[str, ScriptedModel] | None = None) -> None:
        self.models = dict(models or {})

    def account(self) -> Hashable:
        return (NAME, id(self))

    def credentials_missing(self) -> str | None:
        return None

    async def complete(
        self, request: ModelRequest, *, timeout: float = 0.0, on_delta: DeltaListener | None = None
    ) -> ModelResponse:
        """The scripted answer; with `on_delta`, its text "streams" in one piece."""
        model = self.models.get(request.model or "")
        if model is None:
            known = ", ".join(sorted(self.models)) or "none"
            raise NotFound(
                f"no scripted model {request.model!r} on this worker (registered: {known}); "
                "pass it to DurableLLMPlugin(scripted_models={...})",
                provider=NAME,
            )
        try:
            response = await model.respond(request)
        except Exception as err:
            raise BadRequest(f"scripted model {request.model!r} failed: {err}", provider=NAME) from err
        if on_delta is not None and response.message.text:
            on_delta(StreamDelta("text", response.message.text))
        return response
