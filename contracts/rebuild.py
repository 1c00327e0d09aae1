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
    problems: list[str] = Field(default_factory=list, description="Why some read models "
                                "could not be rebuilt (the events stream lacks messages)")
    not_rebuilt: list[str] = Field(default_factory=list, description="The read models of "
                                   "the problems: neither compared nor written")
    not_covered: list[str] = Field(description="Tables that are no read model of events: "
                                   "queues and records of replies, kept as they are")  # fmt: skip


class RebuildProgress(Versioned):
    """How far a rebuild is, published to the subject its request named."""

    SCHEMA_NAME = "rebuild-progress"
    service: str
    step: str = Field(description="own events, SPN_EVENTS (the stream read), or comparing")
    done: int
    total: int


class RebuildReadModels(Command):
    """Compare each read model of the service with what its event store gives (and, for
    those other services' events feed, the events stream) and, unless ``verify``, write
    them again from it (in one transaction, losing nothing written meanwhile)."""

    SCHEMA_NAME = "rebuild-read-models"
    SUBJECT = "cmd.rebuild"
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("service",)
    RESULT = ReadModelsRebuilt
    verify: bool = Field(default=False, description="Only compare; change nothing")
    table: str | None = Field(default=None, description="Only this read model")
    progress: str | None = Field(
        default=None, pattern=r"^_INBOX\.[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$",
        description="An inbox subject to publish RebuildProgress messages to")
