"""What a history sent to a Chat Completions server must look like."""

from durable_llm.conversation.projection import HistoryRules

RULES = HistoryRules(
    tokens="openai_chat",
    system_messages=True,
    refusals=True,
    # OpenAI refuses ids over 40 characters; these characters every compatible server takes.
    call_id_pattern=r"[a-zA-Z0-9_-]{1,40}",
    # image_url, input_audio and file content parts; no video.
    media=frozenset({"image", "audio", "document", "file"}),
)
