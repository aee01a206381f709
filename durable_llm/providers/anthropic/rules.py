"""What a history sent to Claude's Messages API must look like."""

from durable_llm.conversation.projection import HistoryRules

RULES = HistoryRules(
    tokens="anthropic",
    call_id_pattern=r"[a-zA-Z0-9_-]{1,64}",
    media=frozenset({"image", "document", "file"}),
    # Claude rejects thinking blocks without their signature.
    reasoning_needs_token=True,
)
