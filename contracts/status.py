"""Status reporting (seed 004, Tool A "Reporting Implementation Data"): monthly action status
reports in, and what slipped out.

Reports are published to the JetStream inbox ``<NS>_INBOX`` on
``<namespace>.inbox.status.<organization>``, kept while the status service is down. The
status service takes a report id once per plan, and a sender's ids are its own. Never
send the report id as ``Nats-Msg-Id``: the inbox is every organization's, and another
could take that id up first, for the stream's duplicate window (its report would be
dropped); a client that retries a publish sends a random id of its own per message.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import AfterValidator, Field, model_validator

from contracts.base import Command, Inbound, Part, Versioned
from contracts.organizations import OrgCode
from contracts.periods import term_periods
from contracts.plan_events import IntegrationEvent
from contracts.plans import (
    MAX_ITEMS,
    MAX_TEXT,
    ActionNumber,
    MilestoneNumber,
    PlanYear,
    StrategyNumber,
)
from contracts.practices import PracticeCode

PlanKey = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}/\d{4}-\d{2}$",
        description="The plan key <organization>/<plan year>",
        examples=["lakeview-high/2026-27"],
    ),
]
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _check_period(value: str) -> str:
    if not PERIOD_RE.match(value):
        raise ValueError(f"period {value!r} must be a month, YYYY-MM (e.g. 2026-10)")
    return value


Period = Annotated[str, AfterValidator(_check_period), Field(examples=["2026-10"])]


def _check_term(value: str) -> str:
    term_periods(value)  # ValueError naming the forms
    return value


Term = Annotated[str, AfterValidator(_check_term), Field(
    max_length=7, examples=["2026-Q2", "2026-S1", "2026-27"],
    description="A quarter (2026-Q2: Oct-Dec 2026), a semester (2026-S1: Jul-Dec 2026) or "
    "a plan year (2026-27), of the plan year (July to June unless SPN_PLAN_YEAR_START says "
    "otherwise)")]  # fmt: skip


class ActionStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"


class Reporter(Part):
    name: str = Field(min_length=1, max_length=200)
    organization: OrgCode = Field(description="The reporter's organization; must own the plan")
    email: str | None = Field(default=None, max_length=320)


class ActionStatusReported(Versioned, Inbound):
    """One action's status for one month (Tool A, Monthly Action Status Reporting)."""

    SCHEMA_NAME = "action-status-reported"
    SUBJECT: ClassVar[str] = "inbox.status"
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)  # appended to SUBJECT
    report_id: str = Field(
        min_length=1, max_length=200, description="Unique per report; a repeat has no effect"
    )
    plan: PlanKey
    action: ActionNumber
    period: Period
    status: ActionStatus
    completed_on: date | None = Field(default=None, description="Required when complete")
    outputs_completed: list[Annotated[str, Field(max_length=MAX_TEXT)]] = Field(
        default_factory=list, max_length=MAX_ITEMS)
    cause_and_adjustments: str | None = Field(
        default=None, max_length=MAX_TEXT, description="Cause & Adjustments Made")
    resources_used: str | None = Field(
        default=None, max_length=MAX_TEXT, description="Resources/Budget Used")
    budget_used: Decimal | None = Field(default=None, ge=0, description="Spent in the month "
                                        "reported (a term's is the sum of its months')")
    comments: str | None = Field(
        default=None, max_length=MAX_TEXT, description="Additional Information/Comments")
    reporter: Reporter
    evidence: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        default_factory=list, max_length=20,
        description="What backs the report: document names or links (a monitor's probe)",
    )  # fmt: skip

    @model_validator(mode="after")
    def _completion_date(self) -> ActionStatusReported:
        if self.status is ActionStatus.COMPLETE and self.completed_on is None:
            raise ValueError("completed_on is required when status is complete")
        if self.status is not ActionStatus.COMPLETE and self.completed_on is not None:
            raise ValueError("completed_on is only for a complete action")
        return self


def inbox_subject(namespace: str, organization: str) -> str:
    return f"{namespace}.{ActionStatusReported.SUBJECT}.{organization}"


def inbox_stream(namespace: str) -> str:
    return f"{namespace.upper().replace('-', '_')}_INBOX"


def dead_letter_stream(namespace: str) -> str:
    return f"{namespace.upper().replace('-', '_')}_DEAD_LETTERS"


