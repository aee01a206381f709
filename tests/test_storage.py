"""Large payloads by reference (local directory, S3) and the payload guard, on the real dev server."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message as ProtoMessage
from temporalio import activity, workflow
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import RetryPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from durable_llm import TextPart, ToolResultPart
from durable_llm.payload_guard import PAYLOAD_LIMIT, PayloadGuard, PayloadTooLarge, check_payload_size
from durable_llm.storage import (
    BLOB_DIRECTORY_VARIABLE,
    LOCAL_THRESHOLD,
    REMOTE_THRESHOLD,
    AesGcmCodec,
    BlobNotFound,
    CachedDriver,
    InvalidBlobReference,
    LocalBlobDriver,
    default_blob_directory,
    external_storage,
    s3_driver,
    with_external_storage,
)

PAGE_SIZE = 5_000_000
OVER_LIMIT = 3 * 1024 * 1024
# An external storage reference is ~200 bytes; no payload left in a history should come near this.
REFERENCE_BOUND = 1024


def _page(size: int) -> str:
    """A deterministic, text-like tool output of `size` characters."""
    line = "The quick brown fox jumps over the lazy dog; durable agents keep their tool output. "
    return (line * (size // len(line) + 1))[:size]


PAGE_DIGEST = hashlib.sha256(_page(PAGE_SIZE).encode()).hexdigest()


@activity.defn
async def fetch_page(size: int) -> ToolResultPart:
    return ToolResultPart(call_id="call_1", name="fetch_page", content=(TextPart(text=_page(size)),))


@activity.defn
async def count_chars(text: str) -> int:
    return len(text)


@activity.defn
async def oversized_output(size: int) -> str:
    return "x" * size


@workflow.defn
class FetchPage:
    """Gets a large tool result and answers with its length and digest, both small."""

    @workflow.run
    async def run(self, size: int) -> tuple[int, str]:
        part = await workflow.execute_activity(fetch_page, size, start_to_close_timeout=timedelta(seconds=30))
        return len(part.text), hashlib.sha256(part.text.encode()).hexdigest()


@workflow.defn
class SendLargeArgument:
    @workflow.run
    async def run(self, size: int) -> int:
        return await workflow.execute_activity(count_chars, "x" * size, start_to_close_timeout=timedelta(seconds=30))


@workflow.defn
class ReceiveOversizedResult:
    @workflow.run
    async def run(self, size: int) -> int:
        text = await workflow.execute_activity(
            oversized_output, size, start_to_close_timeout=timedelta(seconds=30), retry_policy=RetryPolicy()
        )
        return len(text)


@workflow.defn
class ReturnOversizedResult:
    @workflow.run
    async def run(self, size: int) -> str:
        return "x" * size


@workflow.defn
class Echo:
    """An update-driven conversation: each update answers with `size` characters."""

    def __init__(self) -> None:
        self.closed = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.closed)

    @workflow.update
    async def reply(self, size: int) -> str:
        return "x" * size

    @workflow.signal
    def close(self) -> None:
        self.closed = True


ACTIVITIES = [fetch_page, count_chars, oversized_output]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, converter: DataConverter, workflow_class: type, *, guard: bool = False
) -> AsyncIterator[tuple[Client, str]]:
    """A client with `converter` and a worker for one workflow (each costs ~0.15 s to validate)."""
    client = Client(env.client.service_client, namespace=env.client.namespace, data_converter=converter)
    task_queue = f"storage-{uuid.uuid4()}"
    interceptors = [PayloadGuard(converter.external_storage)] if guard else []
    async with Worker(
        client, task_queue=task_queue, workflows=[workflow_class], activities=ACTIVITIES, interceptors=interceptors
    ):
        yield client, task_queue


async def start(client: Client, task_queue: str, workflow_run: Any, arg: Any) -> WorkflowHandle:
    return await client.start_workflow(workflow_run, arg, id=str(uuid.uuid4()), task_queue=task_queue)


async def result_of(handle: WorkflowHandle) -> Any:
    """The workflow's result; a hang fails the test within seconds instead of blocking it."""
    try:
        return await asyncio.wait_for(handle.result(), timeout=15)
    except TimeoutError:
        await handle.terminate()
        raise


