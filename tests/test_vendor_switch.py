"""A conversation whose model changes vendor between messages: the model activity projects the
transcript for each call's provider, and every request passes that vendor's SDK request types."""

from __future__ import annotations

import re

from agent_kit import agent_worker, get_weather, new_id
from sdk_validation import validate_request
from temporalio import workflow

from durable_llm import Agent, AgentResult, DurableLLMPlugin, MediaPart, Message, TextPart, ToolCallPart
from durable_llm.conversation import FrozenModel, ModelRequest, ReasoningPart, ReasoningToken, project
from durable_llm.loop import run_agent
from durable_llm.testing import FakeVendorServer, call_tools, reply

with workflow.unsafe.imports_passed_through():
    from durable_llm.providers import get_adapter

HOPS = ("openai:gpt-5-mini", "anthropic:claude-sonnet-4-5", "gemini:gemini-2.5-flash")


class Hops(FrozenModel):
    models: tuple[str, ...]
    questions: tuple[str, ...]


@workflow.defn
class HopBetweenVendors:
    """Each question to the next model, the conversation carried over as it is."""

    @workflow.run
    async def run(self, hops: Hops) -> AgentResult:
        result: AgentResult | None = None
        for model, question in zip(hops.models, hops.questions, strict=True):
            agent = Agent(model=model, tools=[get_weather], instructions="Be brief.")
            result = await run_agent(agent, question, messages=result.messages if result else ())
        assert result is not None
        return result


def openai_answer_with_reasoning(request: ModelRequest):
    """OpenAI reasons (an encrypted token Claude and Gemini cannot read), then calls the tool, then answers."""
    if any(m.role == "tool" for m in request.messages):
        return reply("Paris is sunny.")
    token = ReasoningToken(provider="openai", api="responses", model="gpt-5-mini", value="gAAAAB-opaque")
    reasoning = ReasoningPart(summary=("Needs the weather.",), token=token, provider_details={"openai": {"id": "rs_1"}})
    call = ToolCallPart(id="fc_1.a", name="get_weather", arguments_raw='{"city":"Paris"}')  # a '.' Claude refuses
    return call_tools(call).model_copy(update={"message": Message(role="assistant", parts=(reasoning, call))})


async def test_a_chat_moves_from_openai_to_claude_to_gemini_between_messages(temporal_env, monkeypatch):
    with (
        FakeVendorServer("openai", responses=openai_answer_with_reasoning) as openai,
        FakeVendorServer("anthropic", responses=[reply("Rome too.")]) as anthropic,
        FakeVendorServer(
            "gemini", responses=[call_tools(("get_weather", {"city": "Oslo"})), reply("Oslo: snow.")]
        ) as gemini,
    ):
        for server in (openai, anthropic, gemini):
            for key, value in server.env().items():
                monkeypatch.setenv(key, value)
        plugin = DurableLLMPlugin(tools=[get_weather])
        async with agent_worker(temporal_env, plugin, workflows=[HopBetweenVendors]) as (client, queue):
            result = await client.execute_workflow(
                HopBetweenVendors.run,
                Hops(models=HOPS, questions=("Paris?", "And Rome?", "And Oslo?")),
                id=new_id(),
                task_queue=queue,
            )

    assert result.output == "Oslo: snow."
    for server in (openai, anthropic, gemini):
        for raw in server.raw_requests:
            body = {k: v for k, v in raw.body.items() if k != "stream"}
            validate_request(server.provider, body)
    # Claude got no OpenAI reasoning and ids it takes; Gemini got the call OpenAI made signed for Gemini.
    claude_ids = [
        b["id"] for m in anthropic.raw_requests[0].body["messages"] for b in m["content"] if b.get("type") == "tool_use"
    ]
    assert claude_ids and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", i) for i in claude_ids)
    gemini_turns = [c for c in gemini.raw_requests[0].body["contents"] if c["role"] == "model"]
    first_call = next(p for p in gemini_turns[0]["parts"] if "functionCall" in p)
    assert first_call.get("thoughtSignature") == "skip_thought_signature_validator"
    claude_parts = [p for m in anthropic.requests[0].messages for p in m.parts]
    assert not any(isinstance(p, ReasoningPart) for p in claude_parts)
    assert any(isinstance(p, ToolCallPart) and p.name == "get_weather" for p in claude_parts)
    first_gemini = gemini.requests[0].messages
    assert [m.text for m in first_gemini if m.role == "user"][-1] == "And Oslo?"
    assert len(result.messages) == 10  # 3 questions, 3 answers, 2 tool calls and their 2 results


def test_media_a_target_does_not_take_becomes_a_note_and_empty_text_goes():
    history = (
        Message(
            role="user",
            parts=(
                TextPart(text=""),
                TextPart(text="What is said here?"),
                MediaPart(media_type="audio", mime_type="audio/wav", data="UklGRg=="),
            ),
        ),
    )
    for target in ("openai", "anthropic"):
        messages, report = project(history, target, "m")
        assert [p.text for p in messages[0].parts] == [
            "What is said here?",
            f"[audio (audio/wav) left out: {target} does not take audio]",
        ]
        assert [(c.action, c.what) for c in report.changes] == [("dropped", "empty text"), ("converted", "audio")]
        validate_request(target, get_adapter(target).encode_request(ModelRequest(model="m", messages=messages)))
    kept, report = project(history, "gemini", "gemini-2.5-flash")
    assert isinstance(kept[0].parts[-1], MediaPart) and [c.what for c in report.changes] == ["empty text"]
