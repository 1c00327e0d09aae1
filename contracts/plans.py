"""The improvement plan in the shape of seed 004, Tool A (School Improvement Planning Template).

The same document serves schools, LEAs and the SEA. Numbering follows Tool A: priority
area ``1``, strategy ``1.1``, milestone ``1.1.1``, action ``1.1.1.1``. Field-level shape is
checked here; rules that span the document (numbering consistent with the parent, dates
inside the plan year) are the plans service's domain rules, which the CLI also runs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from contracts.base import Part, Versioned
from contracts.instruments import bar
from contracts.organizations import Contact, OrgCode
from contracts.practices import PracticeField


def _check_plan_year(value: str) -> str:
    start, end = value.split("-")
    if not 1900 <= int(start) <= 9998:
        raise ValueError(f"plan year {value!r} must begin in a year from 1900 to 9998")
    if (int(start) + 1) % 100 != int(end):
        raise ValueError(f"plan year {value!r} must name two consecutive years, e.g. 2026-27")
    return value


PlanYear = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}$", examples=["2026-27"],
          description="School year (July-June unless SPN_PLAN_YEAR_START says otherwise)"),
    AfterValidator(_check_plan_year),
]
MAX_TEXT = 10_000  # characters of one field: a paragraph of Tool A, with room to spare
MAX_ITEMS = 50  # entries of one list (outputs, team members, findings, supports ...)
MAX_ACTIONS = 1_000  # of one plan: a school's has about 64
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Note = Annotated[str, Field(max_length=MAX_TEXT)]
_PART = r"\.[1-9]\d?"  # 1-99, no leading zero: "1.01" is not another "1.1"
StrategyNumber = Annotated[str, Field(pattern=rf"^[1-4]{_PART}$", examples=["1.2"])]
MilestoneNumber = Annotated[str, Field(pattern=rf"^[1-4]{_PART}{_PART}$", examples=["1.2.1"])]
ActionNumber = Annotated[str, Field(pattern=rf"^[1-4]{_PART}{_PART}{_PART}$", examples=["1.2.1.3"])]


class EssaStatus(StrEnum):
    CSI = "CSI"
    TSI = "TSI"
    ATSI = "ATSI"
    NONE = "none"


class TitleIStatus(StrEnum):
    SCHOOLWIDE = "schoolwide"
    TARGETED = "targeted"
    NONE = "none"


class Direction(StrEnum):
    """Whether a measure improves by going up or down."""

    INCREASE = "increase"
    DECREASE = "decrease"


class TeamMember(Part):
    name: Text
    position: Text


class PlanUpdate(Part):
    on: date
    summary: Text


class AtAGlance(Part):
    date_of_plan: date
    updates: list[PlanUpdate] = Field(default_factory=list, max_length=MAX_ITEMS,
                                      description="Date of each update")
    essa_status: EssaStatus
    federal_accountability_designation: Note | None = None
    title_i: TitleIStatus = TitleIStatus.NONE
    leader: Contact | None = Field(default=None, description="Principal or superintendent")
    district_liaison: Contact = Field(
        description="The school's district liaison; for an LEA plan, its SEA contact"
    )
    leadership_team: list[TeamMember] = Field(min_length=1, max_length=MAX_ITEMS)


class Target(Part):
    year: PlanYear
    value: float
    label: Note | None = Field(default=None, examples=["At least 30%", "4% increase"])


def _check_bar(value: str) -> str:
    bar(value)
    return value


Bar = Annotated[
    str,
    Field(pattern=r"^[a-z][a-z0-9-]{1,39}/[A-Za-z0-9._-]{1,40}$",
          examples=["blt-characteristics/5.4"],
          description="A percent element of an instrument whose threshold is the target "
          "(a BLT \"at least 75%\" bar)"),
    AfterValidator(_check_bar),
]


class PerformanceMeasure(Part):
    """A goal or strategy performance measure: indicator, data source, baseline, targets.
    A measure with a ``bar`` (a BLT indicator) is judged against the bar's threshold in
    every year it names no target of its own."""

    indicator: Text
    data_source: Text
    unit: str = Field("%", max_length=40)
    direction: Direction = Direction.INCREASE
    baseline: float
    baseline_label: Note | None = Field(default=None, examples=["Gr 5: 68%"])
    bar: Bar | None = None
    targets: list[Target] = Field(default_factory=list, max_length=10,
                                  description="One per year, at least two years (none "
                                  "needed with a bar)")

    @model_validator(mode="after")
    def _targets_or_bar(self) -> PerformanceMeasure:
        if self.bar is None and len(self.targets) < 2:
            raise ValueError("a measure needs targets for at least two years, or a bar")
        if self.bar is not None and self.unit != "%":
            raise ValueError(f"a measure with a bar is a percentage (unit %), not {self.unit}")
        if self.bar is not None and self.direction is not Direction.INCREASE:
            raise ValueError("a measure with a bar (at least its threshold) has direction "
                             "increase")
        return self


class TheoryOfAction(Part):
    """If we (the practice) ..., then (adult behaviour) ..., and (student outcome) ..."""

    if_: Text = Field(alias="if")
    then: Text
    and_: Text = Field(alias="and")


class Goal(Part):
    number: int = Field(ge=1, le=4)
    statement: Text
    explanation: Text
    measures: list[PerformanceMeasure] = Field(min_length=1, max_length=10)


class StrategicDirection(Part):
    vision: Text
    mission: Text
    purpose: TheoryOfAction | None = Field(
        default=None, description="Theory of action of the improvement effort (SEA, LEA)"
    )
    goals: list[Goal] = Field(min_length=1, max_length=4)


class NeedsElement(StrEnum):
    DEMOGRAPHICS = "demographics"
    LEA_SEA_POLICIES_AND_SUPPORTS = "lea_sea_policies_and_supports"
    STUDENT_OUTCOMES = "student_outcomes"
    ACCOUNTABILITY_METRICS = "accountability_metrics"
    STUDENT_ENGAGEMENT = "student_engagement"
    STUDENT_OPPORTUNITIES = "student_opportunities"
    PERSONNEL_POLICY = "personnel_policy"
    PROFESSIONAL_PRACTICE = "professional_practice"
    CLIMATE_AND_CULTURE = "climate_and_culture"
    PERFORMANCE_MANAGEMENT = "performance_management"
    VENDOR_PARTNER_PRACTICES = "vendor_partner_practices"
    OTHER = "other"


class Finding(Part):
    finding: Text
    evidence: Text


class NeedsAssessment(Part):
    elements: list[NeedsElement] = Field(min_length=1, max_length=MAX_ITEMS)
    process: Text = Field(description="How it was completed, including root cause analysis")
    stakeholder_input: Text
    strengths: list[Finding] = Field(default_factory=list, max_length=MAX_ITEMS)
    weaknesses: list[Finding] = Field(default_factory=list, max_length=MAX_ITEMS)
    opportunities: list[Finding] = Field(default_factory=list, max_length=MAX_ITEMS)
    threats: list[Finding] = Field(default_factory=list, max_length=MAX_ITEMS)
    root_causes: list[Text] = Field(min_length=1, max_length=MAX_ITEMS)


class Action(Part):
    number: ActionNumber
    description: Text
    start: date
    due: date
    anticipated_outputs: list[Text] = Field(min_length=1, max_length=MAX_ITEMS)
    resources: Note | None = Field(default=None, description="Resources and budget source")
    budget: Decimal | None = Field(default=None, ge=0)
    person_responsible: Text
    collaborators: list[Text] = Field(default_factory=list, max_length=MAX_ITEMS)


class Milestone(Part):
    number: MilestoneNumber
    description: Text
    due: date
    actions: list[Action] = Field(min_length=1, max_length=99)


class Strategy(Part):
    number: StrategyNumber
    theory_of_action: TheoryOfAction
    practice: PracticeField = Field(
        description="Four Domains practice code, 1A-4C; lower case (3c) is accepted and "
        "stored upper case"
    )
    goals: list[int] = Field(default_factory=list, max_length=4,
                             description="Goal numbers it serves")
    measures: list[PerformanceMeasure] = Field(
        min_length=1, max_length=10,
        description='Strategy performance measures (the "then": adult behaviour)',
    )
    milestones: list[Milestone] = Field(min_length=1, max_length=99)


class PriorityArea(Part):
    number: int = Field(ge=1, le=4)
    title: Text
    strategies: list[Strategy] = Field(min_length=1, max_length=99)


class Support(Part):
    needed: Text
    provided: Note | None = None
    provider: Note | None = Field(default=None, description="Organization code or name")
    source: Note | None = Field(default=None, description="District, state, vendor ...")
    how_used: Note | None = None
    effectiveness: Note | None = None


class Signature(Part):
    name: Text
    position: Text
    role: Text


class ImprovementPlan(Versioned):
    """An organization's improvement plan for one plan year (Tool A)."""

    SCHEMA_NAME = "improvement-plan"
    organization: OrgCode
    plan_year: PlanYear
    at_a_glance: AtAGlance
    direction: StrategicDirection
    needs_assessment: NeedsAssessment
    priority_areas: list[PriorityArea] = Field(min_length=1, max_length=4)
    supports: list[Support] = Field(default_factory=list, max_length=MAX_ITEMS)
    signatures: list[Signature] = Field(default_factory=list, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _bounded(self) -> ImprovementPlan:
        actions = sum(len(m.actions) for area in self.priority_areas for s in area.strategies
                      for m in s.milestones)  # fmt: skip
        if actions > MAX_ACTIONS:
            raise ValueError(f"a plan may have at most {MAX_ACTIONS:,} actions; this one has "
                             f"{actions:,}")  # fmt: skip
        return self

    @property
    def key(self) -> str:
        return plan_key(self.organization, self.plan_year)


def plan_key(organization: str, plan_year: str) -> str:
    """The human-readable plan identifier, ``<organization>/<plan year>``."""
    return f"{organization}/{plan_year}"