def payloads_in(message: ProtoMessage) -> Iterator[Payload]:
    """Every Payload anywhere inside a protobuf message."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, ProtoMessage):
            yield from payloads_in(value)
            continue
        # A repeated field or a map of messages.
        for item in value.values() if field.message_type.GetOptions().map_entry else value:
            if isinstance(item, ProtoMessage):
                yield from payloads_in(item)


async def history_of(handle: WorkflowHandle) -> History:
    return History(events=(await handle.fetch_history()).events)


def is_reference(payload: Payload) -> bool:
    return payload.metadata.get("messageType") == b"temporal.api.sdk.v1.ExternalStorageReference"


async def assert_history_holds_only_references(handle: WorkflowHandle) -> History:
    history = await history_of(handle)
    payloads = list(payloads_in(history))
    assert max(p.ByteSize() for p in payloads) < REFERENCE_BOUND
    assert any(is_reference(p) for p in payloads)
    assert history.ByteSize() < 16 * 1024
    return history


def local_converter(directory: Path) -> DataConverter:
    return with_external_storage(pydantic_data_converter, LocalBlobDriver(directory))


async def test_large_tool_result_travels_by_reference(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    async with running_worker(temporal_env, local_converter(tmp_path), FetchPage) as (client, task_queue):
        handle = await start(client, task_queue, FetchPage.run, PAGE_SIZE)
        result = await result_of(handle)

    assert result == (PAGE_SIZE, PAGE_DIGEST)
    await assert_history_holds_only_references(handle)
    [blob] = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert blob.stat().st_size > PAGE_SIZE


async def test_s3_store_carries_large_tool_result(temporal_env: WorkflowEnvironment, s3_endpoint: str) -> None:
    import aioboto3

    bucket = f"blobs-{uuid.uuid4().hex[:12]}"
    session = aioboto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    async with session.client("s3", endpoint_url=s3_endpoint) as s3:
        await s3.create_bucket(Bucket=bucket)
        async with s3_driver(bucket, endpoint_url=s3_endpoint, session=session) as driver:
            converter = with_external_storage(pydantic_data_converter, driver)
            async with running_worker(temporal_env, converter, FetchPage) as (client, task_queue):
                handle = await start(client, task_queue, FetchPage.run, PAGE_SIZE)
                result = await result_of(handle)
        listing = await s3.list_objects_v2(Bucket=bucket)

    assert result == (PAGE_SIZE, PAGE_DIGEST)
    await assert_history_holds_only_references(handle)
    [stored] = listing.get("Contents", [])
    assert stored.get("Size", 0) > PAGE_SIZE
    # The shipped driver keys an activity result under the workflow it returns to.
    assert stored.get("Key", "").startswith(f"v0/ns/default/wt/FetchPage/wi/{handle.id}/")


async def test_local_driver_stores_identical_payloads_once(tmp_path: Path) -> None:
    driver = LocalBlobDriver(tmp_path)
    payload = pydantic_data_converter.payload_converter.to_payload(_page(300_000))
    other = pydantic_data_converter.payload_converter.to_payload(_page(300_001))

    first = await driver.store(StorageDriverStoreContext(), [payload, payload])
    second = await driver.store(StorageDriverStoreContext(), [payload, other])

    assert first[0] == first[1] == second[0] != second[1]
    assert first[0].claim_data["hash_value"] == hashlib.sha256(payload.SerializeToString()).hexdigest()
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 2
    assert await driver.retrieve(StorageDriverRetrieveContext(), [second[1], first[0]]) == [other, payload]


class CountingDriver(LocalBlobDriver):
    """A local store that counts the payloads it is asked for."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, name="counted")
        self.retrieved = 0

    async def retrieve(self, context, claims):
        self.retrieved += len(claims)
        return await super().retrieve(context, claims)


