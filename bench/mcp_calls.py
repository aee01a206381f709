"""What one MCP tool call costs the worker, over stdio (the server started per call) and Streamable HTTP.

Times the two activities (`list_mcp_tools`, `call_mcp_tool`) outside Temporal, against
tests/mcp_server.py. Run: `.venv/bin/python bench/mcp_calls.py`.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from durable_llm import MCPServer
from durable_llm.conversation import ToolCallPart
from durable_llm.mcp_activities import call_mcp_tool, list_mcp_tools

SERVER = str(Path(__file__).parent.parent / "tests" / "mcp_server.py")
ROUNDS = 5


async def measure(server: MCPServer) -> tuple[float, float]:
    """Median milliseconds of a listing and of a call."""
    env = ActivityEnvironment()
    listings, calls = [], []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        specs = await env.run(list_mcp_tools, server)
        listings.append(time.perf_counter() - start)
        spec = next(s for s in specs if s.name.endswith("add"))
        call = ToolCallPart(id="c", name=spec.name, arguments_raw='{"a": 1, "b": 2}')
        start = time.perf_counter()
        result = await env.run(call_mcp_tool, call, server, spec)
        calls.append(time.perf_counter() - start)
        assert not result.is_error, result
    return statistics.median(listings) * 1000, statistics.median(calls) * 1000


async def main() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        servers = {
            "stdio": MCPServer.stdio([sys.executable, SERVER, "stdio"]),
            "http": MCPServer.http(f"http://127.0.0.1:{port}/mcp"),
        }
        for name, server in servers.items():
            listing, call = await measure(server)
            print(f"{name:5}  list tools {listing:7.1f} ms   call a tool {call:7.1f} ms   (median of {ROUNDS})")
    finally:
        process.kill()
        process.wait()


if __name__ == "__main__":
    asyncio.run(main())
