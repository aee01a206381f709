"""The base every neutral model shares."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
"""Version of the neutral model's JSON; bumped (with a migration) whenever its shape changes."""

ProviderDetails = dict[str, dict[str, Any]]
"""What a vendor sent that has no neutral field, under the vendor's own key (e.g. "anthropic")."""


class FrozenModel(BaseModel):
    """Immutable, strict about unknown fields, JSON-stable.

    A field left empty (None, or an empty tuple, dict or string, as its default) is not written,
    so a model in a workflow history or a blob costs only what it says; reading fills it back,
    and JSON with every field written (durable_llm 0.1) reads the same. Defaults with a value
    (a limit, a timeout, a count, a flag) are always written: a history then keeps what a run
    used even if a later release changes the default.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def __pydantic_on_complete__(cls) -> None:
        # Once every field is resolved (a forward reference may be defined later in its module).
        omitted = False
        for field in cls.model_fields.values():
            if field.is_required() or field.exclude_if is not None or field.default_factory_takes_validated_data:
                continue
            default = field.get_default(call_default_factory=True)
            if default is None or (isinstance(default, (tuple, dict, str)) and not default):
                field.exclude_if = _equal_to(default)
                omitted = True
        if omitted:
            cls.model_rebuild(force=True)


def _equal_to(default: Any) -> Callable[[Any], bool]:
    return lambda value: type(value) is type(default) and value == default
