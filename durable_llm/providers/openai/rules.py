"""What a history sent to the OpenAI Responses API must look like."""

from durable_llm.conversation.projection import HistoryRules

RULES = HistoryRules(
    tokens="openai",
    system_messages=True,
    refusals=True,
    call_id_pattern=r"(?s).{1,64}",
    # `input_file` takes documents; audio and video have no Responses input part.
    media=frozenset({"image", "document", "file"}),
)
