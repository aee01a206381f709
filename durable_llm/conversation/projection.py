"""Preparing a history recorded with one vendor for another: `project`, a driver over each target's `HistoryRules`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from durable_llm.conversation.base import FrozenModel
from durable_llm.conversation.messages import Message
from durable_llm.conversation.parts import (
    MediaPart,
    Part,
    ProviderPart,
    ReasoningPart,
    ReasoningToken,
    RefusalPart,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)

# What vendors append to an alias to pin a snapshot: a date, "-001", "-latest".
_VERSION_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|\d{3}|latest)$")


MediaKind = Literal["image", "audio", "video", "document", "file"]


class HistoryRules(FrozenModel):
    """What a vendor API accepts in a history, as data: `project()` changes whatever breaks a rule.

    Each provider states its own (`Provider.rules`); the projection driver reads nothing else
    about a vendor.
    """

    tokens: str | None
    """The vendor whose reasoning tokens and `ProviderPart`s it takes back (e.g. "openai");
    None takes every part as it is (a scripted model)."""
    system_messages: bool = False
    """Whether system messages may appear inside the history (else they become user text)."""
    refusals: bool = False
    """Whether it has a refusal part (else a refusal becomes text)."""
    call_id_pattern: str | None = None
    """A regular expression every tool-call id must match fully (None: any id)."""
    call_ids_optional: bool = False
    """Whether tool results are matched to calls by name and order, so a call may have no id."""
    media: frozenset[MediaKind] = Field(default=frozenset({"image", "audio", "video", "document", "file"}))
    """The media kinds messages may carry; the others become a short text note."""
    reasoning_needs_token: bool = False
    """Whether reasoning text without its vendor token is refused (it is dropped instead)."""
    call_signature: ReasoningToken | None = None
    """The placeholder token put before the first tool call of each assistant turn the vendor did
    not sign (its model is set to the target's); None: no such rule."""


ChangeAction = Literal["dropped", "rewritten", "converted", "added"]


class ProjectionChange(FrozenModel):
    """One thing `project` dropped, rewrote, converted or added."""

    action: ChangeAction
    message_index: int
    what: str
    detail: str


class ProjectionReport(FrozenModel):
    """Everything `project` changed, in history order."""

    provider: str
    model: str | None
    changes: tuple[ProjectionChange, ...] = ()

    @property
    def unchanged(self) -> bool:
        """Whether the history needed no change for the target."""
        return not self.changes

    def of(self, action: str) -> tuple[ProjectionChange, ...]:
        """The changes of one action ("dropped", "rewritten", "converted", "added")."""
        return tuple(c for c in self.changes if c.action == action)


def token_is_valid_for(token: ReasoningToken, provider: str, model: str | None) -> bool:
    """Whether an opaque reasoning token may be replayed to `provider` / `model`.

    Tokens are bound to the vendor and the model; a dated model name ("gpt-5-2025-08-07")
    counts as its alias ("gpt-5"); another snapshot or another model of the family ("gpt-5-mini")
    does not.
    """
    if token.provider != provider:
        return False
    if token.model is None or model is None:
        return True
    made_by, target = _bare(token.model), _bare(model)
    return made_by == target or _alias(made_by) == target or made_by == _alias(target)


def _bare(model: str) -> str:
    """The model name without a resource path: "models/gemini-2.5-flash" -> "gemini-2.5-flash"."""
    return model.rsplit("/", 1)[-1]


def _alias(model: str) -> str:
    """The alias a snapshot name pins: "claude-sonnet-4-5-20250929" -> "claude-sonnet-4-5"."""
    return _VERSION_SUFFIX.sub("", model)


def project(
    messages: Sequence[Message],
    provider: str | HistoryRules,
    model: str | None = None,
    *,
    keep_reasoning_text: bool = False,
) -> tuple[tuple[Message, ...], ProjectionReport]:
    """Prepare `messages` for `provider`/`model`; return the new history and what changed.

    `provider` is a registry name ("anthropic") or the target's `HistoryRules`. Whatever breaks a
    rule of the target changes, and every change is in the report:

    - Reasoning whose opaque token another vendor or model made is dropped (with
      `keep_reasoning_text`, its visible text is kept as plain assistant text instead), and so is
      reasoning without a token where the target refuses it.
    - Other vendors' `ProviderPart`s are dropped; refusals become text where the target has none;
      system messages become user text where the target takes instructions only up front.
    - Media the target does not take (audio or video to most) becomes a short text note naming it.
    - Empty text is removed (unless the target itself made it).
    - Tool-call ids are rewritten consistently (calls and their results) to match the target's
      pattern, and every call gets an id unless the target matches results by name and order.
    - Where the target wants a token before each turn's first tool call, a placeholder is added.
    """
    rules = provider if isinstance(provider, HistoryRules) else _rules_of(provider)
    name = provider if isinstance(provider, str) else (rules.tokens or "")
    changes = _ChangeLog()
    ids = _IdRewriter(rules, name)
    out: list[Message] = []
    for index, message in enumerate(messages):
        parts: list[Part] = []
        for part in message.parts:
            parts.extend(_project_part(part, index, rules, name, model, keep_reasoning_text, ids, changes))
        if rules.call_signature is not None and message.role == "assistant":
            parts = _ensure_call_signature(parts, index, rules, model, changes)
        role = message.role
        if role == "system" and not rules.system_messages:
            role = "user"
            changes.add(
                "converted", index, "system message", f"{name} takes instructions only up front; sent as user text"
            )
        if not parts:
            changes.add("dropped", index, f"{message.role} message", "nothing left after projection")
            continue
        out.append(message.model_copy(update={"parts": tuple(parts), "role": role}))
        ids.end_message(message)
    return tuple(out), ProjectionReport(provider=name, model=model, changes=tuple(changes))


def _rules_of(provider: str) -> HistoryRules:
    """The registry's rules for `provider` (the registry is asked only when a name is given)."""
    from durable_llm.providers.base import get_provider

    return get_provider(provider).rules


def _project_part(
    part: Part,
    index: int,
    rules: HistoryRules,
    name: str,
    model: str | None,
    keep_reasoning_text: bool,
    ids: _IdRewriter,
    changes: _ChangeLog,
) -> list[Part]:
    if rules.tokens is None:  # takes every part as it is
        return [part]
    if isinstance(part, ReasoningPart):
        if part.token is None or token_is_valid_for(part.token, rules.tokens, model):
            if part.token is None and rules.reasoning_needs_token and part.text:
                return _reasoning_fallback(part, index, keep_reasoning_text, changes, "it has no signature")
            return [part]
        reason = f"its token was made by {part.token.provider}/{part.token.model}"
        return _reasoning_fallback(part, index, keep_reasoning_text, changes, reason)
    if isinstance(part, ProviderPart):
        if part.provider == rules.tokens:
            return [part]
        kind = part.body.get("type") or next(iter(part.body), "item")
        changes.add("dropped", index, f"{part.provider} item {kind}", f"only {part.provider} understands it")
        return []
    if isinstance(part, RefusalPart) and not rules.refusals:
        changes.add("converted", index, "refusal", f"{name} has no refusal part; sent as text")
        return [TextPart(text=part.text)]
    if isinstance(part, TextPart | MediaPart):
        return [*_content(part, index, rules, name, changes, "")]
    if isinstance(part, ToolCallPart):
        new_id = ids.for_call(part)
        if new_id != part.id:
            changes.add("rewritten", index, f"tool call id {part.id!r}", f"now {new_id!r} for {name}")
            return [part.model_copy(update={"id": new_id})]
        return [part]
    if isinstance(part, ToolResultPart):
        update: dict[str, object] = {}
        new_id = ids.for_result(part)
        if new_id != part.call_id:
            changes.add("rewritten", index, f"tool result call id {part.call_id!r}", f"now {new_id!r} for {name}")
            update["call_id"] = new_id
        content = [
            kept for item in part.content for kept in _content(item, index, rules, name, changes, "tool result ")
        ]
        if content != list(part.content):
            update["content"] = tuple(content)
        return [part.model_copy(update=update) if update else part]
    return [part]


def _content(
    part: TextPart | MediaPart, index: int, rules: HistoryRules, name: str, changes: _ChangeLog, where: str
) -> list[TextPart | MediaPart]:
    """A text or media part as the target takes it: empty text removed, media it refuses noted as text."""
    if isinstance(part, TextPart):
        if part.text or part.citations or (rules.tokens is not None and rules.tokens in part.provider_details):
            return [part]
        changes.add("dropped", index, f"empty {where}text", f"{name} refuses empty text")
        return []
    if part.media_type in rules.media:
        return [part]
    what = " ".join(filter(None, (part.media_type, part.mime_type and f"({part.mime_type})", part.filename)))
    changes.add(
        "converted", index, f"{where}{part.media_type}", f"{name} does not take {part.media_type}; a note says so"
    )
    return [TextPart(text=f"[{what} left out: {name} does not take {part.media_type}]")]


def _reasoning_fallback(
    part: ReasoningPart, index: int, keep_text: bool, changes: _ChangeLog, reason: str
) -> list[Part]:
    visible = part.text or "\n".join(part.summary)
    if keep_text and visible:
        changes.add("converted", index, "reasoning", f"kept as text: {reason}")
        return [TextPart(text=visible)]
    changes.add("dropped", index, "reasoning", reason)
    return []


def _ensure_call_signature(
    parts: list[Part], index: int, rules: HistoryRules, model: str | None, changes: _ChangeLog
) -> list[Part]:
    for position, part in enumerate(parts):
        if isinstance(part, ToolCallPart):
            previous = parts[position - 1] if position else None
            if isinstance(previous, ReasoningPart) and previous.token is not None:
                return parts
            if rules.call_signature is None:
                return parts
            token = rules.call_signature.model_copy(update={"model": model})
            changes.add(
                "added",
                index,
                f"thought signature on {part.name}",
                f"placeholder {token.value!r}: {token.provider} did not make this call",
            )
            return [*parts[:position], ReasoningPart(token=token), *parts[position:]]
    return parts


class _ChangeLog(list[ProjectionChange]):
    """The changes `project` made so far, in history order."""

    def add(self, action: ChangeAction, index: int, what: str, detail: str):
        self.append(ProjectionChange(action=action, message_index=index, what=what, detail=detail))


MAX_CALL_ID = 64
"""Longer tool-call ids are rewritten for every target."""


class _IdRewriter:
    """Gives every tool call an id valid for the target, and its results the same id."""

    def __init__(self, rules: HistoryRules, name: str) -> None:
        self.rules = rules
        self.pattern = re.compile(rules.call_id_pattern) if rules.call_id_pattern is not None else None
        self.mapping: dict[str, list[str]] = {}  # a model may give several calls one id: answered in order
        self.used: set[str] = set()
        self.pending: list[tuple[str, str | None]] = []  # (name, new id) of calls not answered yet, in order
        self.counter = 0

    def _valid(self, call_id: str) -> bool:
        # Whatever the target's own rule, no vendor takes an id of any length (OpenAI: 64 characters).
        return len(call_id) <= MAX_CALL_ID and (self.pattern is None or bool(self.pattern.fullmatch(call_id)))

    def _fresh(self, base: str) -> str:
        candidate = base
        while candidate in self.used:
            self.counter += 1
            candidate = f"{base}_{self.counter}"
        return candidate

    def for_call(self, call: ToolCallPart) -> str | None:
        if call.id is None and self.rules.call_ids_optional:  # results are matched by name and order
            self.pending.append((call.name, None))
            return None
        if call.id is not None and self._valid(call.id) and call.id not in self.used:
            new_id = call.id
        else:
            # Short enough for every target's pattern (Chat Completions: 40), with room for a "_<n>" suffix.
            cleaned = re.sub(r"[^a-zA-Z0-9_-]", "_", call.id or "")[:32].strip("_")
            new_id = self._fresh(cleaned or f"call_{len(self.used) + 1}")
        if call.id is not None:
            self.mapping.setdefault(call.id, []).append(new_id)
        self.used.add(new_id)
        self.pending.append((call.name, new_id))
        return new_id

    def for_result(self, result: ToolResultPart) -> str | None:
        if result.call_id is not None and self.mapping.get(result.call_id):
            new_id = self.mapping[result.call_id].pop(0)
            self.pending = [p for p in self.pending if p[1] != new_id]
            return new_id
        for position, (name, new_id) in enumerate(self.pending):
            if result.call_id is None and name == result.name:
                del self.pending[position]
                return new_id
        return result.call_id

    def end_message(self, message: Message) -> None:
        """Calls are answered in the messages right after theirs; forget unanswered ones at the next call turn."""
        if message.role == "assistant" and not message.tool_calls:
            self.pending.clear()
