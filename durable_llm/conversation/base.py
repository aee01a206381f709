"""The base every neutral model shares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = 1
"""Version of the neutral model's JSON; bumped (with a migration) whenever its shape changes."""

ProviderDetails = dict[str, dict[str, Any]]
"""What a vendor sent that has no neutral field, under the vendor's own key (e.g. "anthropic")."""


class FrozenModel(BaseModel):
    """Immutable, strict about unknown fields, JSON-stable."""

    model_config = ConfigDict(frozen=True, extra="forbid")