class DeadLetter(Versioned):
    """A message that can never be accepted, with the machine-readable reason. Published on
    ``<namespace>.dlq.<service>.<reason>``; always small enough for the server's max payload
    (a long original is truncated: read it whole at ``source_stream`` / ``source_sequence``)."""

    SCHEMA_NAME = "dead-letter"
    SUBJECT: ClassVar[str] = "dlq"
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("service", "reason")
    service: str = Field(description="the service that could not take the message")
    reason: str = Field(
        description="invalid_payload, unknown_plan, unknown_action, plan_not_active, "
        "period_outside_plan_year, reporter_not_of_plan_organization, completed_after_period "
        "(status); invalid_event (rollup); processing_failed (any service: the message failed "
        "every retry with an error that is not an outage)"
    )
    message: str
    source_stream: str
    source_sequence: int
    source_subject: str
    report_id: str | None = None
    payload: str = Field(description="The original message body, as received (UTF-8, "
                         "undecodable bytes replaced), truncated when too long")  # fmt: skip
    payload_bytes: int | None = Field(None, description="size of the original message body")
    payload_truncated: bool = False


# -- results (the ``result`` of a successful Reply) ------------------------------------------


class ReportOutcome(Part):
    report_id: str
    outcome: str = Field(
        description="recorded (also when it came again), rejected, parked (its plan is not yet "
        "known to the status service: recorded when the plan's approval arrives) or pending"
    )
    reason: str | None = None
    message: str | None = None


class ReportOutcomes(Versioned):
    SCHEMA_NAME = "report-outcomes"
    outcomes: list[ReportOutcome]


class PeriodCloseResult(Versioned):
    SCHEMA_NAME = "period-close-result"
    period: Period
    result: str = Field(description="closed or unchanged (already closed)")
    plans_evaluated: int


# -- the Tool A figures ----------------------------------------------------------------------


class Figures(Part):
    """Tool A implementation figures as of a period's last day. Percentages are of the actions
    (or milestones) in scope; ``None`` where nothing is in scope."""

    actions_total: int
    actions_due: int = Field(description="Actions due on or before the period's last day")
    actions_completed: int
    actions_on_time: int = Field(description="Due actions completed on or before their due date")
    actions_behind: int = Field(description="Due actions not complete")
    actions_completed_pct: float | None
    actions_on_time_pct: float | None
    actions_behind_pct: float | None
    milestones_total: int
    milestones_completed: int
    milestones_completed_pct: float | None
    milestones_behind: int


class ReportedNote(Part):
    action: ActionNumber
    period: Period = Field(description="The month it was first reported in")
    text: str


class Reported(Part):
    """What the monthly reports of a span said (Tool A: Outputs Completed, Cause &
    Adjustments Made, Resources/Budget Used, Additional Information/Comments), from the
    latest report of each action for each month; each text once per action."""

    reports: int = Field(description="Reports counted: the latest of each action and month")
    outputs_completed: list[ReportedNote]
    cause_and_adjustments: list[ReportedNote]
    resources_used: list[ReportedNote]
    comments: list[ReportedNote]
    budget_used: Decimal | None = Field(description="The sum of the budget reported used")


class MilestoneFigures(Part):
    number: MilestoneNumber
    figures: Figures


class StrategyFigures(Part):
    number: StrategyNumber
    practice: PracticeCode
    figures: Figures
    milestones: list[MilestoneFigures]


class PeriodFigures(Part):
    period: Period
    as_of: date
    figures: Figures
    strategies: list[StrategyFigures]


class MilestoneProgress(MilestoneFigures):
    reported: Reported | None = Field(
        description="What the month's reports said: given for the latest closed month, or "
        "for each month of the term asked (else None)")


class StrategyProgress(StrategyFigures):
    milestones: list[MilestoneProgress]  # type: ignore[assignment]


class PeriodProgress(PeriodFigures):
    """A closed month's figures, with what its reports said of each milestone."""

    strategies: list[StrategyProgress]  # type: ignore[assignment]


class TermMilestone(Part):
    number: MilestoneNumber
    figures: Figures | None = Field(description="None: no close of the term has it")
    reported: Reported | None = Field(
        description="What the term's reports said (given for the term asked, else None); "
        "a strategy's is the union of its milestones'")


class TermStrategy(Part):
    number: StrategyNumber
    practice: PracticeCode
    figures: Figures | None
    milestones_behind: list[MilestoneNumber] = Field(
        description="Its milestones behind schedule as of the term's last closed month")
    milestones: list[TermMilestone]


class TermFigures(Part):
    """A quarter's, semester's or the year's figures: those of the close of its last
    closed month (``through``), percentages from their counts; ``closed`` once each of its
    months is. Quarters are read by milestone, semesters by strategy (Tool A)."""

    term: Term
    kind: str = Field(description="quarter, semester or year")
    periods: list[Period]
    through: Period | None = Field(description="Its last closed month (None: none yet)")
    closed: bool
    as_of: date | None
    figures: Figures | None
    strategies: list[TermStrategy]


