"""Base classes shared by every contract."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, field_validator


class Part(BaseModel):
    """A value inside a versioned document: strict about unknown fields, immutable. What
    comes in (``ALLOWS_NUL = False``: commands, reports, plan files) may hold no text with a
    NUL character anywhere within it: PostgreSQL cannot store one, and JSON can carry it as
    \\u0000."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    ALLOWS_NUL: ClassVar[bool] = True

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if not cls.ALLOWS_NUL and _holds_nul(value):
            raise ValueError("text may not contain the NUL character (\\u0000)")
        return value


def _holds_nul(value: Any) -> bool:
    """A NUL in this text, or in any text within these lists, mappings (their keys too)
    and contracts."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, BaseModel):
        return any(_holds_nul(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(_holds_nul(v) for v in value)
    return False


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
    ALLOWS_NUL = False

    def acting(self) -> str | None:
        """The organization that does this (None: not one organization's act)."""
        return None
