"""OpenAI Chat Completions (`POST …/chat/completions`) <-> the neutral model.

The format of OpenAI's older API, spoken by most other servers: Ollama, vLLM, OpenRouter, Groq,
Mistral, DeepSeek, Together, Azure OpenAI, ... One wire message is one neutral `Message`, except
that consecutive `tool` messages make one tool `Message` (one `ToolResultPart` each). A request's
first system message, when it is a plain string, is `instructions`. An assistant message's
visible reasoning (`reasoning_content` or `reasoning`, with `reasoning_details`) is a
`ReasoningPart`, its `content` text parts, `refusal` a `RefusalPart`, `tool_calls` (and the legacy
`function_call`) `ToolCallPart`s. Content parts: `text`, `image_url`, `input_audio` and `file` map
to `TextPart`/`MediaPart`, Mistral's `thinking` to a `ReasoningPart`; any other kind
(`document_url`, `video_url`, ...) is a `ProviderPart("openai_chat", part)`. A response's first
choice is the answer; more choices (`n` > 1) are kept whole. A stream's chunks fold into the
`chat.completion` they add up to (`client_side.fold_events`), then decode as one.

Nothing is normalised: a decoded body encodes back JSON-equal. What has no neutral field stays in
`provider_details["openai_chat"]` as the server's own keys, next to these markers of ours:

- "absent": keys (dotted when nested) our encoding writes but the body had not.
- "content_form": "string" or "list" where content took the other form than ours by default
  (a string for one plain text).
- "role": "developer" on a system Message the server got with that role.
- "field": which key a reasoning text came in ("content_part": the `thinking` part it was);
  "echo": reasoning a client sent back in its history (sent again; reasoning from a response is
  not, as most servers refuse it).
- "reply": on an assistant message or tool call read from a response, the server's keys there
  (`annotations`, `refusal: null`, `audio`, ...): written back in a response, not sent in a request.
- "legacy": a `function_call` / `function` message of the API's first tool format.
- "tool": the keys of a tool definition outside its `function`.
- "choice" / "more_choices": on a response, the first choice's other keys, and further choices.

Request keys with no neutral field stay in `provider_options["openai_chat"]` (`ChatCompletionsOptions`).
The output limit is sent as `max_completion_tokens` (a request's `max_tokens` stays an option; a
`ChatCompletionsProvider` renames it for the services that know only `max_tokens`). Media it has no
part for (an image by file id, audio or a document by URL, video) is sent as a short text note.
The server side (reading requests, writing answers and streams) is in `server.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from durable_llm.conversation import ModelRequest, ModelResponse, ToolSpec
from durable_llm.providers.base import StreamDelta
from durable_llm.providers.errors import ProviderError
from durable_llm.providers.openai_chat import client_side, errors, server
from durable_llm.providers.openai_chat._common import API, PROVIDER
from durable_llm.providers.openai_chat.request_fields import ChatCompletionsOptions, encode_tool


class ChatCompletionsAdapter:
    """Pure mappings between the neutral model and the Chat Completions JSON."""

    name = PROVIDER
    api = API

    def encode_request(self, request: ModelRequest) -> dict[str, Any]:
        """The JSON body of `POST …/chat/completions` for `request`."""
        return client_side.encode_request(request)

    def decode_request(self, body: dict[str, Any]) -> ModelRequest:
        """Import a request body (an existing conversation) into the neutral model."""
        return server.decode_request(body)

    def decode_response(self, body: dict[str, Any]) -> ModelResponse:
        """A `chat.completion` object as a neutral response."""
        return client_side.decode_response(body)

    def encode_response(self, response: ModelResponse) -> dict[str, Any]:
        """The `chat.completion` object a server would have sent (for fake servers and replays)."""
        return server.encode_response(response)

    def decode_stream(self, sse_text: str) -> ModelResponse:
        """Fold a raw `text/event-stream` of `chat.completion.chunk` events into the response it adds up to."""
        return client_side.decode_stream(sse_text)

    def encode_stream(self, response: ModelResponse) -> str:
        """The text/event-stream a server sends for `response` when asked to stream."""
        return server.encode_stream(response)

    def decode_events(self, events: list[dict[str, Any]]) -> ModelResponse:
        """`decode_stream` for the events already decoded from a stream, in order."""
        return client_side.decode_events(events)

    def stream_deltas(self, event: dict[str, Any]) -> list[StreamDelta]:
        """The typed pieces one decoded chunk adds: reasoning, answer text, tool-call arguments."""
        return client_side.stream_deltas(event)

    def stream_text(self, event: dict[str, Any]) -> str:
        """The answer text one decoded chunk adds ("" for any other chunk)."""
        return client_side.stream_text(event)

    def decode_error(self, status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
        """Classify an error answer (any status >= 400, any body)."""
        return errors.decode_error(status, headers, body)

    def encode_tool(self, spec: ToolSpec) -> dict[str, Any]:
        """A function tool definition; strict mode whenever the schema allows it, unless `strict` says."""
        return encode_tool(spec)


ADAPTER = ChatCompletionsAdapter()

__all__ = ["ADAPTER", "ChatCompletionsAdapter", "ChatCompletionsOptions"]
