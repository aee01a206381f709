"""`follow`: a conversation's events (`durable_llm.events`) as they happen, from any process.

They are read from the conversation's workflow stream by long-poll updates, following the chat
across continue-as-new. Each event carries its `offset`: after a disconnect, `follow` again from
`offset + 1` of the last one seen and nothing is missed or repeated (events of a run that
continued as new are not kept: a follower that was away then resumes at the next run's first).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from durable_llm.events import EVENT_ADAPTER, EVENTS_TOPIC, ConversationEnded, ConversationEvent

if TYPE_CHECKING:
    from temporalio.client import Client

POLL_COOLDOWN = timedelta(milliseconds=50)
"""The least time between two polls of a follower that is caught up (each poll is a workflow update)."""

_UNPROCESSED_RETRIES = 20

_KINDS = frozenset(EVENT_ADAPTER.json_schema()["discriminator"]["mapping"])


class ConversationNotFound(LookupError):
    """No conversation (workflow) of that id on the server."""


async def follow(
    client: Client, conversation_id: str, *, from_offset: int = 0, poll_cooldown: timedelta = POLL_COOLDOWN
) -> AsyncIterator[ConversationEvent]:
    """Yield the conversation's events from `from_offset` on, as they come, until it ends.

    Ends after `ConversationEnded` (or when the workflow closed, once its retained events are
    read). Raises `ConversationNotFound` if there is no such conversation. Reading the events of
    a conversation needs one of its workers to be running (the stream lives in the workflow), and
    `client` to carry `DurableLLMPlugin` like the workers (large batches of events are stored as
    blobs, as other payloads are).
    """
    import asyncio

    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.contrib.workflow_streams import WorkflowStreamClient
    from temporalio.service import RPCError, RPCStatusCode

    stream = WorkflowStreamClient.create(client, conversation_id)
    offset, unprocessed = from_offset, 0
    while True:
        subscription = stream.subscribe([EVENTS_TOPIC], from_offset=offset, poll_cooldown=poll_cooldown)
        items = cast(AsyncGenerator[Any, None], subscription)  # an async generator, typed as an iterator
        try:
            async for item in items:
                offset, unprocessed = item.offset + 1, 0
                if not isinstance(item.data, dict) or item.data.get("kind") not in _KINDS:
                    continue  # an event a newer worker publishes: not for this client
                event = EVENT_ADAPTER.validate_python(item.data).model_copy(update={"offset": item.offset})
                yield event
                if isinstance(event, ConversationEnded):
                    return
            return
        except WorkflowUpdateFailedError as err:
            # A poll arriving with the workflow's very first task can be dropped by the worker
            # (never accepted, so asking again is safe).
            if "UnprocessedUpdate" not in str(err.cause) or unprocessed >= _UNPROCESSED_RETRIES:
                raise
            unprocessed += 1
            await asyncio.sleep(poll_cooldown.total_seconds())
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise ConversationNotFound(f"no conversation {conversation_id!r} on this Temporal server") from err
            raise
        finally:
            await items.aclose()  # stops the poll in flight, if any
