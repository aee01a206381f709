"""Structured output on each vendor (fake servers, real SDKs, the dev server): the request carries the
vendor's native schema field, a valid answer becomes the typed value, an invalid one goes back to the
model with the validation errors, and one that never validates ends in a clear error."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from agent_kit import agent_worker, new_id
from pydantic import BaseModel
from sdk_validation import validate_request
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from typing_extensions import TypedDict

from durable_llm import Agent, AgentInput, AgentResult, DurableLLMPlugin
from durable_llm.cli.demo import result_text
from durable_llm.conversation import FrozenModel, ToolResultPart
from durable_llm.loop import run_agent
from durable_llm.output import OutputRejected, OutputSpec, check_output
from durable_llm.testing import FakeVendorServer, call_tools, reply
from durable_llm.workflow import AGENT_WORKFLOW

MODELS = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


class Refund(BaseModel):
    order_id: str
    amount: float
    reason: str = "not given"


class Ask(FrozenModel):
    model: str
    question: str
    retries: int = 1
    limit: float | None = None
    mode: str = "native"


@workflow.defn
class RefundWorkflow:
    """`run_agent` in a user's workflow: the agent object holds its output type and a validator."""

    @workflow.run
    async def run(self, ask: Ask) -> AgentResult:
        agent = Agent(model=ask.model, output_type=Refund, output_retries=ask.retries, output_mode=ask.mode)
        limit = ask.limit

        @agent.output_validator
        def within_limit(refund: Refund) -> Refund:
            if limit is not None and refund.amount > limit:
                raise OutputRejected(f"refunds above {limit} need a manager; offer at most {limit}")
            return refund

        result = await run_agent(agent, ask.question)
        assert isinstance(result.output, Refund)  # typed inside the workflow
        return result


def native_schema(provider: str, body: dict) -> dict:
    """The structured output schema a vendor request carries, where that vendor puts it."""
    if provider == "openai":
        assert body["text"]["format"]["type"] == "json_schema" and body["text"]["format"]["strict"] is True
        return body["text"]["format"]["schema"]
    if provider == "anthropic":
        return body["output_config"]["format"]["schema"]
    assert body["generationConfig"]["responseMimeType"] == "application/json"
    return body["generationConfig"]["responseJsonSchema"]


@pytest.fixture
def vendor_env(monkeypatch):
    def use(server: FakeVendorServer) -> None:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)

    return use


VALID = '{"order_id": "A17", "amount": 12.5, "reason": null}'


@pytest.mark.parametrize("provider", MODELS)
async def test_a_valid_answer_is_the_typed_output(temporal_env, vendor_env, provider):
    with FakeVendorServer(provider, responses=[reply(VALID)]) as server:
        vendor_env(server)
        async with agent_worker(temporal_env, DurableLLMPlugin(), workflows=[RefundWorkflow]) as (client, queue):
            result = await client.execute_workflow(
                RefundWorkflow.run,
                Ask(model=f"{provider}:{MODELS[provider]}", question="Refund order A17"),
                id=new_id(),
                task_queue=queue,
            )
    assert result.output_as(Refund) == Refund(
        order_id="A17", amount=12.5
    )  # the null strict mode sent became the default
    [raw] = server.raw_requests
    body = {k: v for k, v in raw.body.items() if k != "stream"}
    validate_request(provider, body)
    schema = native_schema(provider, body)
    assert set(schema["properties"]) == {"order_id", "amount", "reason"}
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("provider", MODELS)
async def test_an_invalid_answer_goes_back_with_its_errors_and_is_corrected(temporal_env, vendor_env, provider):
    answers = [reply('{"order_id": "A17"}'), reply('{"order_id": "A17", "amount": 900}'), reply(VALID)]
    with FakeVendorServer(provider, responses=answers) as server:
        vendor_env(server)
        async with agent_worker(temporal_env, DurableLLMPlugin(), workflows=[RefundWorkflow]) as (client, queue):
            result = await client.execute_workflow(
                RefundWorkflow.run,
                Ask(model=f"{provider}:{MODELS[provider]}", question="Refund order A17", retries=2, limit=100),
                id=new_id(),
                task_queue=queue,
            )
    assert result.output_as(Refund).amount == 12.5
    second, third = server.requests[1], server.requests[2]
    assert "amount" in second.messages[-1].text and "Field required" in second.messages[-1].text
    assert "need a manager" in third.messages[-1].text  # the validator's message
    assert [m.role for m in result.messages] == ["user", "assistant", "user", "assistant", "user", "assistant"]
    for raw in server.raw_requests:
        validate_request(provider, {k: v for k, v in raw.body.items() if k != "stream"})


