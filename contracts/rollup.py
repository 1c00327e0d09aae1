"""The rollup: implementation data of the network, interlaced up the SEA/LEA chain and
across the Four Domains' practices (seed 004, steps 4-6)."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Command, Part, Versioned
from contracts.organizations import OrgCode, OrgKind
from contracts.plan_events import IntegrationEvent
from contracts.plans import PlanYear
from contracts.practices import PracticeCode, PracticeField
from contracts.status import Figures, Period


class StrategyRef(Part):
    number: str
    practice: PracticeCode


class ProgressWaning(IntegrationEvent):
    """An organization's progress is waning by one rule in one period (raised once)."""

    SCHEMA_NAME = "progress-waning"
    SUBJECT = "evt.rollup.progress.waning"
    organization: OrgCode
    rule: str = Field(description="behind, declining, lagging, silent or milestone_slipped")
    period: Period
    evidence: dict[str, Any] = Field(description="The figures the rule was judged on")
    strategies: list[StrategyRef] = Field(description="Strategies involved, with practice codes")


class ProgressRecovered(IntegrationEvent):
    """A rule that flagged an organization no longer holds."""

    SCHEMA_NAME = "progress-recovered"
    SUBJECT = "evt.rollup.progress.recovered"
    organization: OrgCode
    rule: str
    period: Period


class OrganizationFigures(Part):
    code: OrgCode
    name: str
    kind: OrgKind
    school_plans: int = Field(description="School plans with figures for the period beneath it")
    figures: Figures | None = Field(description="Summed over those school plans")


class PracticeOutcomes(Part):
    """Outcome data beside implementation: the strategy measures of the strategies coded to
    a practice (of every school beneath), as of the period."""

    measures: int
    reported: int = Field(description="With a value reported up to the period")
    on_target: int = Field(description="Whose latest value meets the plan year's target")


class SelfAssessedLevels(Part):
    """How many organizations (the one asked of and every one beneath it) rated a practice
    at each level in their latest Tool C self-assessment up to the period: a practice's
    level is the mean of its elements' levels, rounded down."""

    practice: PracticeCode
    title: str
    organizations: int = Field(description="Organizations with a Tool C self-assessment")
    levels: dict[str, int] = Field(description="Level (1-4) -> organizations at it",
                                   examples=[{"1": 0, "2": 3, "3": 1, "4": 0}])


class PracticeFigures(Part):
    practice: PracticeCode
    title: str
    domain: int
    strategies: int
    organizations: int = Field(description="Schools with a strategy coded to this practice")
    figures: Figures
    status: str = Field(
        default="no_data",
        description="waning (a flag raised in the period names a strategy on it), behind "
        "(actions behind % at or above SPN_WANING_BEHIND_PCT), on_track, or no_data "
        "(no action due yet)",
    )
    outcomes: PracticeOutcomes | None = Field(
        default=None, description="Its strategies' measures (None: none)")
    self_assessed: SelfAssessedLevels | None = Field(
        default=None, description="The levels organizations assessed themselves at on it")


class DomainFigures(Part):
    domain: int
    name: str
    strategies: int
    figures: Figures


class MeasureValue(Part):
    measure: str = Field(examples=["strategy:1.2:1", "goal:1:1"])
    indicator: str
    baseline: float
    target: float | None = Field(description="Target of the plan year")
    target_label: str | None = Field(default=None, description="How the plan words it; for a "
                                     "bar, which (\"blt-characteristics 5.4 bar: at least "
                                     "75%\")")
    value: float | None = Field(description="Latest value reported up to the period")
    period: str | None = Field(description="When that value was reported for")
    on_target: bool | None = None


class InterlacedStrategy(Part):
    """Implementation and outcome data of one strategy, set side by side."""

    number: str
    practice: PracticeCode
    status: str = Field(
        description="on_track, not_implemented (actions behind), implemented_not_working "
        "(actions on time, measure off target) or no_data"
    )
    figures: Figures | None
    measures: list[MeasureValue]


class MeasureRecorded(Versioned):
    SCHEMA_NAME = "measure-recorded"
    plan: str
    measure: str
    period: str = Field(description="YYYY-MM, or year:YYYY-YY")
    value: float
    unchanged: bool = Field(
        default=False, description="True when this very value was recorded already"
    )


class MeasureValueReported(IntegrationEvent):
    """A value of a goal or strategy measure of an approved plan, as recorded (a later value
    for the same period replaces it)."""

    SCHEMA_NAME = "measure-value-reported"
    SUBJECT = "evt.rollup.measure.reported"
    plan: str = Field(description="Plan key, <organization>/<plan year>")
    organization: OrgCode
    measure: str = Field(examples=["strategy:1.2:1", "goal:1:1"])
    period: str = Field(description="YYYY-MM, or year:YYYY-YY")
    value: float
    reported_by: str


class GoalMeasures(Part):
    """The measures of one goal of the organization's own plan (Tool A, direction)."""

    number: str
    measures: list[MeasureValue]


class WaningFlag(Part):
    organization: OrgCode
    rule: str
    period: Period
    change: str = Field(description="raised or cleared")
    evidence: dict[str, Any] | None = None
    strategies: list[StrategyRef] | None = None


