"""A real MCP server (the `mcp` package's `MCPServer`, formerly FastMCP) for the tests and the example.

`python tests/mcp_server.py stdio` serves over stdin/stdout; `python tests/mcp_server.py http PORT`
over Streamable HTTP at http://127.0.0.1:PORT/mcp.
"""

from __future__ import annotations

import base64
import logging
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ImageContent
from pydantic import BaseModel

server = MCPServer("durable-llm-test")

PIXEL = base64.b64encode(bytes.fromhex("89504e470d0a1a0a")).decode()


class Point(BaseModel):
    x: int
    y: int


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def describe(point: Point, label: str = "here") -> str:
    """Describe a point on the map."""
    return f"{label}: ({point.x}, {point.y})"


@server.tool()
def refuse(reason: str) -> str:
    """A tool that always fails, with the reason given."""
    raise ToolError(f"refused: {reason}")


@server.tool()
def snapshot() -> list:
    """A tiny picture and a caption."""
    return [ImageContent(type="image", data=PIXEL, mime_type="image/png"), "a tiny picture"]


@server.tool()
def crash() -> str:
    """Stops the server process on the spot, mid-call."""
    os._exit(3)


if __name__ == "__main__":
    logging.disable(logging.CRITICAL)
    if sys.argv[1] == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
