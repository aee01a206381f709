"""Talking to a running chat from a client: what survives the conversation continuing as new."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from durable_llm.workflow import CONTINUING_AS_NEW, AgentWorkflow

RESEND_INTERVAL = 0.02
"""Seconds between two tries of a message refused while the chat moved to its next run (a hop takes ~0.1 s)."""


async def send_message(handle: WorkflowHandle[Any, Any], text: str) -> str:
    """Send `text` to a chat (`AgentWorkflow`) and return the agent's reply.

    Unlike a bare `handle.execute_update(AgentWorkflow.send_message, text)`, a message refused
    because the chat is continuing as new is sent again to the next run. Give a handle without a
    run id (as `start_workflow` returns, or `client.get_workflow_handle(conversation_id)`), so the
    update follows the conversation from run to run.
    """
    while True:
        try:
            return await handle.execute_update(AgentWorkflow.send_message, text)
        except WorkflowUpdateFailedError as err:
            if not (isinstance(err.cause, ApplicationError) and err.cause.type == CONTINUING_AS_NEW):
                raise
        await asyncio.sleep(RESEND_INTERVAL)
