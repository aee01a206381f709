"""What a history sent to Gemini's `generateContent` must look like."""

from durable_llm.conversation import ReasoningToken
from durable_llm.conversation.projection import HistoryRules

SKIP_SIGNATURE = "skip_thought_signature_validator"
"""Google's documented placeholder signature for function calls that Gemini did not produce."""

RULES = HistoryRules(
    tokens="gemini",
    # Gemini matches function responses to calls by name and order.
    call_ids_optional=True,
    call_signature=ReasoningToken(provider="gemini", api="generate_content", value=SKIP_SIGNATURE),
)