@pytest.mark.parametrize("provider", MODELS)
async def test_an_answer_that_never_validates_fails_after_output_retries(temporal_env, vendor_env, provider):
    with FakeVendorServer(provider, responses=[reply("Sure, refunded!"), reply('{"amount": "lots"}')]) as server:
        vendor_env(server)
        async with agent_worker(temporal_env, DurableLLMPlugin(), workflows=[RefundWorkflow]) as (client, queue):
            with pytest.raises(WorkflowFailureError) as failure:
                await client.execute_workflow(
                    RefundWorkflow.run,
                    Ask(model=f"{provider}:{MODELS[provider]}", question="Refund order A17", retries=1),
                    id=new_id(),
                    task_queue=queue,
                )
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "output_invalid"
    assert "none of the model's 2 answers was a valid Refund (output_retries=1)" in cause.message
    assert "order_id" in cause.message
    assert server.calls == 2
    assert "not valid JSON" in server.requests[1].messages[-1].text


@pytest.mark.parametrize("provider", MODELS)
async def test_a_model_without_native_structured_output_answers_through_a_forced_final_answer_tool(
    temporal_env, vendor_env, provider
):
    answers = [
        call_tools(("final_answer", {"order_id": "A17", "amount": "lots", "reason": None})),
        call_tools(("final_answer", {"order_id": "A17", "amount": 12.5, "reason": None})),
    ]
    with FakeVendorServer(provider, responses=answers) as server:
        vendor_env(server)
        async with agent_worker(temporal_env, DurableLLMPlugin(), workflows=[RefundWorkflow]) as (client, queue):
            result = await client.execute_workflow(
                RefundWorkflow.run,
                Ask(model=f"{provider}:{MODELS[provider]}", question="Refund order A17", mode="tool"),
                id=new_id(),
                task_queue=queue,
            )
    assert result.output_as(Refund) == Refund(order_id="A17", amount=12.5)
    first, second = server.requests
    assert first.output_schema is None and [t.name for t in first.tools] == ["final_answer"]
    assert first.tool_choice is not None and first.tool_choice.mode == "required"
    refused, sent = result.messages[2].parts[0], second.messages[-1].parts[0]
    assert isinstance(refused, ToolResultPart) and refused.is_error and "amount" in result_text(refused)
    assert isinstance(sent, ToolResultPart) and "Your answer was not accepted" in result_text(sent)
    assert [m.role for m in result.messages] == ["user", "assistant", "tool", "assistant", "tool"]
    for raw in server.raw_requests:
        validate_request(provider, {k: v for k, v in raw.body.items() if k != "stream"})


async def test_an_agent_workflow_checks_the_schema_and_the_client_reads_the_typed_result(temporal_env, vendor_env):
    """Started from a client, the agent arrives as JSON without its type: the answer is checked against the schema."""
    answers = [reply('{"order_id": 17, "amount": 3}'), reply('{"order_id": "A17", "amount": 3}')]
    with FakeVendorServer("anthropic", responses=answers) as server:
        vendor_env(server)
        agent = Agent(model="anthropic:claude-sonnet-4-5", output_type=Refund)
        async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
            # By name, a workflow's result can be read as any type: here the typed `AgentResult[Refund]`.
            result = await client.execute_workflow(
                AGENT_WORKFLOW,
                AgentInput(agent=agent, message="Refund order A17"),
                id=new_id(),
                task_queue=queue,
                result_type=AgentResult[Refund],
            )
    assert result.output == Refund(order_id="A17", amount=3)
    assert "order_id: 17 is not of type 'string'" in server.requests[1].messages[-1].text


@dataclass
class Point:
    x: int
    y: int


class Move(TypedDict):
    piece: str
    to: Point


@pytest.mark.parametrize(
    ("output_type", "answer", "expected", "as_json"),
    [
        (Point, '{"x": 1, "y": 2}', Point(1, 2), {"x": 1, "y": 2}),
        (Move, '{"piece": "K", "to": {"x": 1, "y": 2}}', {"piece": "K", "to": Point(1, 2)}, None),
        (list[Point], '{"result": [{"x": 1, "y": 2}]}', [Point(1, 2)], [{"x": 1, "y": 2}]),
        (int, '```json\n{"result": 7}\n```', 7, 7),
        (str, '{"result": "hi"}', "hi", "hi"),
    ],
)
def test_every_kind_of_output_type_is_asked_for_as_an_object_and_read_back(output_type, answer, expected, as_json):
    spec = Agent(model="test:echo", output_type=output_type).output_schema
    assert spec is not None
    assert spec.request_schema().json_schema["type"] == "object"
    assert check_output(spec, answer, output_type) == expected
    # Without the type (an agent read back from JSON) the value is checked against the schema and stays JSON.
    assert check_output(spec, answer) == (as_json or json.loads(answer))


def test_the_agent_serialises_its_schema_not_its_type():
    agent = Agent(model="openai:gpt-5-mini", output_type=Refund)
    again = Agent.model_validate_json(agent.model_dump_json())
    assert again == agent and again.output_type is None and agent.output_type is Refund
    assert again.output_schema == OutputSpec.for_type(Refund)
    with pytest.raises(ValueError, match="has no JSON schema"):
        Agent(model="openai:gpt-5-mini", output_type=object())
