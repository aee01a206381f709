"""Messages with images and documents: a receipt as a PDF (bytes) and a photo by URL, on any vendor.

    python examples/message_with_files.py

`AgentInput(message=...)`, `send_message` and `run_agent` take text or a list of parts:
`TextPart`, `MediaPart` by URL or vendor file id, or `attachment(bytes, mime_type)`. Each vendor
gets them in its own form (Claude document blocks, OpenAI input_file, Gemini inline data). Bytes
travel in the workflow history; with the plugin's blob store a large file is stored once as a blob
and the history holds its reference. A kind of media the vendor cannot take (audio for OpenAI or
Claude) is refused before the model is called, with a message saying so.

Vendors with no API key in the environment are played by local fake servers, so this runs offline.
"""

from __future__ import annotations

import asyncio
import uuid

from _offline import fake_vendors_without_keys
from temporalio.client import Client
from temporalio.worker import Worker

from durable_llm import Agent, AgentInput, AgentResult, AgentWorkflow, DurableLLMPlugin, MediaPart, TextPart, attachment
from durable_llm.cli.server import connect
from durable_llm.config import load_settings
from durable_llm.conversation import ModelRequest, ModelResponse
from durable_llm.testing import reply

TASK_QUEUE = "message-with-files"
MODELS = ("anthropic:claude-sonnet-4-5", "openai:gpt-5-mini", "gemini:gemini-2.5-flash")
RECEIPT = b"%PDF-1.4\n% a receipt: 2 x coffee, 7.80 EUR\n%%EOF\n"


def message() -> list[TextPart | MediaPart]:
    return [
        TextPart(text="What did I pay, and what is in the photo?"),
        attachment(RECEIPT, "application/pdf", filename="receipt.pdf"),
        MediaPart(media_type="image", mime_type="image/jpeg", url="https://example.com/cafe.jpg"),
    ]


async def ask(client: Client, model: str) -> AgentResult:
    return await client.execute_workflow(
        AgentWorkflow.run,
        AgentInput(agent=Agent(model=model), message=tuple(message())),
        id=f"files-{uuid.uuid4().hex[:8]}",
        task_queue=TASK_QUEUE,
    )


def scripted_model(request: ModelRequest) -> ModelResponse:
    """What the fake vendors answer: what they were sent."""
    parts = request.messages[-1].parts
    media = [f"{p.media_type} ({p.url or p.mime_type})" for p in parts if isinstance(p, MediaPart)]
    return reply(f"I was sent: {', '.join(media)}.")


async def main() -> None:
    with fake_vendors_without_keys([model.partition(":")[0] for model in MODELS], scripted_model):
        async with (
            connect(load_settings(), plugins=[DurableLLMPlugin()]) as connection,
            Worker(connection.client, task_queue=TASK_QUEUE),
        ):
            for model in MODELS:
                result = await ask(connection.client, model)
                print(f"  {model:30} {result.output}")


if __name__ == "__main__":
    asyncio.run(main())
