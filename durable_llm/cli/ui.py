"""`durable-llm ui`: a small web chat over the conversations of a Temporal server (starlette + SSE).

One page (`ui_page.PAGE`, no build step) and a JSON API: conversations, a conversation's history,
sending a message, approving a tool call, and its events as server-sent events (`durable_llm.follow`).
The page acts as the user, so: it listens on 127.0.0.1 unless told otherwise, asks for a token
when it listens elsewhere, and refuses cross-site requests (every request changing something
carries the page's CSRF token in a header, and a foreign `Origin` is refused). Errors reach the
page as a sentence, never a stack trace.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from durable_llm.agent import AgentInput, AgentResult
from durable_llm.cli.ui_page import PAGE
from durable_llm.events import Delta, Event

if TYPE_CHECKING:
    from temporalio.client import Client

    from durable_llm.agent import Agent

TOKEN_COOKIE = "durable_llm_token"
RPC_TIMEOUT = timedelta(seconds=10)
"""How long a conversation's worker has to answer before the page says none is running."""


class PageError(Exception):
    """A problem to show on the page, with its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def make_app(
    client: Client,
    new_agent: Callable[[], Agent],
    task_queue: str,
    *,
    token: str | None = None,
    temporal_ui: str | None = None,
) -> Starlette:
    """The web app. `new_agent` makes the agent of a new chat; `token`, if set, is asked of every request;
    `temporal_ui`: the Temporal UI's URL of a workflow, with `{id}` where its id goes."""
    from durable_llm.workflow import AgentWorkflow

    csrf = secrets.token_urlsafe(24)

    async def page(request: Request) -> Response:
        response = HTMLResponse(PAGE.replace("{{CSRF}}", csrf))
        if token is not None and request.query_params.get("token") == token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response

    async def conversations(request: Request) -> Response:
        from durable_llm.cli.actions import conversation_rows

        rows = await conversation_rows(client, request.query_params.get("state") or None, 50)
        return JSONResponse({"conversations": rows})

    async def start(request: Request) -> Response:
        conversation = f"chat-{uuid.uuid4().hex[:12]}"
        agent = new_agent()
        await client.start_workflow(
            AgentWorkflow.run,
            AgentInput(agent=agent, chat=True),
            id=conversation,
            task_queue=task_queue,
            memo={"agent": agent.name, "model": agent.model},
        )
        return JSONResponse({"id": conversation}, status_code=201)

    async def conversation(request: Request) -> Response:
        return JSONResponse(await _conversation(client, request.path_params["id"], temporal_ui))

    async def message(request: Request) -> Response:
        from temporalio.client import WorkflowUpdateStage

        body = await _json(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise PageError(400, "write a message first")
        handle = client.get_workflow_handle(request.path_params["id"])
        await _described(handle)
        await _bounded(
            handle.start_update(
                AgentWorkflow.send_message, text, wait_for_stage=WorkflowUpdateStage.ACCEPTED, rpc_timeout=RPC_TIMEOUT
            ),
            handle.id,
        )
        return JSONResponse({"accepted": True}, status_code=202)

    async def approve(request: Request) -> Response:
        body = await _json(request)
        call_id, approved = body.get("call_id"), body.get("approved")
        if not isinstance(call_id, str) or not isinstance(approved, bool):
            raise PageError(400, "an approval names a call_id and says approved: true or false")
        handle = client.get_workflow_handle(request.path_params["id"])
        reason = None if approved else "the user said no"
        await _bounded(
            handle.execute_update(
                AgentWorkflow.approve_tool_call, args=[call_id, approved, reason], rpc_timeout=RPC_TIMEOUT
            ),
            handle.id,
        )
        return JSONResponse({"approved": approved})

    async def events(request: Request) -> Response:
        from durable_llm.live import follow

        conversation_id = request.path_params["id"]
        await _described(client.get_workflow_handle(conversation_id))
        try:
            from_offset = max(0, int(request.query_params.get("from", "0")))
        except ValueError:
            raise PageError(400, "from must be an offset (a number)") from None
        # A browser reconnecting by itself says where it was: right after the last event it got.
        last = request.headers.get("last-event-id")
        after = _resume_point(last) if last else None

        async def stream() -> AsyncIterator[str]:
            try:
                async for event in follow(client, conversation_id, from_offset=from_offset, after=after):
                    yield f"id: {_event_id(event)}\nevent: conversation\ndata: {event.model_dump_json()}\n\n"
            except Exception as err:  # the page shows why the stream stopped
                yield f"event: problem\ndata: {json.dumps(_sentence(err, conversation_id))}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    routes = [
        Route("/", page),
        Route("/api/conversations", conversations),
        Route("/api/conversations", start, methods=["POST"]),
        Route("/api/conversations/{id}", conversation),
        Route("/api/conversations/{id}/messages", message, methods=["POST"]),
        Route("/api/conversations/{id}/approvals", approve, methods=["POST"]),
        Route("/api/conversations/{id}/events", events),
    ]

    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if token is not None and not _has_token(request, token):
            return _problem(401, "this page needs its token: open the address `durable-llm ui` printed (…/?token=…)")
        if request.method != "GET":
            origin = request.headers.get("origin")
            if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
                return _problem(403, f"cross-site request from {origin} refused")
            if not hmac.compare_digest(request.headers.get("x-csrf-token", ""), csrf):
                return _problem(403, "request refused: it does not come from this page (no CSRF token)")
        try:
            return await call_next(request)
        except PageError as err:
            return _problem(err.status, str(err))
        except Exception as err:
            conversation_id = request.path_params.get("id", "")
            status = 404 if "no conversation" in _sentence(err, conversation_id) else 502
            return _problem(status, _sentence(err, conversation_id))

    return Starlette(routes=routes, middleware=[Middleware(BaseHTTPMiddleware, dispatch=guard)])


