"""Rebuilding a service's read models from its own event store, or only checking them
against it (``spn rebuild SERVICE [--verify]``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from contracts.base import Command, Part, Versioned


class TableCompared(Part):
    table: str
    live: int = Field(description="Rows in the table before")
    rebuilt: int = Field(description="Rows the event store gives")
    missing: int = Field(description="Rows the store gives that the table lacks")
    extra: int = Field(description="Rows of the table the store does not give")
    different: int = Field(description="Rows of the same key with other values")
    examples: list[dict[str, Any]] = Field(description="A few of them, with what differs")


class ReadModelsRebuilt(Versioned):
    SCHEMA_NAME = "read-models-rebuilt"
    service: str
    verify: bool
    equal: bool = Field(description="Every table was what the store gives")
    rewritten: bool = Field(description="The tables were written again from the store")
    tables: list[TableCompared]
    not_covered: list[str] = Field(description="Read models fed by other services' events "
                                   "(SPN_EVENTS), not by this store")  # fmt: skip


class RebuildReadModels(Command):
    """Compare each read model fed by the service's own events with what its event store
    gives and, unless ``verify``, write them again from it (in one transaction)."""

    SCHEMA_NAME = "rebuild-read-models"
    SUBJECT = "cmd.rebuild"
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("service",)
    RESULT = ReadModelsRebuilt
    verify: bool = Field(default=False, description="Only compare; change nothing")
    table: str | None = Field(default=None, description="Only this read model")
