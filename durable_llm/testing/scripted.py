"""A model that answers from a script, for testing agents without HTTP or a vendor.

Register it with the worker's plugin and name it in the agent's model string::

    model = ScriptedModel([call_tools(("get_weather", {"city": "Paris"})), "It is sunny in Paris."])
    plugin = DurableLLMPlugin(tools=[get_weather], scripted_models={"weather": model})
    agent = Agent(model="test:weather", tools=[get_weather])
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

from durable_llm.conversation import Message, ModelRequest, ModelResponse, Part, TextPart, ToolCallPart
from durable_llm.providers.scripted import NAME as PROVIDER

ScriptedReply = str | Message | ModelResponse
"""One scripted answer: text, an assistant message, or a whole response (`reply(...)`, `call_tools(...)`)."""


class ScriptedModel:
    """Answers each model call with the next scripted reply, or with what `script(request)` returns.

    Tool calls without an id get one ("call_1", "call_2", ...). `requests` keeps every request
    received, so a test can check what the model was shown.
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
                raise RuntimeError(f"the script has {len(self._script)} replies; call {self._next + 1} has none")
            reply = self._script[self._next]
            self._next += 1
        if isinstance(reply, str):
            reply = Message(role="assistant", parts=(TextPart(text=reply),))
        if isinstance(reply, Message):
            stop = "tool_calls" if reply.tool_calls else "end_turn"
            reply = ModelResponse(provider=PROVIDER, message=reply, stop_reason=stop)
        message = reply.message.model_copy(update={"parts": tuple(self._with_id(p) for p in reply.message.parts)})
        return reply.model_copy(
            update={"provider": PROVIDER, "model": reply.model or request.model, "message": message}
        )

    def _with_id(self, part: Part) -> Part:
        if not isinstance(part, ToolCallPart) or part.id is not None:
            return part
        self._call_ids += 1
        return part.model_copy(update={"id": f"call_{self._call_ids}"})
