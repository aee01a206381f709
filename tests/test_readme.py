"""The README's quickstart, pasted into a file and run as a user would: a real dev server, a fake vendor."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from durable_llm import ToolResultPart
from durable_llm.cli.demo import result_text
from durable_llm.testing import FakeVendorServer, call_tools, reply

README = Path(__file__).parent.parent / "README.md"


def quickstart_code() -> str:
    """The first Python block of the README's Quickstart section."""
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "the Quickstart section has no python block"
    return found.group(1)


async def test_the_quickstart_runs_as_pasted_with_the_model_from_the_configuration(temporal_env, tmp_path):
    (tmp_path / "quickstart.py").write_text(quickstart_code())
    script = [call_tools(("get_weather", {"city": "Paris"})), reply("It is 18 degrees in Paris.")]
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DURABLE_LLM_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_", "TEMPORAL_"))
    }
    with FakeVendorServer("gemini", responses=script) as fake:
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "quickstart.py"],
            cwd=tmp_path,
            env={
                **environment,
                **fake.env(),
                "DURABLE_LLM_MODEL": "gemini:gemini-2.5-flash",
                "DURABLE_LLM_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
                "DURABLE_LLM_BLOB_DIR": os.environ["DURABLE_LLM_BLOB_DIR"],
            },
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("It is 18 degrees in Paris.")
    assert fake.requests[0].model == "gemini-2.5-flash"  # from DURABLE_LLM_MODEL: the code names no model
    assert [tool.name for tool in fake.requests[0].tools] == ["get_weather"]
    [tool_result] = fake.requests[1].messages[-1].parts
    assert isinstance(tool_result, ToolResultPart)
    assert result_text(tool_result) == "18 degrees celsius in Paris"  # the tool ran on the worker
