"""Base classes shared by every contract."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class Part(BaseModel):
    """A value inside a versioned document: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Versioned(Part):
    """A top-level document, command, reply or event; it carries its schema version."""

    SCHEMA_NAME: ClassVar[str]
    schema_version: Literal[1] = 1

    def to_json(self) -> bytes:
        """The canonical wire form (aliases, ISO dates)."""
        return self.model_dump_json(by_alias=True).encode()

    def to_jsonable(self) -> dict:
        """The canonical form as plain JSON values."""
        return self.model_dump(mode="json", by_alias=True)


class Command(Versioned):
    """A request/reply command or query; a successful Reply carries a RESULT.

    A command an organization does as itself has ``SUBJECT_PARAMETERS = ("organization",)``
    and names it in ``acting()``: it is sent on ``<SUBJECT>.<organization>``, which NATS
    lets only that organization's credential (and the operator's) publish, and the
    service refuses one whose subject and body disagree."""

    SUBJECT: ClassVar[str]
    RESULT: ClassVar[type[Versioned]]

    def acting(self) -> str | None:
        """The organization that does this (None: not one organization's act)."""
        return None