async def test_cached_driver_serves_what_it_stored_or_read_from_memory(tmp_path: Path) -> None:
    store = CountingDriver(tmp_path)
    cached = CachedDriver(store, max_bytes=1_000_000)
    small, large = (pydantic_data_converter.payload_converter.to_payload(_page(n)) for n in (400_000, 700_000))
    [small_claim] = await cached.store(StorageDriverStoreContext(), [small])
    [large_claim] = await store.store(StorageDriverStoreContext(), [large])  # stored by another process

    assert (cached.name(), cached.type()) == ("counted", "durable_llm.local")
    assert await cached.retrieve(StorageDriverRetrieveContext(), [small_claim]) == [small]
    assert (store.retrieved, cached.hits) == (0, 1)
    # A mixed read asks the store only for what is missing, once, then keeps it (evicting the oldest).
    assert await cached.retrieve(StorageDriverRetrieveContext(), [large_claim, small_claim]) == [large, small]
    assert (store.retrieved, cached.hits) == (1, 2)
    assert await cached.retrieve(StorageDriverRetrieveContext(), [large_claim, small_claim]) == [large, small]
    assert (store.retrieved, cached.hits) == (2, 3)  # 1.1 MB do not fit in 1 MB: the small one was evicted


async def test_external_storage_caches_the_store_and_sets_the_threshold_by_where_it_is(
    tmp_path: Path, s3_endpoint: str
) -> None:
    driver = LocalBlobDriver(tmp_path)
    local = external_storage(driver)
    [cached] = local.drivers
    assert isinstance(cached, CachedDriver) and cached.driver is driver
    assert local.payload_size_threshold == LOCAL_THRESHOLD == 1024
    assert external_storage(driver, cache_bytes=0).drivers == [driver]
    assert external_storage(driver, 4096).payload_size_threshold == 4096
    import aioboto3

    session = aioboto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    async with s3_driver("any-bucket", endpoint_url=s3_endpoint, session=session) as remote:
        assert external_storage(remote).payload_size_threshold == REMOTE_THRESHOLD == 64 * 1024


async def test_cached_driver_survives_forgetting_a_claim_while_a_store_is_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SlowStore(LocalBlobDriver):
        async def store(self, context, payloads):
            await asyncio.sleep(0.01)
            return await super().store(context, payloads)

    monkeypatch.setattr("durable_llm.storage.MAX_REMEMBERED_CLAIMS", 1)
    cached = CachedDriver(SlowStore(tmp_path))
    payloads = [Payload(data=f"blob {n}".encode()) for n in range(4)]
    first = await cached.store(StorageDriverStoreContext(), payloads[:1])
    # Each concurrent store makes the driver forget the others' claims while they are in flight.
    stored = await asyncio.gather(*(cached.store(StorageDriverStoreContext(), [p, payloads[0]]) for p in payloads))
    assert [claims[1] for claims in stored] == first * 4
    assert await cached.retrieve(StorageDriverRetrieveContext(), [c[0] for c in stored]) == payloads


async def test_local_driver_expands_home_and_still_reads_blobs_of_the_old_default_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert LocalBlobDriver("~/blobs").directory == tmp_path / "blobs"

    # durable_llm 0.1 kept blobs in ~/.cache/durable_llm/blobs by default.
    [claim] = await LocalBlobDriver(tmp_path / ".cache" / "durable_llm" / "blobs").store(
        StorageDriverStoreContext(), [Payload(data=b"from 0.1")]
    )
    monkeypatch.delenv(BLOB_DIRECTORY_VARIABLE, raising=False)
    driver = LocalBlobDriver()
    assert driver.directory == tmp_path / ".local" / "share" / "durable_llm" / "blobs"
    assert await driver.retrieve(StorageDriverRetrieveContext(), [claim]) == [Payload(data=b"from 0.1")]
    # An explicitly chosen directory holds all there is.
    with pytest.raises(BlobNotFound):
        await LocalBlobDriver(tmp_path / "elsewhere").retrieve(StorageDriverRetrieveContext(), [claim])


