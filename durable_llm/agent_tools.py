"""Agents as tools: a tool call that runs another agent as a child workflow (workflow code).

The child is an `AgentWorkflow` of its own (its own history, visible in the Temporal UI), started
on the parent's task queue under an id made of the parent's id, the session, the model call and
the call's position (never of what the model wrote), and cancelled when the parent closes.
"""

from __future__ import annotations

import json

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from durable_llm.activities import error_result
from durable_llm.agent import AgentInput, AgentResult, AgentTool
from durable_llm.conversation import TextPart, ToolCallPart, ToolResultPart


async def run_agent_tool(tool: AgentTool, call: ToolCallPart, child_id: str) -> tuple[ToolResultPart, AgentResult]:
    """Run `tool`'s agent on the call's `input`; its answer as the call's result, and the child's whole result.

    Raises `ValueError` (with a message for the model) if the call has no string `input`, and
    `ChildWorkflowError` if the child failed.
    """
    message = _input(tool, call)
    from durable_llm.workflow import AGENT_WORKFLOW  # it imports the loop, which imports this module

    child = await workflow.execute_child_workflow(
        AGENT_WORKFLOW,
        AgentInput(agent=tool.agent, message=message),
        id=child_id,
        result_type=AgentResult,
        parent_close_policy=ParentClosePolicy.REQUEST_CANCEL,
        static_summary=f"agent {tool.agent.name} as tool {tool.name}",
    )
    return ToolResultPart(call_id=call.id, name=call.name, content=(TextPart(text=child.text),)), child


def _input(tool: AgentTool, call: ToolCallPart) -> str:
    try:
        arguments = json.loads(call.arguments_raw or "{}")
    except ValueError:
        arguments = None
    message = arguments.get("input") if isinstance(arguments, dict) else None
    if not isinstance(message, str) or not message.strip():
        raise ValueError(f'{tool.name} takes {{"input": "<the message for {tool.agent.name}>"}}; call it again so')
    return message


def failed_result(tool: AgentTool, call: ToolCallPart, err: ChildWorkflowError) -> ToolResultPart:
    """The error result of a child agent that failed."""
    return error_result(call, f"{tool.name} ({tool.agent.name}) did not complete: {err.cause or err}")
