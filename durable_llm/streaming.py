"""Answer text as the model writes it: what a worker hands to `DurableLLMPlugin(on_text=...)`.

The conversation itself never depends on it: the workflow records each model answer whole, once
the call completes. Deltas are for people watching (a chat UI, a terminal), delivered in the
worker process that runs the call; forward them to wherever your clients listen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TextDelta:
    """A piece of answer text one model call received while its answer streamed in.

    Pieces of one call share `workflow_id`, `run_id` and `call` and come in order. A call that
    fails and is retried streams its answer again from the start, with a higher `attempt`:
    drop what an earlier attempt showed.
    """

    workflow_id: str
    run_id: str
    call: str
    """The model call's activity id: unique within the workflow run."""
    attempt: int
    agent: str
    """The name of the agent whose model writes."""
    text: str


TextListener = Callable[[TextDelta], None]
"""Called in the worker's event loop for every piece of answer text; it must not block."""