def test_default_blob_directory_is_absolute_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BLOB_DIRECTORY_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "durable_llm" / "blobs"
    for directory in ("client", "worker"):
        (tmp_path / directory).mkdir()
        monkeypatch.chdir(tmp_path / directory)
        assert default_blob_directory() == LocalBlobDriver().directory == expected

    monkeypatch.setenv(BLOB_DIRECTORY_VARIABLE, str(tmp_path / "shared"))
    assert LocalBlobDriver().directory == tmp_path / "shared"


async def test_local_driver_names_the_store_when_a_blob_is_missing(tmp_path: Path) -> None:
    claims = await LocalBlobDriver(tmp_path / "machine_a").store(StorageDriverStoreContext(), [Payload(data=b"x")])

    with pytest.raises(BlobNotFound, match=r"machine_b.*s3_driver"):
        await LocalBlobDriver(tmp_path / "machine_b").retrieve(StorageDriverRetrieveContext(), claims)


async def test_local_driver_rejects_a_corrupted_blob(tmp_path: Path) -> None:
    driver = LocalBlobDriver(tmp_path)
    [claim] = await driver.store(StorageDriverStoreContext(), [Payload(data=b"original")])
    path = driver.path_for(claim.claim_data["hash_value"])
    path.write_bytes(Payload(data=b"tampered").SerializeToString())

    with pytest.raises(InvalidBlobReference, match="corrupt") as raised:
        await driver.retrieve(StorageDriverRetrieveContext(), [claim])
    assert raised.value.non_retryable  # fails its workflow instead of retrying a task forever


async def test_encrypted_blobs_hold_no_plain_text(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    converter = dataclasses.replace(local_converter(tmp_path), payload_codec=AesGcmCodec(os.urandom(32)))
    async with running_worker(temporal_env, converter, FetchPage) as (client, task_queue):
        handle = await start(client, task_queue, FetchPage.run, PAGE_SIZE)
        result = await result_of(handle)

    assert result == (PAGE_SIZE, PAGE_DIGEST)
    await assert_history_holds_only_references(handle)
    [blob] = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert b"quick brown fox" not in blob.read_bytes()


async def test_codec_refuses_a_payload_sealed_with_another_key() -> None:
    [sealed] = await AesGcmCodec(os.urandom(32), key_id="old").encode([Payload(data=b"secret")])

    with pytest.raises(ValueError, match="encrypted with key 'old', not 'new'"):
        await AesGcmCodec(os.urandom(32), key_id="new").decode([sealed])


def test_guard_measures_what_temporal_measures() -> None:
    # 3,145,764 is the size Temporal's core reported rejecting this very value.
    with pytest.raises(PayloadTooLarge) as caught:
        check_payload_size("x" * OVER_LIMIT, what="the tool output")

    assert caught.value.size == 3_145_764
    assert caught.value.non_retryable
    assert "the tool output is 3,145,764 bytes" in caught.value.message
    assert "Turn the blob store on" in caught.value.message
    assert check_payload_size("x" * 1000, what="small") < 1100


def test_guard_lets_through_what_external_storage_would_take(tmp_path: Path) -> None:
    driver = LocalBlobDriver(tmp_path)
    takes_it = external_storage(driver)
    threshold_above_it = external_storage(driver, threshold=4 * 1024 * 1024)
    selector_declines = ExternalStorage(drivers=[driver], driver_selector=lambda context, payload: None)

    assert check_payload_size("x" * OVER_LIMIT, what="the tool output", storage=takes_it) <= REFERENCE_BOUND
    for storage in (threshold_above_it, selector_declines):
        with pytest.raises(PayloadTooLarge):
            check_payload_size("x" * OVER_LIMIT, what="the tool output", storage=storage)


async def test_oversized_activity_argument_fails_the_workflow_instead_of_hanging(
    temporal_env: WorkflowEnvironment,
) -> None:
    async with running_worker(temporal_env, pydantic_data_converter, SendLargeArgument, guard=True) as (
        client,
        task_queue,
    ):
        handle = await start(client, task_queue, SendLargeArgument.run, OVER_LIMIT)
        with pytest.raises(WorkflowFailureError) as caught:
            await result_of(handle)

    error = caught.value.cause
    assert isinstance(error, ApplicationError)
    assert error.type == "PayloadTooLarge"
    assert "the arguments of activity 'count_chars' is 3,145,764 bytes" in error.message
    assert f"limit of {PAYLOAD_LIMIT:,} bytes" in error.message
    history = await history_of(handle)
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]


