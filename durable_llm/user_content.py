"""What a user may send an agent: text, or a list of parts (text, images, documents, files).

Media go by URL, by a vendor's file id, or as bytes (`attachment`): inline data travels in the
workflow history like any message, so with the plugin's blob store a large file is stored once as
a blob and the history holds its reference. Each vendor receives the parts in its own form; a
part whose kind the agent's vendor does not take is refused before any model call.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import Sequence
from typing import get_args

from durable_llm.conversation import MediaPart, Message, TextPart
from durable_llm.conversation.projection import HistoryRules, MediaKind
from durable_llm.providers.base import PROVIDERS

UserContent = str | Sequence[TextPart | MediaPart]
"""A user message: its text, or its parts in order."""

_KINDS: tuple[str, ...] = get_args(MediaKind)


def attachment(data: bytes, mime_type: str, *, filename: str | None = None) -> MediaPart:
    """A file given as bytes, e.g. `attachment(Path("receipt.pdf").read_bytes(), "application/pdf")`.

    Its kind follows the MIME type: image/*, audio/*, video/*, application/pdf (a document), else a file.
    """
    major = mime_type.partition("/")[0]
    kind = major if major in ("image", "audio", "video") else "document" if mime_type == "application/pdf" else "file"
    return MediaPart(media_type=kind, mime_type=mime_type, data=base64.b64encode(data).decode(), filename=filename)


def user_message(content: UserContent) -> Message:
    """The user message holding `content`; `ValueError` naming what is wrong if it is neither text nor parts."""
    if isinstance(content, str):
        return Message(role="user", parts=(TextPart(text=content),))
    parts = tuple(content)
    if not parts:
        raise ValueError("a message needs text or at least one part")
    for position, part in enumerate(parts):
        if not isinstance(part, (TextPart, MediaPart)):
            raise ValueError(f"part {position} of the message is a {type(part).__name__}: send TextPart or MediaPart")
        if isinstance(part, MediaPart) and not (part.url or part.data or part.file_id):
            raise ValueError(f"part {position} of the message ({part.media_type}) has no url, data or file_id")
    return Message(role="user", parts=parts)


def check_media(message: Message, provider: str) -> None:
    """Raise `ValueError` if `provider` cannot take a kind of media `message` holds.

    Providers whose rules are not known without configuring them (a plugin's own, a factory) pass.
    """
    media = [part for part in message.parts if isinstance(part, MediaPart)]
    rules = _rules(provider) if media else None
    if rules is None:
        return
    for part in media:
        if part.media_type not in rules.media:
            takes = ", ".join(kind for kind in _KINDS if kind in rules.media) or "no media"
            raise ValueError(
                f"{provider} does not take {part.media_type} ({part.mime_type or 'no MIME type'}) in a message; "
                f"it takes {takes}: send it another way (e.g. as text) or use a model of another vendor"
            )


def _rules(provider: str) -> HistoryRules | None:
    if provider not in PROVIDERS:
        return None
    module, _, attribute = PROVIDERS[provider].partition(":")
    try:
        rules = getattr(getattr(importlib.import_module(module), attribute), "rules", None)
    except (ImportError, AttributeError):  # a vendor SDK missing: the model call will say so
        return None
    return rules if isinstance(rules, HistoryRules) else None
