"""A plan as it stood at a moment, rebuilt from events only: its document, status and
approvals (plans), its figures as known then (status), its flags and support cases then
(rollup); and what changed between two versions, field by field in Tool A numbering."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from contracts.base import Command, Part, Versioned
from contracts.plan_commands import PlanReturn, PlanSummary
from contracts.plans import ImprovementPlan
from contracts.status import PlanKey

AS_OF = Field(default=None, description="The moment (recorded time, UTC): the state after "
              "every event recorded at or before it")  # fmt: skip


class PlanAsOf(Versioned):
    """The plan's document as it stood after version ``summary.version``."""

    SCHEMA_NAME = "plan-as-of"
    summary: PlanSummary
    recorded_at: AwareDatetime = Field(description="When that version was recorded")
    approved_by: str | None
    adjustments: int
    returned: PlanReturn | None = Field(default=None, description="Why it was back in draft")
    plan: ImprovementPlan


class ReplayPlanDocument(Command):
    """The plan as it stood at a moment or a version (one of the two)."""

    SCHEMA_NAME = "replay-plan-document"
    SUBJECT = "qry.plans.replay"
    SCOPE = "plan"
    RESULT = PlanAsOf
    plan: PlanKey
    as_of: AwareDatetime | None = AS_OF
    version: int | None = Field(default=None, ge=1, description="The plan's version")

    @model_validator(mode="after")
    def _one_of_the_two(self) -> ReplayPlanDocument:
        if (self.as_of is None) == (self.version is None):
            raise ValueError("give as_of or version, not both or neither")
        return self


class FieldChange(Part):
    item: str = Field(description="In Tool A numbering: 'action 1.1.1.2', 'strategy 2.1', "
                      "'direction'")  # fmt: skip
    field: str = Field(description="The field of the item, e.g. 'due', 'mission'; '' when "
                       "the whole item was added or removed")  # fmt: skip
    before: Any = None
    after: Any = None


class PlanDiff(Versioned):
    SCHEMA_NAME = "plan-diff"
    plan: PlanKey
    from_version: int
    to_version: int
    changes: list[FieldChange]


class DiffPlanDocument(Command):
    """What changed in the plan's document from one version (or moment) to another."""

    SCHEMA_NAME = "diff-plan-document"
    SUBJECT = "qry.plans.diff"
    SCOPE = "plan"
    RESULT = PlanDiff
    plan: PlanKey
    from_version: int | None = Field(default=None, ge=1)
    from_time: AwareDatetime | None = None
    to_version: int | None = Field(default=None, ge=1)
    to_time: AwareDatetime | None = Field(default=None, description="Unset with to_version: now")

    @model_validator(mode="after")
    def _a_start(self) -> DiffPlanDocument:
        if (self.from_version is None) == (self.from_time is None):
            raise ValueError("give from_version or from_time, not both or neither")
        if self.to_version is not None and self.to_time is not None:
            raise ValueError("give to_version or to_time, not both")
        return self


class PlanStatusAsOf(Versioned):
    """The plan's monthly figures as the status service knew them at a moment."""

    SCHEMA_NAME = "plan-status-as-of"
    plan: PlanKey
    as_of: AwareDatetime
    adopted: bool = Field(description="Whether status was following the plan by then")
    reports_recorded: int
    periods: dict[str, dict[str, Any]] = Field(description="Each period closed by then: its "
                                               "figures as computed at its close")  # fmt: skip
    missing: list[str] = Field(description="Periods closed by then with no report")
    slipped: list[str] = Field(description="Milestones slipped by then")


class ReplayPlanStatus(Command):
    SCHEMA_NAME = "replay-plan-status"
    SUBJECT = "qry.status.replay"
    SCOPE = "plan"
    RESULT = PlanStatusAsOf
    plan: PlanKey
    as_of: AwareDatetime


class CaseAsOf(Part):
    case_id: str
    addressed_to: str
    practice: str | None
    opened: str
    status: str = Field(description="open, supported, resolved, ineffective or escalated, "
                        "as of then")  # fmt: skip


class PlanRollupAsOf(Versioned):
    """The plan's organization's open waning flags and support cases at a moment."""

    SCHEMA_NAME = "plan-rollup-as-of"
    plan: PlanKey
    as_of: AwareDatetime
    flags: dict[str, str] = Field(description="Each rule raised and not cleared by then: "
                                  "the period it was raised")  # fmt: skip
    cases: list[CaseAsOf]


class ReplayPlanRollup(Command):
    SCHEMA_NAME = "replay-plan-rollup"
    SUBJECT = "qry.rollup.replay"
    SCOPE = "plan"
    RESULT = PlanRollupAsOf
    plan: PlanKey
    as_of: AwareDatetime
