"""Messages with images and documents: each vendor gets the parts in its own form; a kind of media
the agent's vendor cannot take is refused before any model call, with a message saying so."""

from __future__ import annotations

import base64

import pytest
from agent_kit import agent_worker, new_id
from sdk_validation import validate_request
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from durable_llm import Agent, AgentInput, AgentWorkflow, DurableLLMPlugin, MediaPart, TextPart, send_message
from durable_llm.testing import FakeVendorServer, reply
from durable_llm.user_content import attachment, user_message

MODELS = {"openai": "gpt-5-mini", "anthropic": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG_URL = "https://example.com/receipt.png"


@pytest.fixture
def vendor_env(monkeypatch):
    def use(server: FakeVendorServer) -> None:
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)

    return use


@pytest.mark.parametrize("provider", MODELS)
async def test_text_a_document_as_bytes_and_an_image_by_url_reach_each_vendor(temporal_env, vendor_env, provider):
    parts = (
        TextPart(text="What do these say?"),
        attachment(PDF, "application/pdf", filename="receipt.pdf"),
        MediaPart(media_type="image", mime_type="image/png", url=PNG_URL),
    )
    with FakeVendorServer(provider, responses=[reply("A receipt."), reply("Still a receipt.")]) as server:
        vendor_env(server)
        agent = Agent(model=f"{provider}:{MODELS[provider]}")
        async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
            handle = await client.start_workflow(
                AgentWorkflow.run, AgentInput(agent=agent, message=parts, chat=True), id=new_id(), task_queue=queue
            )
            second = await send_message(handle, [TextPart(text="And this?"), parts[2]])
            await handle.signal(AgentWorkflow.end_conversation)
            result = await handle.result()

    assert second == "Still a receipt."
    assert result.messages[0].parts == parts  # the history keeps the parts as sent
    first_request = server.requests[0].messages[0]
    kinds = [(p.media_type, p.url is not None) for p in first_request.parts if isinstance(p, MediaPart)]
    assert kinds == [("document", False), ("image", True)]
    sent = next(p for p in first_request.parts if isinstance(p, MediaPart) and p.media_type == "document")
    assert sent.data is not None and base64.b64decode(sent.data) == PDF
    assert [m.role for m in server.requests[1].messages][-1] == "user"
    for raw in server.raw_requests:
        validate_request(provider, {k: v for k, v in raw.body.items() if k != "stream"})


async def test_media_the_vendor_cannot_take_is_refused_before_the_call(temporal_env, vendor_env):
    audio = attachment(b"RIFF....WAVEfmt ", "audio/wav")
    with FakeVendorServer("openai", responses=[reply("Hello.")]) as server:
        vendor_env(server)
        agent = Agent(model="openai:gpt-5-mini")
        async with agent_worker(temporal_env, DurableLLMPlugin()) as (client, queue):
            handle = await client.start_workflow(
                AgentWorkflow.run, AgentInput(agent=agent, chat=True), id=new_id(), task_queue=queue
            )
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await send_message(handle, [TextPart(text="Transcribe this"), audio])
            assert await send_message(handle, "Hi") == "Hello."  # the chat goes on
            await handle.signal(AgentWorkflow.end_conversation)
            with pytest.raises(WorkflowFailureError) as failed:
                await client.execute_workflow(
                    AgentWorkflow.run,
                    AgentInput(agent=agent, message=(audio,)),
                    id=new_id(),
                    task_queue=queue,
                )
    message = "openai does not take audio (audio/wav) in a message; it takes image, document, file"
    assert message in str(refused.value.cause)
    assert isinstance(failed.value.cause, ApplicationError) and failed.value.cause.type == "unsupported_content"
    assert message in failed.value.cause.message
    assert server.calls == 1


def test_a_malformed_message_says_what_is_wrong():
    with pytest.raises(ValueError, match="needs text or at least one part"):
        user_message([])
    with pytest.raises(ValueError, match=r"part 1 of the message \(image\) has no url, data or file_id"):
        user_message([TextPart(text="see"), MediaPart(media_type="image")])