class RollupReport(Versioned):
    """``network``: every school plan beneath the organization (for a school, its own plan);
    ``own_plan``: the organization's own plan; ``rows``: each child organization."""

    SCHEMA_NAME = "rollup-report"
    organization: OrganizationFigures
    period: Period | None
    periods: list[Period] = Field(description="Closed periods with figures beneath it")
    own_plan: Figures | None
    rows: list[OrganizationFigures]
    practices: list[PracticeFigures]
    domains: list[DomainFigures]
    strategies: list[InterlacedStrategy] = Field(
        default_factory=list, description="The organization's own plan, strategy by strategy"
    )
    goals: list[GoalMeasures] = Field(
        default_factory=list, description="The organization's own plan's goal measures"
    )
    self_assessed: list[SelfAssessedLevels] = Field(
        default_factory=list, description="Every practice someone beneath assessed, in order "
        "(with or without strategies coded to it)")
    judged: bool = Field(default=False, description="The period's waning rules were judged")
    flags: list[WaningFlag] = Field(
        default_factory=list, description="Flags raised or cleared in the period, beneath it"
    )


class FlagList(Versioned):
    SCHEMA_NAME = "flag-list"
    flags: list[WaningFlag] = Field(description="In period order, then by organization and rule")


# -- commands and queries --------------------------------------------------------------------


class ListFlags(Command):
    """Waning flags raised or cleared: of an organization and every one beneath it (default:
    the whole network), in one period (default: every period)."""

    SCHEMA_NAME = "list-flags"
    SUBJECT = "qry.rollup.list_flags"
    SCOPE = "organization"
    RESULT = FlagList
    organization: OrgCode | None = None
    period: Period | None = None


class GetRollup(Command):
    """Tool A figures of an organization for a closed period (default: the SEA, and the
    latest period with figures)."""

    SCHEMA_NAME = "get-rollup"
    SUBJECT = "qry.rollup.get_rollup"
    SCOPE = "organization"
    RESULT = RollupReport
    organization: OrgCode | None = None
    period: Period | None = None


class PerformanceMeasureReported(Command):
    """PerformanceMeasureReported: a value of a goal or strategy measure for a period
    (YYYY-MM) or a plan year (YYYY-YY); reporting it again replaces it."""

    SCHEMA_NAME = "performance-measure-reported"
    SUBJECT = "cmd.rollup.report_measure"
    RESULT = MeasureRecorded
    plan: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}/\d{4}-\d{2}$")
    measure: str = Field(pattern=r"^(goal:[1-4]|strategy:[1-4]\.[1-9]\d?):[1-9]\d?$")
    period: Period | None = Field(default=None, description="A month, YYYY-MM")
    year: PlanYear | None = Field(default=None, description="Or a whole plan year")
    value: float
    by: str = Field(min_length=1)
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)

    def acting(self) -> str:
        """The plan's organization reports its measures."""
        return self.plan.split("/", 1)[0]

    @model_validator(mode="after")
    def _one_of_period_or_year(self) -> PerformanceMeasureReported:
        if (self.period is None) == (self.year is None):
            raise ValueError("give either period (YYYY-MM) or year (YYYY-YY)")
        return self


# -- responsive supports ---------------------------------------------------------------------


class SupportCaseView(Versioned):
    SCHEMA_NAME = "support-case"
    case_id: UUID
    recipient: OrgCode
    addressed_to: OrgCode
    practice: PracticeCode | None = Field(description="Set when the case is about one practice")
    opened: Period
    status: str = Field(description="open, supported, resolved, ineffective or escalated")
    practices: list[PracticeCode]
    reasons: list[str]
    support: dict[str, Any] | None = None
    judgment: dict[str, Any] | None = None
    escalated_to: OrgCode | None = None
    escalated_from: UUID | None = None


class SupportCaseList(Versioned):
    SCHEMA_NAME = "support-case-list"
    cases: list[SupportCaseView]


class ListSupportCases(Command):
    SCHEMA_NAME = "list-support-cases"
    SUBJECT = "qry.rollup.list_support_cases"
    SCOPE = "organization"
    RESULT = SupportCaseList
    organization: OrgCode | None = Field(default=None, description="As recipient or addressee")
    status: str | None = None


class ProvideSupport(Command):
    """Record the support given on a case (by the organization it is addressed to)."""

    SCHEMA_NAME = "provide-support"
    SUBJECT = "cmd.rollup.provide_support"
    RESULT = SupportCaseView
    case_id: UUID
    provider: OrgCode
    practice: PracticeField | None = Field(default=None, description="1A-4C; 3c is 3C")
    on: date
    what: str = Field(min_length=1, description="What was done")
    by: str = Field(min_length=1)
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)

    def acting(self) -> str:
        """The provider records the support it gave."""
        return self.provider


class SupportCaseEvent(IntegrationEvent):
    case_id: UUID
    recipient: OrgCode
    addressed_to: OrgCode
    practice: PracticeCode | None


class SupportCaseOpened(SupportCaseEvent):
    SCHEMA_NAME = "support-case-opened"
    SUBJECT = "evt.rollup.support.opened"
    opened: Period
    practices: list[PracticeCode]
    reasons: list[str]
    escalated_from: UUID | None = None


class SupportProvided(SupportCaseEvent):
    SCHEMA_NAME = "support-provided"
    SUBJECT = "evt.rollup.support.provided"
    provider: OrgCode
    on: date
    what: str


class SupportJudged(SupportCaseEvent):
    SCHEMA_NAME = "support-judged"
    SUBJECT = "evt.rollup.support.judged"
    period: Period
    effective: bool
    on_time_before: float | None
    on_time_after: float | None


class SupportCaseEscalated(SupportCaseEvent):
    SCHEMA_NAME = "support-case-escalated"
    SUBJECT = "evt.rollup.support.escalated"
    to: OrgCode
    period: Period
