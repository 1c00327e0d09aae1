"""Self-assessments (seed 004, step 2): an organization's team rates each element of one
instrument (``contracts.instruments``) on a date, with evidence; the plans service stores
each as events and relays ``assessment.recorded`` on the events stream.

A file of ``spn assess import`` is one assessment, or ``{assessments: [...]}``."""

from __future__ import annotations

from datetime import date
from typing import ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Command, Part, Versioned
from contracts.instruments import ElementCode, InstrumentCode
from contracts.organizations import OrgCode
from contracts.plan_events import IntegrationEvent
from contracts.plans import MAX_ITEMS, Note, TeamMember, Text
from contracts.results import CommandResult

MAX_RATINGS = 200  # Tool C has 37 elements; the largest instrument with room to spare


class ElementRating(Part):
    """One element's rating: a level, a percentage or met / not met, as the instrument
    rates that element; and the evidence for it."""

    element: ElementCode
    level: int | None = Field(default=None, ge=1, le=9)
    percent: float | None = Field(default=None, ge=0, le=100)
    met: bool | None = None
    evidence: Note | None = None

    @model_validator(mode="after")
    def _one_rating(self) -> ElementRating:
        given = [n for n in ("level", "percent", "met") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(f"element {self.element}: give one of level, percent or met"
                             + (f", not {' and '.join(given)}" if given else ""))  # fmt: skip
        return self


class Findings(Part):
    """Strengths and weaknesses noted for one area: a Four Domains domain (1-4) for Tool C,
    a group of elements (its code) for another instrument."""

    area: str = Field(min_length=1, max_length=40, examples=["1", "ilt"])
    strengths: Note | None = None
    weaknesses: Note | None = None


class SelfAssessment(Versioned):
    """One organization's assessment with one instrument on one date."""

    SCHEMA_NAME = "self-assessment"
    organization: OrgCode
    instrument: InstrumentCode
    instrument_version: int = Field(default=1, ge=1)
    on: date = Field(description="When the team completed it")
    team: list[TeamMember] = Field(min_length=1, max_length=MAX_ITEMS)
    ratings: list[ElementRating] = Field(min_length=1, max_length=MAX_RATINGS)
    findings: list[Findings] = Field(default_factory=list, max_length=MAX_ITEMS)
    notes: Note | None = None

    @property
    def key(self) -> str:
        return assessment_key(self.organization, self.instrument, self.on)


def assessment_key(organization: str, instrument: str, on: date) -> str:
    """``lakeview-sd/tool-c/2026-09-15``."""
    return f"{organization}/{instrument}/{on.isoformat()}"


class AreaLevel(Part):
    """An area's self-assessed level: the mean of its level elements' levels, and that
    mean rounded down (a practice at 2.5 is at level 2)."""

    area: str = Field(description="A practice code (Tool C) or a group code")
    title: str
    elements: int
    mean: float
    level: int


class ElementChange(Part):
    element: str
    before: float | None = Field(description="Level, percent or 1/0 (met) in the earlier one")
    after: float | None
    change: float | None


class BarResult(Part):
    """A percent element against its bar (a BLT "at least 75%")."""

    element: str
    percent: float
    threshold: float
    met: bool


class AssessmentView(Part):
    id: UUID
    key: str
    version: int
    recorded_by: str
    assessment: SelfAssessment
    areas: list[AreaLevel] = Field(description="Per area, lowest mean first")
    weakest: list[str] = Field(description="Areas at the lowest mean")
    bars: list[BarResult] = Field(default_factory=list)
    previous: str | None = Field(description="Key of the one before it with this instrument")
    changes: list[ElementChange] = Field(default_factory=list,
                                         description="Per element, since the previous one")


class AssessmentList(Versioned):
    SCHEMA_NAME = "assessment-list"
    organization: OrgCode
    assessments: list[AssessmentView] = Field(description="Oldest first")


class AssessmentDigest(Part):
    """The latest assessment of an instrument, in brief (beside a plan)."""

    key: str
    instrument: InstrumentCode
    title: str
    on: date
    weakest: list[AreaLevel]


# -- commands and queries --------------------------------------------------------------------


class RecordAssessment(Command):
    """Record a self-assessment; the same one again changes nothing, a changed one (same
    organization, instrument and date) is revised."""

    SCHEMA_NAME = "record-assessment"
    SUBJECT = "cmd.plans.record_assessment"
    RESULT = CommandResult
    assessment: SelfAssessment
    by: Text = Field(description="Name of the person recording it")
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)

    def acting(self) -> str:
        """An organization records its own assessments."""
        return self.assessment.organization


class ListAssessments(Command):
    """An organization's self-assessments, oldest first, each with its areas' levels and
    its change since the previous one of its instrument (whether or not that one is
    listed too)."""

    SCHEMA_NAME = "list-assessments"
    SUBJECT = "qry.plans.list_assessments"
    SCOPE = "organization"
    RESULT = AssessmentList
    organization: OrgCode
    instrument: InstrumentCode | None = None
    up_to: date | None = Field(default=None, description="Only those on or before this day")
    latest: int | None = Field(default=None, ge=1, le=100, description=(
        "Only the latest this many of each instrument (after up_to); none: every one"))


class AssessmentRecorded(IntegrationEvent):
    """A self-assessment recorded or revised (the whole of it, as it now stands)."""

    SCHEMA_NAME = "assessment-recorded"
    SUBJECT = "evt.plans.assessment.recorded"
    assessment_id: UUID
    key: str
    by: str
    assessment: SelfAssessment