class PlanProgressReport(Versioned):
    """Tool A "Reporting Implementation Data" of one plan: figures of each closed period."""

    SCHEMA_NAME = "plan-progress"
    key: str
    organization: OrgCode
    plan_year: PlanYear
    active: bool
    reports_recorded: int
    periods: list[PeriodProgress] = Field(description="Each closed month (of the term asked)")
    terms: list[TermFigures] = Field(
        default_factory=list, description="The term asked; else each quarter, semester and "
        "the year with a closed month")


# -- commands and queries --------------------------------------------------------------------


class ClosePeriod(Command):
    """Evaluate every active plan as of the period's last day; a second close does nothing.
    A month whose last day has not passed (UTC) is refused unless ``early``."""

    SCHEMA_NAME = "close-period"
    SUBJECT = "cmd.status.close_period"
    RESULT = PeriodCloseResult
    period: Period
    early: bool = Field(
        default=False, description="Close it although its last day has not passed (a demo or "
        "a test of a school year): reports for it that come later are refused as late, "
        "plans are judged on what was reported so far, and a close cannot be undone")


class GetReportOutcomes(Command):
    SCHEMA_NAME = "get-report-outcomes"
    SUBJECT = "qry.status.get_report_outcomes"
    SCOPE = "answer"
    RESULT = ReportOutcomes
    report_ids: list[str] = Field(min_length=1, max_length=5000)
    sender: OrgCode | None = Field(
        default=None, description="Only the reports this organization sent (its inbox's): a "
        "report id is its sender's own (default: any sender's the asker may see, a recorded "
        "one first)")


class GetPlanProgress(Command):
    """The Tool A figures of every closed month of a plan and of its quarters, semesters
    and year, with what the reports of the latest closed month said; or, for one term, of
    it and its months, with what their reports said."""

    SCHEMA_NAME = "get-plan-progress"
    SUBJECT = "qry.status.get_plan_progress"
    SCOPE = "plan"
    RESULT = PlanProgressReport
    plan: PlanKey
    term: Term | None = Field(default=None, description="Only this term and its months")


# -- integration events ----------------------------------------------------------------------


class StatusEvent(IntegrationEvent):
    plan_id: UUID
    key: str
    organization: OrgCode
    plan_year: PlanYear


class ActionStatusRecorded(StatusEvent):
    SCHEMA_NAME = "action-status-recorded"
    SUBJECT = "evt.status.action.recorded"
    report_id: str
    action: ActionNumber
    period: Period
    status: ActionStatus
    completed_on: date | None


class ActionOverdue(StatusEvent):
    SCHEMA_NAME = "action-overdue"
    SUBJECT = "evt.status.action.overdue"
    period: Period
    action: ActionNumber
    strategy: StrategyNumber
    practice: PracticeCode
    due: date
    days_overdue: int


class MilestoneSlipped(StatusEvent):
    SCHEMA_NAME = "milestone-slipped"
    SUBJECT = "evt.status.milestone.slipped"
    period: Period
    milestone: MilestoneNumber
    strategy: StrategyNumber
    practice: PracticeCode
    due: date
    reason: str = Field(description="past_due or running_late")
    incomplete_actions: list[ActionNumber]


class ReportMissing(StatusEvent):
    SCHEMA_NAME = "report-missing"
    SUBJECT = "evt.status.report.missing"
    period: Period


class TermClosed(IntegrationEvent):
    """A quarter, a semester or a plan year is closed: each of its months is (stored with
    the close of the last of them to close, after its ``period.closed``)."""

    SCHEMA_NAME = "term-closed"
    SUBJECT = "evt.status.term.closed"
    term: Term
    kind: str = Field(description="quarter, semester or year")
    plan_year: PlanYear
    periods: list[Period]
    plans_evaluated: int


class PeriodClosed(IntegrationEvent):
    """A period close is complete: every active plan's events for it came before this one."""

    SCHEMA_NAME = "period-closed"
    SUBJECT = "evt.status.period.closed"
    period: Period
    plans_evaluated: int


class PeriodFiguresComputed(StatusEvent):
    """A plan's Tool A figures at a period close, per plan, strategy and milestone."""

    SCHEMA_NAME = "period-figures-computed"
    SUBJECT = "evt.status.period.figures"
    period: Period
    as_of: date
    figures: Figures
    strategies: list[StrategyFigures]
