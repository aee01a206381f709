"""Large payloads by reference: blob stores for Temporal's external payload storage.

Tool results, media and transcripts above a threshold leave the workflow history: the data
converter hands them to a `StorageDriver`, and the history keeps a ~200-byte reference.
`LocalBlobDriver` suits one machine; `s3_driver` builds temporalio's shipped S3 driver for
several. Every client and worker must be configured with the same drivers. `external_storage`
picks the threshold by store and puts a `CachedDriver` (memory) in front of it.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import hashlib
import os
import re
import stat
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    PayloadCodec,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverSelectContext,
    StorageDriverStoreContext,
)
from temporalio.exceptions import ApplicationError

if TYPE_CHECKING:
    import aioboto3

BLOB_DIRECTORY_VARIABLE = "DURABLE_LLM_BLOB_DIR"
"""The environment variable naming `LocalBlobDriver`'s default directory."""

LOCAL_THRESHOLD = 1024
"""Payloads of at least this many serialized bytes go by reference to a `LocalBlobDriver`.

Temporal's own default (256 KiB) is for the rare large payload; a conversation's text is what
grows a durable agent's history, so ours is five times a reference (~200 bytes): a message,
answer or tool result over 1 KiB costs the history a reference, and a short one stays inline.
"""

REMOTE_THRESHOLD = 64 * 1024
"""The same for any other store (S3...): each reference is a round trip when a worker replays a
run (Temporal decodes a history event by event), so fewer, larger payloads leave the history.
Measured by bench/remote_store.py at 20 ms a call: the first turn after a restart, 60 turns into
a chat of 2 KB messages, takes 4.1 s at 1 KiB and 0.26 s at 64 KiB.
"""


def default_threshold(driver: StorageDriver) -> int:
    """`LOCAL_THRESHOLD` for a store on this machine, else `REMOTE_THRESHOLD`."""
    inner = driver.driver if isinstance(driver, CachedDriver) else driver
    return LOCAL_THRESHOLD if isinstance(inner, LocalBlobDriver) else REMOTE_THRESHOLD


DEFAULT_CACHE_BYTES = 64 * 1024 * 1024
"""How much of what a process stored or read from the blob store it keeps in memory."""


MAX_REMEMBERED_CLAIMS = 100_000
"""How many stored payloads a `CachedDriver` remembers the claims of (a few hundred bytes each)."""


MAX_BLOB_BYTES = 256 * 1024 * 1024
"""The largest blob a `LocalBlobDriver` reads back: a reference naming a larger file is refused."""

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class BlobNotFound(LookupError):
    """A history references a blob that this machine's store does not have."""


class InvalidBlobReference(ApplicationError):
    """A payload reference that no store of ours wrote (malformed, outside the store, tampered with).

    References arrive with workflow inputs, update arguments and checkpoints, from whoever can
    start a workflow: they are checked before anything is read. Not retryable, so the workflow
    holding it fails with this error instead of retrying its task forever.
    """

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid blob reference: {problem}", type="InvalidBlobReference", non_retryable=True)


