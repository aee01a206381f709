"""The base every neutral model shares."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SerializationInfo, SerializerFunctionWrapHandler, model_serializer

SCHEMA_VERSION = 1
"""Version of the neutral model's JSON; bumped (with a migration) whenever its shape changes."""

ProviderDetails = dict[str, dict[str, Any]]
"""What a vendor sent that has no neutral field, under the vendor's own key (e.g. "anthropic")."""

ALWAYS_WRITTEN = frozenset({"kind", "schema_version"})
"""Fields written even at their defaults: the union discriminator and the JSON's version."""

WITH_DEFAULTS = {"with_defaults": True}
"""Serialisation context that writes every field, e.g. `model_dump(mode="json", context=WITH_DEFAULTS)`
for JSON meant for people or other programs rather than for reading back."""


class FrozenModel(BaseModel):
    """Immutable, strict about unknown fields, JSON-stable.

    Serialised without the fields that hold their defaults (empty details, None, zero counts),
    so a model in a workflow history or a blob costs only what it says; reading fills them back,
    and JSON with every field written (durable_llm 0.1, or `context=WITH_DEFAULTS`) reads the same.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    _defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._defaults = {
            name: field.get_default(call_default_factory=True)
            for name, field in cls.model_fields.items()
            if not field.is_required() and name not in ALWAYS_WRITTEN
        }

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: SerializerFunctionWrapHandler, info: SerializationInfo) -> Any:
        data = handler(self)
        if info.context is not None and info.context.get("with_defaults"):
            return data
        for name, default in self._defaults.items():
            if name in data and getattr(self, name) == default:
                del data[name]
        return data
