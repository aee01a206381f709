"""Talking to a running chat from a client: what survives the conversation continuing as new."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from durable_llm.providers.base import split_model
from durable_llm.user_content import UserContent
from durable_llm.workflow import CONTINUING_AS_NEW, AgentWorkflow

RESEND_INTERVAL = 0.02
"""Seconds between two looks at whether a chat moving to its next run got there (a hop takes ~0.1 s)."""

HOP_WAIT = 1.0
"""Longest wait, in seconds, before a refused message is sent again even if the run has not changed."""


async def send_message(handle: WorkflowHandle[Any, Any], text: UserContent) -> str:
    """Send `text` (or a list of `TextPart`/`MediaPart`) to a chat (`AgentWorkflow`) and return the agent's reply.

    Unlike a bare `handle.execute_update(AgentWorkflow.send_message, text)`, a message refused
    because the chat is continuing as new is sent again to the next run. Give a handle without a
    run id (as `start_workflow` returns, or `client.get_workflow_handle(conversation_id)`), so the
    update follows the conversation from run to run.
    """
    return await _following_runs(handle, AgentWorkflow.send_message, text if isinstance(text, str) else tuple(text))


async def switch_model(handle: WorkflowHandle[Any, Any], model: str) -> str:
    """Have a running conversation answer with `model` ("provider:model") from its next model call on.

    Returns the model it replaces. The agent answering now (in a team, the one the conversation
    was handed to) takes the new model, its history projected for the new vendor; the switch holds
    across continue-as-new. A malformed model string raises `ValueError` before anything is sent.
    The workers must know the model's provider (a model call to one they lack fails that exchange
    with `unknown_provider`; switch again to go on).
    """
    split_model(model)
    return await _following_runs(handle, AgentWorkflow.switch_model, model)


async def _following_runs(handle: WorkflowHandle[Any, Any], update: Any, arg: Any) -> str:
    """Execute `update` with `arg`, sent again to the next run when the chat was continuing as new."""
    while True:
        try:
            return await handle.execute_update(update, arg)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == CONTINUING_AS_NEW):
                raise
            await _until_continued(handle, cause.details[0] if cause.details else None)


async def _until_continued(handle: WorkflowHandle[Any, Any], run_id: str | None) -> None:
    """Wait until run `run_id` has handed over to the next one, or ended, or `HOP_WAIT` passed.

    Resending at once could reach the run in its very last task, which the server refuses
    ("workflow is closing") and the SDK's client retries only after about a second. The wait is
    bounded because a run that cannot store its transcript goes on without continuing as new.
    """
    deadline = time.monotonic() + HOP_WAIT
    while True:
        await asyncio.sleep(RESEND_INTERVAL)
        if run_id is None or time.monotonic() >= deadline:
            return
        description = await handle.describe()
        if description.run_id != run_id or description.status != WorkflowExecutionStatus.RUNNING:
            return