class LocalBlobDriver(StorageDriver):
    """Content-addressed blobs in a local directory, for a client and workers on one machine.

    Each payload is stored once under the SHA-256 of its serialized bytes, written to a
    temporary file and renamed into place, so concurrent or repeated writes are harmless and
    a reader never sees half a blob. Nothing is ever deleted.
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None, *, name: str = "durable_llm.local"):
        # Resolved now: a later chdir must not move where the references point.
        self.directory = Path(directory or default_blob_directory()).expanduser().resolve()
        # Blobs written by durable_llm 0.1, whose default directory was the user's cache.
        self._legacy = None if directory or os.environ.get(BLOB_DIRECTORY_VARIABLE) else _legacy_blob_directory()
        self._name = name

    def name(self) -> str:
        """The name references carry; must be the same on every client and worker."""
        return self._name

    def type(self) -> str:
        """The driver kind, the same for every instance."""
        return "durable_llm.local"

    def path_for(self, digest: str) -> Path:
        """Where the blob with this SHA-256 hex digest lives."""
        return self.directory / "sha256" / digest[:2] / digest

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        """Write each payload (unless already there) and return its claim."""
        blobs = [payload.SerializeToString() for payload in payloads]
        digests = await asyncio.to_thread(lambda: [self._write(blob) for blob in blobs])
        return [StorageDriverClaim(claim_data={"hash_algorithm": "sha256", "hash_value": d}) for d in digests]

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        """Read and verify the payload behind each claim (raises `InvalidBlobReference` for a bad one)."""
        digests = [_checked_digest(claim) for claim in claims]
        blobs = await asyncio.to_thread(lambda: [self._read(d) for d in digests])
        return [Payload.FromString(blob) for blob in blobs]

    def _write(self, blob: bytes) -> str:
        digest = hashlib.sha256(blob).hexdigest()
        path = self.path_for(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{digest}.{uuid.uuid4().hex}.tmp")
        with open(temporary, "wb") as file:
            file.write(blob)
            file.flush()
            # The history will point at this blob once we return: it must survive a crash.
            os.fsync(file.fileno())
        os.replace(temporary, path)
        return digest

    def _read(self, digest: str) -> bytes:
        paths = [self.path_for(digest)]
        if self._legacy is not None:
            paths.append(self._legacy / paths[0].relative_to(self.directory))
        for path in paths:
            try:
                blob = _read_regular_file(path)
                break
            except FileNotFoundError:
                continue
        else:
            raise BlobNotFound(
                f"blob sha256:{digest} is not in {self.directory}. Every client and worker must share "
                "one blob store: on several machines use s3_driver(...) instead of a local directory."
            )
        if hashlib.sha256(blob).hexdigest() != digest:
            raise InvalidBlobReference(f"blob {path} is corrupt: its content no longer matches its SHA-256 name")
        return blob


def _checked_digest(claim: StorageDriverClaim) -> str:
    """The SHA-256 hex digest a claim names, if it names one the way our stores write them."""
    algorithm, digest = claim.claim_data.get("hash_algorithm"), claim.claim_data.get("hash_value", "")
    if algorithm != "sha256" or not _SHA256_HEX.fullmatch(digest):
        shown = repr(digest[:80])
        raise InvalidBlobReference(f"expected a sha256 digest of 64 lowercase hex digits, got {algorithm!r} {shown}")
    return digest


def _read_regular_file(path: Path) -> bytes:
    """The bytes of `path` if it is a regular file (not a link, FIFO or device) of at most `MAX_BLOB_BYTES`."""
    # Non-blocking: opening a FIFO must not wait for a writer (nor hold a thread of the worker's pool).
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise InvalidBlobReference(f"{path} cannot be read as a blob: {err.strerror}") from err
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise InvalidBlobReference(f"{path} is not a regular file")
        if status.st_size > MAX_BLOB_BYTES:
            raise InvalidBlobReference(f"{path} holds {status.st_size:,} bytes, over the {MAX_BLOB_BYTES:,} read limit")
        return file.read(MAX_BLOB_BYTES + 1)


def default_blob_directory() -> Path:
    """Where blobs go by default: `$DURABLE_LLM_BLOB_DIR`, else `durable_llm/blobs` in the user's data directory.

    An absolute path that does not depend on the working directory, so a client and a worker
    started from different directories on one machine share the store. The data directory
    (`$XDG_DATA_HOME`, else `~/.local/share`), not the cache: histories need these blobs to replay.
    """
    if configured := os.environ.get(BLOB_DIRECTORY_VARIABLE):
        return Path(configured).expanduser().resolve()
    return _blobs_in("XDG_DATA_HOME", Path(".local") / "share")


def _legacy_blob_directory() -> Path:
    """Where durable_llm 0.1 put blobs by default: `durable_llm/blobs` in the user's cache directory."""
    return _blobs_in("XDG_CACHE_HOME", Path(".cache"))


def _blobs_in(variable: str, under_home: Path) -> Path:
    """`durable_llm/blobs` in the XDG directory `variable` names, else in `~/under_home`."""
    base = os.environ.get(variable) or Path.home() / under_home
    return Path(base).expanduser().resolve() / "durable_llm" / "blobs"


