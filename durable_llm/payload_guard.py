"""Payload guard: a payload over Temporal's limit fails with a clear error instead of a hang.

Temporal rejects any payload field over 2 MiB. For an activity result the SDK fails the
activity, but retryably, so the default policy retries it forever; for an activity argument,
a child workflow or continue-as-new input, a workflow or update result, the workflow task
fails and is retried in a loop the workflow code cannot catch. The guard measures the value
first, as it will be serialized and after external storage has taken what it would take, and
raises `PayloadTooLarge` (non-retryable) where the code that made the value can see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import temporalio.client
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import ExternalStorage, PayloadConverter, StorageDriverSelectContext
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ContinueAsNewInput,
    ExecuteActivityInput,
    ExecuteWorkflowInput,
    HandleUpdateInput,
    Interceptor,
    StartActivityInput,
    StartChildWorkflowInput,
    StartLocalActivityInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)
from temporalio.workflow import ActivityHandle, ChildWorkflowHandle

PAYLOAD_LIMIT = 2 * 1024 * 1024
"""Temporal's default hard limit on one payload field (`limit.blobSize.error`), in bytes."""

_REFERENCE_SIZE = 1024
"""Upper bound of what an external storage reference takes in the history."""


class PayloadTooLarge(ApplicationError):
    """A value too large for Temporal's history, caught before it was sent (never retried)."""

    def __init__(self, what: str, size: int, limit: int = PAYLOAD_LIMIT):
        super().__init__(
            f"{what} is {size:,} bytes once serialized, over Temporal's payload limit of {limit:,} bytes. "
            "Turn the blob store on (DurableLLMPlugin's default storage, or storage=s3_driver(...); "
            "see durable_llm.storage) so large payloads travel by reference, or make the value smaller.",
            {"what": what, "size": size, "limit": limit},
            type="PayloadTooLarge",
            non_retryable=True,
        )
        self.what = what
        self.size = size
        self.limit = limit


def check_payload_size(
    value: Any,
    *,
    what: str,
    converter: PayloadConverter | None = None,
    storage: ExternalStorage | None = None,
    limit: int = PAYLOAD_LIMIT,
) -> int:
    """Return the bytes `value` will take in the history; raise `PayloadTooLarge` over `limit`.

    Deterministic, so usable in workflow code. Sizes are measured before any payload codec.

    Args:
        what: names the value in the error, e.g. "the result of tool 'search'".
        converter: defaults to the current workflow's or activity's payload converter, else pydantic's.
        storage: the external storage configured on the data converter, which takes large payloads out.
    """
    return _check_payloads([_converter(converter).to_payload(value)], what=what, storage=storage, limit=limit)


class PayloadGuard(temporalio.client.Interceptor, Interceptor):
    """Client and worker interceptor running `check_payload_size` on everything sent to the history.

    Client side: workflow inputs, signal and update arguments, refused before they are sent. Only
    the client can: the worker's answer to an update, acceptance or rejection alike, carries the
    update's arguments, so an update over the limit from a client without the guard fails every
    workflow task of its workflow (Temporal 1.32; no validator can help).
    Worker side: activity and local activity arguments, child workflow and continue-as-new inputs,
    workflow and update results, and activity results. Give it the same external storage as the
    data converter, or it will reject payloads the storage would have taken.
    """

    def __init__(self, storage: ExternalStorage | None = None, *, limit: int = PAYLOAD_LIMIT):
        self.storage = storage
        self.limit = limit

    def check(self, values: Sequence[Any], *, what: str, converter: PayloadConverter | None = None) -> None:
        """Raise `PayloadTooLarge` if `values`, serialized as one payload field, would be over the limit."""
        payloads = _converter(converter).to_payloads(values)
        _check_payloads(payloads, what=what, storage=self.storage, limit=self.limit)

    def intercept_client(self, next: temporalio.client.OutboundInterceptor) -> temporalio.client.OutboundInterceptor:
        """Check what a client sends before it leaves."""
        return _GuardedClient(next, self)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Check each activity's result before the worker sends it."""
        return _GuardedActivity(next, self)

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        """Check what each workflow schedules and returns."""
        guard = self

        class _Guarded(_GuardedWorkflow):
            _guard = guard

        return _Guarded


def _converter(converter: PayloadConverter | None) -> PayloadConverter:
    if converter is not None:
        return converter
    if workflow.in_workflow():
        return workflow.payload_converter()
    if activity.in_activity():
        return activity.payload_converter()
    return pydantic_data_converter.payload_converter


def _check_payloads(payloads: Sequence[Payload], *, what: str, storage: ExternalStorage | None, limit: int) -> int:
    inline = [p for p in payloads if not _offloaded(p, storage)]
    size = Payloads(payloads=inline).ByteSize() + _REFERENCE_SIZE * (len(payloads) - len(inline))
    if size > limit:
        raise PayloadTooLarge(what, size, limit)
    return size


def _offloaded(payload: Payload, storage: ExternalStorage | None) -> bool:
    if storage is None or payload.ByteSize() < storage.payload_size_threshold:
        return False
    select = storage.driver_selector
    return select is None or select(StorageDriverSelectContext(), payload) is not None


class _GuardedActivity(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, guard: PayloadGuard):
        super().__init__(next)
        self._guard = guard

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        self._guard.check([result], what=f"the result of activity {activity.info().activity_type!r}")
        return result


class _GuardedWorkflow(WorkflowInboundInterceptor):
    _guard: PayloadGuard

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_GuardedWorkflowOutbound(outbound, self._guard))

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        result = await super().execute_workflow(input)
        self._guard.check([result], what=f"the result of workflow {workflow.info().workflow_type!r}")
        return result

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        result = await super().handle_update_handler(input)
        self._guard.check([result], what=f"the result of update {input.update!r}")
        return result


class _GuardedWorkflowOutbound(WorkflowOutboundInterceptor):
    def __init__(self, next: WorkflowOutboundInterceptor, guard: PayloadGuard):
        super().__init__(next)
        self._guard = guard

    def start_activity(self, input: StartActivityInput) -> ActivityHandle[Any]:
        self._guard.check(input.args, what=f"the arguments of activity {input.activity!r}")
        return super().start_activity(input)

    def start_local_activity(self, input: StartLocalActivityInput) -> ActivityHandle[Any]:
        self._guard.check(input.args, what=f"the arguments of local activity {input.activity!r}")
        return super().start_local_activity(input)

    async def start_child_workflow(self, input: StartChildWorkflowInput) -> ChildWorkflowHandle[Any, Any]:
        self._guard.check(input.args, what=f"the input of child workflow {input.workflow!r}")
        return await super().start_child_workflow(input)

    def continue_as_new(self, input: ContinueAsNewInput) -> NoReturn:
        self._guard.check(input.args, what="the continue-as-new input")
        super().continue_as_new(input)


class _GuardedClient(temporalio.client.OutboundInterceptor):
    def __init__(self, next: temporalio.client.OutboundInterceptor, guard: PayloadGuard):
        super().__init__(next)
        self._guard = guard

    async def start_workflow(self, input: temporalio.client.StartWorkflowInput) -> temporalio.client.WorkflowHandle:
        self._guard.check(input.args, what=f"the input of workflow {input.workflow!r}")
        return await super().start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        self._guard.check(input.args, what=f"the arguments of signal {input.signal!r}")
        await super().signal_workflow(input)

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle:
        self._guard.check(input.args, what=f"the arguments of update {input.update!r}")
        return await super().start_workflow_update(input)
