"""OpenTelemetry traces and metrics of agent conversations: `DurableLLMPlugin(tracing=True)`.

Needs the `otel` extra; imported only when tracing is on. The Temporal side is temporalio's own
`TracingInterceptor`: a span for the client's start or `send_message`, for the workflow's handling
of it (made only when the workflow is not replaying: a replay on another worker emits no span
twice) and for each activity run, all in one trace per turn. Inside the model activity, a model-call
span follows the OpenTelemetry GenAI semantic conventions (provider, request and response model,
token counts, finish reasons, tool names), and each tool activity gets an `execute_tool` span. The
conversation's content goes into spans only with `capture_content=True`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import opentelemetry.context
from opentelemetry import metrics, trace
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInterceptorClassInput,
)

from durable_llm.agent import Agent
from durable_llm.conversation import ModelRequest, ModelResponse, ToolCallPart, ToolResultPart, ToolSpec

INSTRUMENTATION = "durable_llm"

PROVIDER_NAMES = {"openai": "openai", "anthropic": "anthropic", "gemini": "gcp.gemini", "azure": "azure.ai.openai"}
"""`gen_ai.provider.name` values of the semantic conventions, by durable_llm provider (others as named)."""


@dataclass(frozen=True)
class Tracing:
    """What `DurableLLMPlugin(tracing=...)` takes beyond `True`: where spans and metrics go, and content.

    Without providers, OpenTelemetry's global ones are used (`trace.set_tracer_provider(...)`).
    `capture_content` adds the messages, instructions, tool arguments and results to the spans:
    they may hold personal data, so it is off by default.
    """

    tracer_provider: TracerProvider | None = None
    meter_provider: MeterProvider | None = None
    capture_content: bool = False


class Telemetry:
    """The spans and metrics of one worker's model calls and tool runs."""

    def __init__(self, options: Tracing) -> None:
        self.options = options
        self.tracer = trace.get_tracer(INSTRUMENTATION, tracer_provider=options.tracer_provider)
        meter = metrics.get_meter(INSTRUMENTATION, meter_provider=options.meter_provider)
        self.tokens = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}", description="Tokens used by each model call"
        )
        self.duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="How long each model call took"
        )

    def interceptors(self) -> list[Any]:
        """Temporal's tracing interceptor (client and worker), then the tool spans'."""
        return [_TurnTracing(self.tracer), _ToolSpans(self)]

    async def model_call(
        self, agent: Agent, request: ModelRequest, call: Callable[[], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        """Run `call` (the provider's call for `request`) inside a GenAI model-call span, and measure it."""
        provider = PROVIDER_NAMES.get(agent.provider, agent.provider)
        common = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": request.model,
        }
        attributes: dict[str, Any] = {**common, "gen_ai.system": provider, **_request_attributes(request)}
        if agent.name:
            attributes["gen_ai.agent.name"] = agent.name
        if self.options.capture_content:
            attributes.update(_request_content(request))
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"chat {request.model}", kind=SpanKind.CLIENT, attributes=attributes, record_exception=True
        ) as span:
            try:
                response = await call()
            except BaseException as err:
                span.set_attribute("error.type", getattr(err, "type", None) or type(err).__qualname__)
                self.duration.record(time.perf_counter() - started, {**common, "error.type": type(err).__qualname__})
                raise
            measured = {**common, "gen_ai.response.model": response.model or request.model}
            span.set_attributes(_response_attributes(response))
            if self.options.capture_content:
                span.set_attribute("gen_ai.output.messages", _json([response.message.model_dump(mode="json")]))
            self.duration.record(time.perf_counter() - started, measured)
            self.tokens.record(response.usage.input_tokens, {**measured, "gen_ai.token.type": "input"})
            self.tokens.record(response.usage.output_tokens, {**measured, "gen_ai.token.type": "output"})
            return response


class _TurnTracing(TracingInterceptor):
    """Temporal's tracing, with each update (a chat's `send_message`) in the trace of the client's call.

    Temporal's own puts an update under the workflow's start, linked to the caller; a chat would
    then be one trace for its whole life, with every turn in it.
    """

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span-making function the workflow calls out to
        return _TurnWorkflowTracing