@asynccontextmanager
async def s3_driver(
    bucket: str,
    *,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    session: aioboto3.Session | None = None,
    driver_name: str = "aws.s3driver",
    **client_options: Any,
) -> AsyncIterator[StorageDriver]:
    """Open temporalio's S3 driver over an aioboto3 client, for clients and workers on several machines.

    Usage: `async with s3_driver("my-bucket") as driver: ...`; the S3 client is closed on exit.
    The bucket must exist. Needs the `s3` extra (`pip install 'durable-llm[s3]'`).

    Args:
        endpoint_url: an S3-compatible server (MinIO, Ceph, moto...) instead of AWS.
        client_options: passed on to `session.client("s3", ...)`, e.g. credentials or a botocore `config`.
    """
    import aioboto3
    from temporalio.contrib.aws.s3driver import S3StorageDriver
    from temporalio.contrib.aws.s3driver.aioboto3 import new_aioboto3_client

    session = session or aioboto3.Session()
    async with session.client("s3", endpoint_url=endpoint_url, region_name=region_name, **client_options) as client:
        s3 = S3StorageDriver(client=new_aioboto3_client(client), bucket=bucket, driver_name=driver_name)
        yield _CheckedS3Claims(s3, bucket)


class _CheckedS3Claims(StorageDriver):
    """temporalio's S3 driver, reading only objects it could have written: in its bucket, under a key
    ending in the claim's own SHA-256 (references come from whoever can start a workflow)."""

    def __init__(self, driver: StorageDriver, bucket: str) -> None:
        self.driver = driver
        self.bucket = bucket

    def name(self) -> str:
        return self.driver.name()

    def type(self) -> str:
        return self.driver.type()

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        return await self.driver.store(context, payloads)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        for claim in claims:
            digest = _checked_digest(claim)
            bucket, key = claim.claim_data.get("bucket", ""), claim.claim_data.get("key", "")
            if bucket != self.bucket:
                raise InvalidBlobReference(f"bucket {bucket[:80]!r} is not the store's bucket {self.bucket!r}")
            if not key.startswith("v0/") or not key.endswith(f"/d/sha256/{digest}") or "/../" in f"/{key}/":
                raise InvalidBlobReference(f"S3 key {key[:120]!r} is not one this store writes for sha256:{digest}")
        return await self.driver.retrieve(context, claims)


class CachedDriver(StorageDriver):
    """`driver` with the payloads it recently stored or retrieved kept in memory, up to `max_bytes`.

    For content-addressed drivers (`LocalBlobDriver`, temporalio's S3 driver), whose blobs never
    change once stored and are not deleted while a history may reference them. A worker reads
    back at once what it just stored (an activity's result, for its workflow) and again whenever
    it replays a workflow it had evicted; with a remote store each of those reads is a round trip.
    Carries the wrapped driver's name, so references are the same.
    """

    def __init__(self, driver: StorageDriver, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.driver = driver
        self.max_bytes = max_bytes
        self._blobs: OrderedDict[tuple[tuple[str, str], ...], bytes] = OrderedDict()
        self._claims: OrderedDict[tuple[bytes, StorageDriverStoreContext], StorageDriverClaim] = OrderedDict()
        self._size = 0
        self.hits = 0
        """How many payloads were served from memory."""

    def name(self) -> str:
        """The wrapped driver's name, which references carry."""
        return self.driver.name()

    def type(self) -> str:
        """The wrapped driver's kind."""
        return self.driver.type()

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        """Store with the wrapped driver what it was not given before, and keep each payload for the reads.

        A workflow replaying re-encodes what it produced (update results, activity inputs), so the
        same payloads come again: their claims are remembered, and they are not sent again.
        """
        blobs = [payload.SerializeToString() for payload in payloads]
        keys = [(hashlib.sha256(blob).digest(), context) for blob in blobs]
        # Taken before the store call: another store may forget some of them meanwhile.
        known = {key: self._claims[key] for key in keys if key in self._claims}
        new = [index for index, key in enumerate(keys) if key not in known]
        stored = await self.driver.store(context, [payloads[index] for index in new]) if new else []
        known.update((keys[index], claim) for index, claim in zip(new, stored, strict=True))
        claims = [known[key] for key in keys]
        for key, claim, blob in zip(keys, claims, blobs, strict=True):
            self._claims[key] = claim
            self._claims.move_to_end(key)
            self._keep(claim, blob)
        while len(self._claims) > MAX_REMEMBERED_CLAIMS:
            self._claims.popitem(last=False)
        return claims

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        """The payloads from memory where kept; the others from the wrapped driver, in one call."""
        keys = [_claim_key(claim) for claim in claims]
        kept = {key: self._blobs[key] for key in keys if key in self._blobs}
        missing = [claim for claim, key in zip(claims, keys, strict=True) if key not in kept]
        fetched = await self.driver.retrieve(context, missing) if missing else []
        found = {_claim_key(claim): payload for claim, payload in zip(missing, fetched, strict=True)}
        for key in kept.keys() & self._blobs.keys():
            self._blobs.move_to_end(key)
        for claim, payload in zip(missing, fetched, strict=True):
            self._keep(claim, payload.SerializeToString())
        self.hits += len(claims) - len(missing)
        return [Payload.FromString(kept[key]) if key in kept else found[key] for key in keys]

    def _keep(self, claim: StorageDriverClaim, blob: bytes) -> None:
        key = _claim_key(claim)
        if key in self._blobs or len(blob) > self.max_bytes:
            return
        self._blobs[key] = blob
        self._size += len(blob)
        while self._size > self.max_bytes:
            self._size -= len(self._blobs.popitem(last=False)[1])


def _claim_key(claim: StorageDriverClaim) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(claim.claim_data.items()))


