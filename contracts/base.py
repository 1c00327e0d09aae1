"""Base classes shared by every contract."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, model_validator


class Part(BaseModel):
    """A value inside a versioned document: strict about unknown fields, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Inbound(BaseModel):
    """What comes in from a client (a command, a report): no text with a NUL character
    anywhere within it, as PostgreSQL cannot store one (JSON can carry it as \\u0000).
    One walk of the whole value once validated; events and replies do not pay for it."""

    @model_validator(mode="after")
    def _no_nul(self) -> Any:
        # the JSON form (pydantic-core: fast) writes a NUL as \\u0000; only a value with
        # that text in it is walked, to tell a NUL from a backslash typed before "u0000"
        if b"\\u0000" in self.__pydantic_serializer__.to_json(self) and holds_nul(self):
            raise ValueError(NUL_REFUSED)
        return self


NUL_REFUSED = "text may not contain the NUL character (\\u0000)"


def holds_nul(value: Any) -> bool:
    """A NUL in this text, or in any text within these lists, mappings (their keys too)
    and contracts, however deep (a walk without recursion)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, BaseModel):
            pending.extend(vars(item).values())
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
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


class Command(Versioned, Inbound):
    """A request/reply command or query; a successful Reply carries a RESULT.

    A command an organization does as itself has ``SUBJECT_PARAMETERS = ("organization",)``
    and names it in ``acting()``: it is sent on ``<SUBJECT>.<organization>``, which NATS
    lets only that organization's credential (and the operator's) publish, and the
    service refuses one whose subject and body disagree.

    A query an organization may ask names how its answer is scoped (``SCOPE``): by the
    ``plan`` it names, by the ``organization`` it names (none: the one asking), or by its
    ``answer``. An organization asks on ``<SUBJECT>.<organization>`` and sees itself and
    what is beneath it; the operator asks on ``<SUBJECT>`` and sees everything. A query
    without a scope is the operator's only."""

    SUBJECT: ClassVar[str]
    RESULT: ClassVar[type[Versioned]]
    SCOPE: ClassVar[Literal["plan", "organization", "answer"] | None] = None

    def acting(self) -> str | None:
        """The organization that does this (None: not one organization's act)."""
        return None
