"""A local National Weather Service for the offline weather agent, serving `nws_sample.json`."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, cast

from durable_llm.cli.demo.weather import NWS_API

SAMPLE_NWS: dict[str, Any] = json.loads(resources.files("durable_llm.cli.demo").joinpath("nws_sample.json").read_text())
"""A small National Weather Service sample (shapes from the NWS API docs), by path with its query."""


class NWSStub:
    """A read-only National Weather Service on 127.0.0.1, answering GETs from `routes`.

    `routes` maps a path with its query ("/alerts/active?area=CA") to the JSON to answer;
    absolute links to the real API inside it are rewritten to this server. Anything else gets
    the NWS's 404 problem document. `paths` records what was asked, in order.
    """

    def __init__(self, routes: Mapping[str, Any] = SAMPLE_NWS) -> None:
        self.routes = dict(routes)
        self.paths: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _NWSHandler)
        cast(Any, self._httpd).stub = self

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`: the value for `NWS_BASE_URL`."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        """The environment that points the weather tools here."""
        return {"NWS_BASE_URL": self.base_url}

    def start(self) -> NWSStub:
        """Serve from a background thread."""
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> NWSStub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _answer(self, path: str) -> tuple[int, bytes]:
        self.paths.append(path)
        if path not in self.routes:
            problem = {"title": "Not Found", "status": 404, "detail": f"No data for {path}"}
            return 404, json.dumps(problem).encode()
        return 200, json.dumps(self.routes[path]).replace(NWS_API, self.base_url).encode()


class _NWSHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = cast(Any, self.server).stub._answer(self.path)
        self.send_response(status)
        self.send_header("Content-Type", "application/geo+json" if status == 200 else "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the demo's output is the conversation."""