class _TurnWorkflowTracing(TracingWorkflowInboundInterceptor):
    """Spans of an update's validation and handling, and of what the handler schedules, in the caller's trace."""

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        with self._caller_context(input.headers) as found:
            if not found:
                return super().handle_update_validator(input)
            self._completed_span(f"ValidateUpdate:{input.update}", kind=SpanKind.SERVER)
            return self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        with self._caller_context(input.headers) as found:
            if not found:
                return await super().handle_update_handler(input)
            self._completed_span(f"HandleUpdate:{input.update}", kind=SpanKind.SERVER)
            return await self.next.handle_update_handler(input)

    @contextlib.contextmanager
    def _caller_context(self, headers: Mapping[str, Payload]) -> Iterator[bool]:
        header = headers.get(self.header_key)
        if not header:
            yield False
            return
        carrier = self.payload_converter.from_payloads([header])[0]
        token = opentelemetry.context.attach(self._set_on_context(self.text_map_propagator.extract(carrier)))
        try:
            yield True
        finally:
            with contextlib.suppress(ValueError):  # detached from another asyncio context: nothing to undo
                opentelemetry.context.detach(token)


class _ToolSpans(Interceptor):
    """An `execute_tool` span around each tool activity (inside Temporal's `RunActivity` span)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ToolSpan(next, self.telemetry)


class _ToolSpan(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, telemetry: Telemetry) -> None:
        super().__init__(next)
        self.telemetry = telemetry

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        from durable_llm.activities import LOAD_TRANSCRIPT_ACTIVITY, MODEL_ACTIVITY, SAVE_TRANSCRIPT_ACTIVITY
        from durable_llm.mcp import LIST_TOOLS_ACTIVITY

        kind = activity.info().activity_type
        if kind in (MODEL_ACTIVITY, SAVE_TRANSCRIPT_ACTIVITY, LOAD_TRANSCRIPT_ACTIVITY, LIST_TOOLS_ACTIVITY):
            return await super().execute_activity(input)
        call = _tool_call(input.args)
        name = call.name if call else kind
        attributes: dict[str, Any] = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
        if call is not None and call.id:
            attributes["gen_ai.tool.call.id"] = call.id
        if call is not None and self.telemetry.options.capture_content:
            attributes["gen_ai.tool.call.arguments"] = call.arguments_raw
        with self.telemetry.tracer.start_as_current_span(
            f"execute_tool {name}", kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            result = await super().execute_activity(input)
            if isinstance(result, ToolResultPart):
                if result.is_error:
                    span.set_status(Status(StatusCode.ERROR, result.text[:200]))
                    span.set_attribute("error.type", "tool_error")
                if self.telemetry.options.capture_content:
                    span.set_attribute("gen_ai.tool.call.result", result.text or _json(result.value))
            return result


def _tool_call(args: Any) -> ToolCallPart | None:
    """The model's call a tool activity runs (its first argument), however it arrived."""
    first = args[0] if args else None
    if isinstance(first, list | tuple):  # the dynamic tool activity takes its arguments as one list
        first = first[0] if first else None
    if isinstance(first, ToolCallPart):
        return first
    payload = getattr(first, "payload", None)  # the dynamic tool activity gets raw payloads
    if payload is None:
        return None
    try:
        return activity.payload_converter().from_payload(payload, ToolCallPart)
    except Exception:  # not a tool call after all: the span just goes without its details
        return None


def _request_attributes(request: ModelRequest) -> dict[str, Any]:
    optional = {
        "gen_ai.request.temperature": request.temperature,
        "gen_ai.request.max_tokens": request.max_output_tokens,
        "gen_ai.request.top_p": request.top_p,
        "gen_ai.request.seed": request.seed,
        "gen_ai.request.stop_sequences": list(request.stop) if request.stop else None,
    }
    attributes = {key: value for key, value in optional.items() if value is not None}
    names = [tool.name for tool in request.tools if isinstance(tool, ToolSpec)]
    if names:
        attributes["gen_ai.request.tool_names"] = names
    return attributes


def _response_attributes(response: ModelResponse) -> dict[str, Any]:
    usage = response.usage
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": usage.input_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cached_input_tokens,
        "gen_ai.usage.reasoning.output_tokens": usage.reasoning_tokens,
        "gen_ai.response.finish_reasons": [response.raw_stop_reason or response.stop_reason or "unknown"],
    }
    if response.model:
        attributes["gen_ai.response.model"] = response.model
    if response.id:
        attributes["gen_ai.response.id"] = response.id
    if calls := response.message.tool_calls:
        attributes["gen_ai.response.tool_names"] = [call.name for call in calls]
    return attributes


def _request_content(request: ModelRequest) -> dict[str, Any]:
    content = {"gen_ai.input.messages": _json([m.model_dump(mode="json") for m in request.messages])}
    if request.instructions:
        content["gen_ai.system_instructions"] = request.instructions
    return content


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