def _event_id(event: Event) -> str:
    """An event's SSE id: what `follow(after=...)` needs to resume right after it."""
    if isinstance(event, Delta):
        place = {"offset": event.offset, "call": event.call, "attempt": event.attempt, "shown": event.shown}
        return json.dumps(place, separators=(",", ":"))
    return str(event.offset)


def _resume_point(event_id: str) -> Event:
    """The event an SSE id (`_event_id`) names, as far as `follow(after=...)` reads it."""
    from pydantic import ValidationError

    try:
        place = json.loads(event_id)
        if isinstance(place, int):
            return Event(offset=place)
        return Delta.model_validate({"delta": "text", "text": "", "agent": "", **place})
    except (ValueError, TypeError, ValidationError):
        raise PageError(400, f"Last-Event-ID {event_id[:80]!r} is not an event of this page") from None


def _has_token(request: Request, token: str) -> bool:
    given = request.cookies.get(TOKEN_COOKIE) or request.query_params.get("token") or ""
    return hmac.compare_digest(given, token)


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise PageError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise PageError(400, "the request body is not a JSON object")
    return body


async def _described(handle: Any) -> Any:
    """The conversation's description; a clear error if there is none or it is over."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.service import RPCError, RPCStatusCode

    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise PageError(404, f"no conversation {handle.id!r} on this server") from None
        raise
    if description.status != WorkflowExecutionStatus.RUNNING:
        state = description.status.name.lower() if description.status else "over"
        raise PageError(409, f"conversation {handle.id} has ended ({state}): start a new chat")
    return description


async def _bounded(call: Awaitable[Any], conversation_id: str) -> Any:
    """`call`, or a clear error when no worker answers in time."""
    try:
        return await asyncio.wait_for(call, RPC_TIMEOUT.total_seconds() + 2)
    except TimeoutError:
        raise PageError(503, _NO_WORKER.format(conversation_id)) from None


_NO_WORKER = "{} did not answer: no worker is serving its task queue (start `durable-llm worker`)"


def _sentence(err: BaseException, conversation_id: str) -> str:
    """What went wrong, for a person: the innermost message, no trace."""
    from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
    from temporalio.service import RPCError, RPCStatusCode

    from durable_llm.live import ConversationNotFound

    if isinstance(err, PageError | ConversationNotFound):
        return str(err)
    if isinstance(err, WorkflowUpdateFailedError):
        return f"refused: {err.cause.message if hasattr(err.cause, 'message') else err.cause}"  # type: ignore[union-attr]
    if isinstance(err, WorkflowUpdateRPCTimeoutOrCancelledError | TimeoutError):
        return _NO_WORKER.format(conversation_id)
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND:
            return f"no conversation {conversation_id!r} on this server"
        if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            return _NO_WORKER.format(conversation_id)
        return f"the Temporal server said: {err.message}"
    return f"something went wrong: {type(err).__name__}: {err}"


async def _conversation(client: Client, conversation_id: str, temporal_ui: str | None) -> dict[str, Any]:
    """A conversation's messages, state, usage, waiting approvals and where its next event will be."""
    from temporalio.client import WorkflowExecutionStatus
    from temporalio.contrib.workflow_streams import WorkflowStreamClient
    from temporalio.service import RPCError, RPCStatusCode

    from durable_llm.queries import read_messages
    from durable_llm.workflow import AgentWorkflow

    handle = client.get_workflow_handle(conversation_id, result_type=AgentResult)
    try:
        description = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise PageError(404, f"no conversation {conversation_id!r} on this server") from None
        raise
    pending: Sequence[Any] = ()
    running = description.status == WorkflowExecutionStatus.RUNNING
    offset = 0
    if description.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        messages, usage, turns = result.messages, result.usage, result.turns
    elif running:
        try:
            messages = await read_messages(handle, rpc_timeout=RPC_TIMEOUT)
            status = await handle.query(AgentWorkflow.status, rpc_timeout=RPC_TIMEOUT)
            offset = await asyncio.wait_for(WorkflowStreamClient.create(client, conversation_id).get_offset(), 12)
        except (RPCError, TimeoutError) as err:
            raise PageError(503, _sentence(err, conversation_id)) from None
        usage, turns, pending = status.usage, status.turns, status.pending_approvals
    else:
        state = description.status.name.lower() if description.status else "closed"
        raise PageError(409, f"conversation {conversation_id} {state}: no history to show")
    return {
        "id": conversation_id,
        "running": running,
        "state": description.status.name.lower() if description.status else "unknown",
        "model": await description.memo_value("model", default=None),
        "turns": turns,
        "usage": usage.model_dump(mode="json"),
        "messages": [m.model_dump(mode="json") for m in messages],
        "pending_approvals": [p.model_dump(mode="json") for p in pending],
        "events_from": offset,
        "temporal_ui": temporal_ui.format(id=conversation_id) if temporal_ui else None,
    }
