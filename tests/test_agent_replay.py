"""Recorded conversations (tests/record_histories.py) must replay on the current workflow code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.workflow import NondeterminismError

from durable_llm import AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin
from durable_llm.plugin import PASSTHROUGH_MODULES

HISTORIES_DIR = Path(__file__).parent / "fixtures" / "histories"
HISTORIES = sorted(HISTORIES_DIR.glob("*.json"))


def recorded(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())


def test_there_are_recorded_histories():
    assert {p.stem for p in HISTORIES} >= {
        "tools_in_parallel",
        "chat_with_approval",
        "chat_continued_as_new.run1",
        "chat_continued_as_new.run2",
        # Recorded by the code before automatic continue-as-new (be46230), past the server's suggestion:
        # running chats like it must carry on as they did, not start continuing as new mid-replay.
        "chat_past_suggestion_before_auto_continue",
    }


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: p.stem)
async def test_recorded_conversation_replays_on_the_current_code(path):
    await Replayer(workflows=[], plugins=[DurableLLMPlugin()]).replay_workflow(recorded(path))


@workflow.defn(name="durable_llm.AgentWorkflow")
class AgentWorkflowThatWaitsFirst(AgentWorkflow):
    """An incompatible change: a timer before the first model call."""

    @workflow.run
    async def run(self, input: AgentInput) -> AgentResult:
        await workflow.sleep(1)
        return await super().run(input)


async def test_an_incompatible_workflow_change_fails_the_replay():
    runner = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )
    replayer = Replayer(
        workflows=[AgentWorkflowThatWaitsFirst], data_converter=pydantic_data_converter, workflow_runner=runner
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(recorded(HISTORIES_DIR / "tools_in_parallel.json"))