async def test_oversized_activity_argument_succeeds_with_external_storage(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_worker(temporal_env, local_converter(tmp_path), SendLargeArgument, guard=True) as (
        client,
        task_queue,
    ):
        handle = await start(client, task_queue, SendLargeArgument.run, OVER_LIMIT)
        result = await result_of(handle)

    assert result == OVER_LIMIT
    history = await assert_history_holds_only_references(handle)
    [scheduled] = [e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
    assert is_reference(scheduled.activity_task_scheduled_event_attributes.input.payloads[0])


async def test_oversized_activity_result_fails_once_not_forever(temporal_env: WorkflowEnvironment) -> None:
    async with running_worker(temporal_env, pydantic_data_converter, ReceiveOversizedResult, guard=True) as (
        client,
        task_queue,
    ):
        handle = await start(client, task_queue, ReceiveOversizedResult.run, OVER_LIMIT)
        with pytest.raises(WorkflowFailureError) as caught:
            await result_of(handle)

    activity_error = caught.value.cause
    assert isinstance(activity_error, ActivityError)
    error = activity_error.cause
    assert isinstance(error, ApplicationError)
    assert error.type == "PayloadTooLarge" and error.non_retryable
    assert "the result of activity 'oversized_output'" in error.message
    history = await history_of(handle)
    [started] = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert started.activity_task_started_event_attributes.attempt == 1


async def test_oversized_workflow_result_fails_the_workflow_instead_of_hanging(
    temporal_env: WorkflowEnvironment,
) -> None:
    async with running_worker(temporal_env, pydantic_data_converter, ReturnOversizedResult, guard=True) as (
        client,
        task_queue,
    ):
        handle = await start(client, task_queue, ReturnOversizedResult.run, OVER_LIMIT)
        with pytest.raises(WorkflowFailureError) as caught:
            await result_of(handle)

    error = caught.value.cause
    assert isinstance(error, ApplicationError)
    assert "the result of workflow 'ReturnOversizedResult'" in error.message


async def test_oversized_update_result_fails_the_update_and_the_conversation_goes_on(
    temporal_env: WorkflowEnvironment,
) -> None:
    async with running_worker(temporal_env, pydantic_data_converter, Echo, guard=True) as (client, task_queue):
        handle = await client.start_workflow(Echo.run, id=str(uuid.uuid4()), task_queue=task_queue)
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await asyncio.wait_for(handle.execute_update(Echo.reply, OVER_LIMIT), timeout=15)
        small = await asyncio.wait_for(handle.execute_update(Echo.reply, 10), timeout=15)
        await handle.signal(Echo.close)
        await result_of(handle)

    error = caught.value.cause
    assert isinstance(error, ApplicationError)
    assert "the result of update 'reply' is 3,145,764 bytes" in error.message
    assert small == "x" * 10


def test_storage_and_guard_names_are_exported_from_the_package_root() -> None:
    import durable_llm

    names = (
        "LocalBlobDriver",
        "s3_driver",
        "external_storage",
        "with_external_storage",
        "AesGcmCodec",
        "BlobNotFound",
        "CachedDriver",
    )
    for name in (*names, "PayloadGuard", "PayloadTooLarge", "check_payload_size"):
        assert name in durable_llm.__all__ and hasattr(durable_llm, name)


@pytest.mark.parametrize(
    "claim_data",
    [
        {"hash_algorithm": "sha256", "hash_value": "../../../etc/hostname"},
        {"hash_algorithm": "sha256", "hash_value": "A" * 64},
        {"hash_algorithm": "md5", "hash_value": "a" * 64},
        {"hash_value": "a" * 64},
    ],
)
async def test_local_driver_refuses_a_malformed_reference_without_reading(tmp_path: Path, claim_data) -> None:
    driver = LocalBlobDriver(tmp_path / "store")
    with pytest.raises(InvalidBlobReference, match="expected a sha256 digest") as raised:
        await driver.retrieve(StorageDriverRetrieveContext(), [StorageDriverClaim(claim_data=claim_data)])
    assert raised.value.non_retryable


async def test_local_driver_refuses_a_fifo_a_link_or_an_oversized_file_without_blocking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = LocalBlobDriver(tmp_path / "store")
    fifo, link, big = "1" * 64, "2" * 64, "3" * 64
    driver.path_for(fifo).parent.mkdir(parents=True)
    os.mkfifo(driver.path_for(fifo))
    driver.path_for(link).parent.mkdir(parents=True)
    (tmp_path / "secret").write_bytes(b"secret")
    driver.path_for(link).symlink_to(tmp_path / "secret")
    driver.path_for(big).parent.mkdir(parents=True)
    driver.path_for(big).write_bytes(b"x" * 2048)
    monkeypatch.setattr("durable_llm.storage.MAX_BLOB_BYTES", 1024)
    for digest, problem in [(fifo, "not a regular file"), (link, "cannot be read"), (big, "over the 1,024 read limit")]:
        claim = StorageDriverClaim(claim_data={"hash_algorithm": "sha256", "hash_value": digest})
        with pytest.raises(InvalidBlobReference, match=problem):
            await asyncio.wait_for(driver.retrieve(StorageDriverRetrieveContext(), [claim]), 5)


async def test_s3_driver_reads_only_keys_of_its_bucket_named_by_their_digest(s3_endpoint: str) -> None:
    import aioboto3

    bucket = f"blobs-{uuid.uuid4().hex[:12]}"
    session = aioboto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    async with session.client("s3", endpoint_url=s3_endpoint) as s3:
        await s3.create_bucket(Bucket=bucket)
        async with s3_driver(bucket, endpoint_url=s3_endpoint, session=session) as driver:
            [claim] = await driver.store(StorageDriverStoreContext(), [Payload(data=b"mine")])
            [payload] = await driver.retrieve(StorageDriverRetrieveContext(), [claim])
            assert payload.data == b"mine"
            digest = claim.claim_data["hash_value"]
            for tampered in [
                {**claim.claim_data, "bucket": "someone-elses"},
                {**claim.claim_data, "key": "private/report.pdf"},
                {**claim.claim_data, "key": f"v0/../private/d/sha256/{digest}"},
                {**claim.claim_data, "hash_value": "../x"},
            ]:
                with pytest.raises(InvalidBlobReference):
                    await driver.retrieve(StorageDriverRetrieveContext(), [StorageDriverClaim(claim_data=tampered)])


async def test_payloads_encoded_while_kept_inline_stay_out_of_the_blob_store(tmp_path: Path) -> None:
    from durable_llm.storage import kept_inline, with_external_storage

    converter = with_external_storage(pydantic_data_converter, LocalBlobDriver(tmp_path))
    large = "x" * 5000

    async def encoded_in_a_task() -> Payload:  # as the SDK encodes heartbeat details: in a task started there
        [payload] = await converter.encode([large])
        return payload

    with kept_inline():
        task = asyncio.ensure_future(encoded_in_a_task())
    inline, stored = await task, await encoded_in_a_task()
    assert not inline.external_payloads and large.encode() in inline.data
    assert stored.external_payloads and large.encode() not in stored.data
    assert await converter.decode([inline, stored], [str, str]) == [large, large]
