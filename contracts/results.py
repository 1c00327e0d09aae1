"""The result every command of the plans service answers."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from contracts.base import Versioned


class CommandResult(Versioned):
    SCHEMA_NAME = "command-result"
    id: UUID
    key: str = Field(description="Organization code, plan key <organization>/<plan year>, "
                     "or assessment key <organization>/<instrument>/<date>")
    result: str = Field(
        description="registered, updated, drafted, revised, adjusted, submitted, approved, "
        "returned, closed, recorded or unchanged"
    )
    changed: bool
