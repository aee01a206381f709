"""The public surface: what `durable_llm` lists exists, takes the documented arguments, and imports light."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import durable_llm
from durable_llm.conversation import Message, ModelRequest, TextPart, project
from durable_llm.providers import PROVIDERS, get_adapter

VENDOR_SDKS = ("openai", "anthropic", "google.genai")
ADAPTER_METHODS = (
    "encode_request",
    "decode_request",
    "decode_response",
    "encode_response",
    "decode_error",
    "encode_tool",
)


def test_all_is_sorted_and_unique():
    assert durable_llm.__all__ == sorted(set(durable_llm.__all__))


@pytest.mark.parametrize("name", durable_llm.__all__)
def test_every_listed_name_resolves(name: str):
    assert getattr(durable_llm, name) is not None


def _import_in_a_fresh_interpreter() -> tuple[float, set[str]]:
    """(seconds `import durable_llm` took, the modules loaded after it) in a new Python process."""
    probe = (
        "import json, sys, time\n"
        "start = time.perf_counter()\n"
        "import durable_llm\n"
        "seconds = time.perf_counter() - start\n"
        "print(json.dumps({'seconds': seconds, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    imported = json.loads(done.stdout)
    return imported["seconds"], set(imported["modules"])


def test_importing_durable_llm_imports_no_vendor_sdk_nor_temporal():
    seconds, modules = _import_in_a_fresh_interpreter()
    assert not [sdk for sdk in VENDOR_SDKS if sdk in modules], "vendor SDKs must load only when a call is sent"
    assert "temporalio" not in modules, "the Temporal pieces are imported on first use"
    assert "mcp" not in modules and "opentelemetry" not in modules, "MCP and tracing load only when used"
    print(f"import durable_llm: {seconds * 1000:.0f} ms")


def test_mcp_servers_are_made_by_transport():
    assert {"MCPServer"} <= set(durable_llm.__all__)
    assert list(inspect.signature(durable_llm.MCPServer.stdio).parameters)[:1] == ["command"]
    assert list(inspect.signature(durable_llm.MCPServer.http).parameters)[:2] == ["url", "headers"]


def test_project_takes_messages_provider_and_model():
    assert list(inspect.signature(project).parameters)[:3] == ["messages", "provider", "model"]
    history = (Message(role="system", parts=(TextPart(text="Be brief."),)),)
    messages, report = project(history, "gemini", "gemini-2.5-flash")
    assert [m.role for m in messages] == ["user"]
    assert (report.provider, report.model) == ("gemini", "gemini-2.5-flash")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_get_adapter_gives_every_mapping_of_the_contract(provider: str):
    adapter = get_adapter(provider)
    # Its API family: the named Chat Completions services ("ollama", "groq", ...) share "openai_chat".
    assert adapter.name == (provider if provider in ("openai", "anthropic", "gemini", "test") else "openai_chat")
    assert all(callable(getattr(adapter, method)) for method in ADAPTER_METHODS)
    assert durable_llm.get_adapter(provider) is adapter
    assert isinstance(adapter.decode_error(429, {}, b""), durable_llm.ProviderError)
    body = adapter.encode_request(
        ModelRequest(model="m", messages=(Message(role="user", parts=(TextPart(text="hi"),)),))
    )
    assert adapter.decode_request(body).messages[0].text == "hi"


def test_get_adapter_names_the_known_providers_for_an_unknown_one():
    with pytest.raises(ValueError, match="anthropic, azure, deepseek, gemini, groq"):
        get_adapter("cohere")


def test_tool_spec_takes_a_function_and_optional_name_and_description():
    parameters = inspect.signature(durable_llm.tool_spec).parameters
    assert [(p.name, p.kind, p.default) for p in parameters.values()] == [
        ("fn", inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.empty),
        ("name", inspect.Parameter.KEYWORD_ONLY, None),
        ("description", inspect.Parameter.KEYWORD_ONLY, None),
    ]


def test_tool_decorates_bare_or_with_overrides_and_validates_arguments():
    @durable_llm.tool
    def add(a: int, b: int = 1) -> int:
        """Add two numbers."""
        return a + b

    @durable_llm.tool(name="subtract", description="a minus b")
    def minus(a: int, b: int) -> int:
        return a - b

    spec = durable_llm.tool_spec(add)
    assert (spec.name, spec.description) == ("add", "Add two numbers.")
    assert add(**spec.validate_arguments('{"a": 2}')) == 3
    assert durable_llm.tool_spec(minus).name == "subtract"
    with pytest.raises(durable_llm.ToolArgumentError) as raised:
        spec.validate_arguments('{"a": "two"}')
    assert raised.value.tool_name == "add" and isinstance(raised.value, ValueError)
