"""A model that answers from a script, for testing agents without HTTP or a vendor.

Register it with the worker's plugin and name it in the agent's model string::

    model = ScriptedModel([[tool_call("get_weather", {"city": "Paris"})], "It is sunny in Paris."])
    plugin = DurableLLMPlugin(tools=[get_weather], scripted_models={"weather": model})
    agent = Agent(model="test:weather", tools=[get_weather])
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import JsonValue

from durable_llm.conversation import Message, ModelRequest, ModelResponse, Part, TextPart, ToolCallPart

ScriptedReply = str | Message | ModelResponse | Sequence[Part]
"""One scripted answer: text, an assistant message, a whole response, or the parts of a message."""


def tool_call(name: str, arguments: JsonValue = None, *, id: str | None = None, raw: str | None = None) -> ToolCallPart:
    """A tool call for a script; `raw` sends exactly that argument text (e.g. invalid JSON)."""
    arguments = {} if arguments is None else arguments
    return ToolCallPart(id=id, name=name, arguments_raw=raw if raw is not None else json.dumps(arguments), arguments=arguments)


class ScriptedModel:
    """Answers each model call with the next scripted reply, or with what `script(request)` returns.

    Calls without a tool-call id get a fresh one ("call_1", "call_2", ...). `requests` keeps every
    request received, so a test can check what the model was shown.
    """

    def __init__(
        self, script: Sequence[ScriptedReply] | Callable[[ModelRequest], ScriptedReply | Awaitable[ScriptedReply]]
    ) -> None:
        self._script = script
        self._next = 0
        self._call_ids = 0
        self.requests: list[ModelRequest] = []

    async def respond(self, request: ModelRequest) -> ModelResponse:
        """The scripted response to `request`."""
        self.requests.append(request)
        if callable(self._script):
            reply = self._script(request)
            if inspect.isawaitable(reply):
                reply = await reply
        else:
            if self._next >= len(self._script):
                raise RuntimeError(f"the script has only {len(self._script)} replies; call {self._next + 1} has none")
            reply = self._script[self._next]
            self._next += 1
        return self._response(reply, request)

    def _response(self, reply: ScriptedReply, request: ModelRequest) -> ModelResponse:
        if isinstance(reply, ModelResponse):
            return reply
        if isinstance(reply, str):
            message = Message(role="assistant", parts=(TextPart(text=reply),))
        elif isinstance(reply, Message):
            message = reply
        else:
            message = Message(role="assistant", parts=tuple(reply))
        message = message.model_copy(update={"parts": tuple(self._with_id(p) for p in message.parts)})
        stop = "tool_calls" if message.tool_calls else "end_turn"
        return ModelResponse(provider="test", model=request.model, message=message, stop_reason=stop)

    def _with_id(self, part: Any) -> Any:
        if not isinstance(part, ToolCallPart) or part.id is not None:
            return part
        self._call_ids += 1
        return part.model_copy(update={"id": f"call_{self._call_ids}"})