def external_storage(
    driver: StorageDriver, threshold: int | None = None, *, cache_bytes: int = DEFAULT_CACHE_BYTES
) -> ExternalStorage:
    """Store payloads of at least `threshold` serialized bytes with `driver`, by reference.

    `threshold` defaults to `default_threshold(driver)`: 1 KiB for a local store, 64 KiB for a
    remote one. The driver is wrapped in a `CachedDriver` of `cache_bytes` (0: none).
    """
    cached = CachedDriver(driver, cache_bytes) if cache_bytes > 0 else driver
    threshold = default_threshold(driver) if threshold is None else threshold
    return ExternalStorage(drivers=[cached], payload_size_threshold=threshold)


def with_external_storage(converter: DataConverter, storage: StorageDriver | ExternalStorage) -> DataConverter:
    """`converter` with large payloads stored by reference (keeps its payload converter and codec).

    Payloads encoded under `kept_inline()` stay where they are whatever their size.
    """
    if isinstance(storage, StorageDriver):
        storage = external_storage(storage)
    chosen = storage.driver_selector

    def select(context: StorageDriverSelectContext, payload: Payload) -> StorageDriver | None:
        if _INLINE.get():
            return None
        return chosen(context, payload) if chosen is not None else storage.drivers[0]

    return dataclasses.replace(converter, external_storage=dataclasses.replace(storage, driver_selector=select))


_INLINE = contextvars.ContextVar("durable_llm_inline", default=False)


@contextmanager
def kept_inline() -> Iterator[None]:
    """Payloads encoded in this context, or in tasks started in it, are not stored by reference.

    For activity heartbeat details: they change at every beat, and are never written to the history.
    """
    token = _INLINE.set(True)
    try:
        yield
    finally:
        _INLINE.reset(token)


class AesGcmCodec(PayloadCodec):
    """Encrypts every payload with AES-GCM, so neither the history nor the blob store holds plain text.

    A blob-store reference (a hash, no content) passes as it is, so one can be handed on. Identical
    values no longer share a blob (each encryption draws a fresh nonce). Needs the
    `encryption` extra (`cryptography`). Set it as `DataConverter.payload_codec`.
    """

    _ENCODING = b"binary/durable-llm-aes-gcm"

    def __init__(self, key: bytes, *, key_id: str = "default"):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key)
        self._key_id = key_id.encode()

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload whole (metadata included); a blob-store reference (no content) passes as is."""
        return [payload if payload.external_payloads else self._encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt payloads this codec encrypted; pass any other payload through."""
        return [self._decrypt(p) if p.metadata.get("encoding") == self._ENCODING else p for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, payload.SerializeToString(), self._key_id)
        return Payload(metadata={"encoding": self._ENCODING, "key-id": self._key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        key_id = payload.metadata.get("key-id", b"")
        if key_id != self._key_id:
            raise ValueError(f"payload was encrypted with key {key_id.decode()!r}, not {self._key_id.decode()!r}")
        nonce, sealed = payload.data[:12], payload.data[12:]
        return Payload.FromString(self._aead.decrypt(nonce, sealed, self._key_id))
