"""Gemini streaming: fold a recorded stream's chunks into one body, and split a body into chunks.

`:streamGenerateContent?alt=sse` answers with server-sent events whose data is one
GenerateContentResponse each; without `alt=sse` it answers with a JSON array of the same objects.
Folding happens on the wire JSON, so the folded body is decoded by the same code as a
non-streamed response.
"""

from __future__ import annotations

import json
import re
from typing import Any

from durable_llm.providers._wire import json_type, sse_events
from durable_llm.providers.base import MalformedBody

_TEXT_PART_KEYS = frozenset({"text", "thought", "thoughtSignature"})
# A piece of streamed text: 16-32 characters, ending after whitespace where some falls there.
_TEXT_PIECE = re.compile(r".{15,31}\s|.{1,32}", re.DOTALL)


def stream_chunks(text: str) -> list[dict[str, Any]]:
    """The response objects of a recorded stream: SSE `data:` events, or a JSON array."""
    if not text.lstrip().startswith("["):
        return sse_events(text)
    try:
        chunks = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedBody("stream", f"not a JSON array: {exc}") from None
    for index, chunk in enumerate(chunks):
        if not isinstance(chunk, dict):
            raise MalformedBody(f"stream[{index}]", f"expected an object, got {json_type(chunk)}")
    return chunks


def fold_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """One response body equivalent to the streamed chunks.

    Parts are appended in order, joining adjacent text of the same kind (thought or not) and
    dropping empty text that carries nothing; a thought signature is kept on the joined part.
    Citations accumulate; every other field (usage, finish reason, grounding) takes its last value.
    """
    body: dict[str, Any] = {}
    candidates: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for key, value in chunk.items():
            if key == "candidates" and isinstance(value, list):
                body.setdefault("candidates", None)  # keep the key's place
                for candidate in value:
                    _fold_candidate(candidates, candidate)
            else:
                body[key] = value
    if "candidates" in body:
        body["candidates"] = [candidates[index] for index in sorted(candidates)]
    return body


def _fold_candidate(candidates: dict[int, dict[str, Any]], candidate: dict[str, Any]) -> None:
    folded = candidates.setdefault(candidate.get("index", 0), {})
    for key, value in candidate.items():
        if key == "content" and isinstance(value, dict):
            content = folded.setdefault("content", {})
            for content_key, content_value in value.items():
                if content_key == "parts" and isinstance(content_value, list):
                    _append_parts(content.setdefault("parts", []), content_value)
                else:
                    content[content_key] = content_value
        elif key == "citationMetadata" and isinstance(value, dict) and "citationMetadata" in folded:
            sources = folded["citationMetadata"].get("citationSources", []) + value.get("citationSources", [])
            folded["citationMetadata"] = {**value, "citationSources": sources}
        else:
            folded[key] = value


def _append_parts(parts: list[dict[str, Any]], new: list[Any]) -> None:
    for part in new:
        if not isinstance(part, dict):
            parts.append(part)  # left for the decoder to report with its path
        elif parts and _joinable(parts[-1], part):
            last = parts[-1]
            last["text"] += part["text"]
            if "thoughtSignature" in part:
                last["thoughtSignature"] = part["thoughtSignature"]
        elif part != {"text": ""}:
            parts.append(dict(part))


def _joinable(last: Any, part: dict[str, Any]) -> bool:
    return (
        isinstance(last, dict)
        and isinstance(last.get("text"), str)
        and isinstance(part.get("text"), str)
        and last.keys() <= _TEXT_PART_KEYS
        and part.keys() <= _TEXT_PART_KEYS
        and bool(last.get("thought")) == bool(part.get("thought"))
        and not ("thoughtSignature" in last and "thoughtSignature" in part)
    )


def split_body(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks a stream of `body` sends, which `fold_chunks` folds back into it: one part a chunk.

    Text is cut into pieces of 16-32 characters; other parts (function calls, media) go whole.
    Every chunk repeats the top-level fields (usage, model version, response id) as Gemini does,
    with the final usage (the fold keeps the last); the first candidate's own fields (finish
    reason, safety ratings, grounding) and the other candidates come in the last chunk. Adjacent
    text parts the fold would join, or an empty text part it would drop, come back joined or
    dropped however they are cut (no corpus body has them).
    """
    candidates = body.get("candidates")
    if not candidates:
        return [body]
    first = candidates[0]
    content = first.get("content", {})
    parts = [piece for part in content.get("parts", []) for piece in _text_pieces(part)]
    if not parts:
        return [body]
    top = {key: value for key, value in body.items() if key != "candidates"}
    index = {"index": first["index"]} if "index" in first else {}
    chunks = [{"candidates": [{"content": {**content, "parts": [part]}, **index}], **top} for part in parts]
    chunks[-1]["candidates"] = [{**first, "content": {**content, "parts": [parts[-1]]}}, *candidates[1:]]
    return chunks


def _text_pieces(part: Any) -> list[Any]:
    """`part` as the pieces `_append_parts` joins back into exactly `part` (itself if not text only)."""
    if not (isinstance(part, dict) and part.keys() <= _TEXT_PART_KEYS and isinstance(part.get("text"), str)):
        return [part]
    first, *rest = _TEXT_PIECE.findall(part["text"]) or [""]
    # The signature rides on the first piece: the rest join onto it, and it joins the part before
    # (or not) just as the whole part would; unsigned, it could join a signed text part before it.
    unsigned = {key: value for key, value in part.items() if key != "thoughtSignature"}
    return [{**part, "text": first}, *({**unsigned, "text": text} for text in rest)]
