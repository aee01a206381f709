"""FakeVendorServer("openai_chat") speaks Chat Completions to the openai SDK's own client, as JSON and as SSE."""

from __future__ import annotations

import pytest

from durable_llm.testing import FakeVendorServer, call_tools, reply

MESSAGES = [
    {"role": "system", "content": "You answer questions about the weather."},
    {"role": "user", "content": "Weather in Paris?"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


@pytest.fixture
def client_for():
    import openai

    clients = []

    def make(server: FakeVendorServer, prefix: str = "/v1") -> openai.OpenAI:
        client = openai.OpenAI(base_url=server.base_url + prefix, api_key="sk-fake", max_retries=0)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_sdk_reads_a_tool_call_answer_and_the_server_decodes_the_request(client_for):
    with FakeVendorServer("openai_chat", [call_tools(("get_weather", {"city": "Paris"}))]) as server:
        completion = client_for(server).chat.completions.create(model="llama3.2", messages=MESSAGES, tools=TOOLS)  # type: ignore[arg-type]
    (call,) = completion.choices[0].message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"
    assert call.function.arguments == '{"city":"Paris"}'
    assert completion.choices[0].finish_reason == "tool_calls"
    assert completion.model == "llama3.2" and completion.id.startswith("chatcmpl-")
    (request,) = server.requests
    assert request.instructions == "You answer questions about the weather."
    assert [t.name for t in request.tools] == ["get_weather"]
    assert server.raw_requests[0].path == "/v1/chat/completions"


def test_sdk_streams_an_answer_in_chunks_and_assembles_it(client_for):
    answer = "It is sunny in Paris, 24 degrees, with a light breeze from the west."
    with FakeVendorServer("openai_chat", [reply(answer)]) as server:
        stream = client_for(server).chat.completions.create(model="llama3.2", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
        chunks = list(stream)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1 and "".join(pieces) == answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]


def test_sdk_stream_helper_assembles_streamed_tool_calls(client_for):
    script = [call_tools(("get_weather", {"city": "Paris", "detail": "a long enough value to stream"}))]
    with FakeVendorServer("openai_chat", script) as server:
        client = client_for(server)
        with client.chat.completions.stream(model="llama3.2", messages=MESSAGES) as stream:  # type: ignore[arg-type]
            final = stream.get_final_completion()
    (call,) = final.choices[0].message.tool_calls or []
    assert call.function.arguments == '{"city":"Paris","detail":"a long enough value to stream"}'


def test_any_path_prefix_is_served(client_for):
    """OpenRouter's /api/v1, Azure's /openai/deployments/<name>, a gateway's own prefix."""
    with FakeVendorServer("openai_chat", [reply("a"), reply("b")]) as server:
        for prefix in ("/api/v1", "/openai/deployments/gpt-4o"):
            client_for(server, prefix).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert [raw.path for raw in server.raw_requests] == [
        "/api/v1/chat/completions",
        "/openai/deployments/gpt-4o/chat/completions",
    ]


def test_a_queued_fault_reaches_the_sdk_as_openai_shaped_error(client_for):
    import openai

    server = FakeVendorServer("openai_chat", [reply("late")])
    server.fail(429, headers={"Retry-After": "3"})
    with server, pytest.raises(openai.RateLimitError) as caught:
        client_for(server).chat.completions.create(model="m", messages=MESSAGES)  # type: ignore[arg-type]
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "3"
