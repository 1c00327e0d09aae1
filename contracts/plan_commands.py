"""Commands and queries of the plans service (NATS request/reply; each answers a Reply).

Subjects are ``<namespace>.<SUBJECT>``, e.g. ``spn.cmd.plans.import_plan``.
"""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from contracts.assessments import AssessmentDigest
from contracts.base import Command, Part, Versioned
from contracts.organizations import Organization, OrgCode, OrgKind
from contracts.plans import ImprovementPlan, PlanYear
from contracts.results import CommandResult

PlanRef = Annotated[
    str,
    Field(
        pattern=r"^([a-z0-9][a-z0-9-]{1,62}/\d{4}-\d{2}|[0-9a-fA-F-]{36})$",
        description="A plan key <organization>/<plan year> or the plan's UUID",
        examples=["lincoln-elementary/2026-27"],
    ),
]
Person = Annotated[str, Field(min_length=1, description="Name of the person acting")]


# -- results (the ``result`` of a successful Reply) ------------------------------------------


class PlanSummary(Part):
    id: UUID
    key: str
    organization: OrgCode
    plan_year: PlanYear
    status: str
    version: int


class PlanReturn(Part):
    by: OrgCode = Field(description="The organization that returned the plan to draft")
    reason: str


class PlanDetail(Versioned):
    SCHEMA_NAME = "plan-detail"
    summary: PlanSummary
    approved_by: OrgCode | None
    adjustments: int
    returned: PlanReturn | None = Field(
        default=None, description="Why the plan is back in draft, until submitted again")
    plan: ImprovementPlan
    self_assessments: list[AssessmentDigest] = Field(
        default_factory=list, description="The organization's latest self-assessment with "
        "each instrument, and its weakest areas (beside the plan's needs assessment)")


class HistoryEntry(Part):
    version: int
    event: str
    at: str = Field(description="When it was recorded (ISO 8601, UTC)")
    by: str | None = None
    organization: str | None = None
    details: dict[str, object] = Field(default_factory=dict)


class PlanHistory(Versioned):
    SCHEMA_NAME = "plan-history"
    summary: PlanSummary
    entries: list[HistoryEntry]


class OrganizationEntry(Part):
    code: OrgCode
    kind: OrgKind
    name: str
    parent: OrgCode | None
    liaison_name: str | None
    liaison_email: str | None
    plans: list[PlanSummary] = Field(default_factory=list)


class OrganizationList(Versioned):
    SCHEMA_NAME = "organization-list"
    organizations: list[OrganizationEntry]


class PlanList(Versioned):
    SCHEMA_NAME = "plan-list"
    plans: list[PlanSummary]


# -- commands and queries -------------------------------------------------------------------


class RegisterOrganization(Command):
    SCHEMA_NAME = "register-organization"
    SUBJECT = "cmd.plans.register_organization"
    RESULT = CommandResult
    organization: Organization


class Adjustment(Part):
    cause: str = Field(min_length=1, description="Why the approved plan must change")
    justification: str = Field(min_length=1, description="Why this change addresses the cause")


class ImportPlan(Command):
    """Draft a plan, revise a draft, or (with ``adjustment``) adjust an approved plan.
    Importing the same document again changes nothing."""

    SCHEMA_NAME = "import-plan"
    SUBJECT = "cmd.plans.import_plan"
    RESULT = CommandResult
    plan: ImprovementPlan
    by: Person
    adjustment: Adjustment | None = None
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)

    def acting(self) -> str:
        return self.plan.organization


class PlanCommand(Command):
    plan: PlanRef
    organization: OrgCode = Field(description="The organization acting")
    by: Person
    SUBJECT_PARAMETERS: ClassVar[tuple[str, ...]] = ("organization",)

    def acting(self) -> str:
        return self.organization


class SubmitPlan(PlanCommand):
    SCHEMA_NAME = "submit-plan"
    SUBJECT = "cmd.plans.submit_plan"
    RESULT = CommandResult


class ApprovePlan(PlanCommand):
    """Approve a submitted plan; only the owner's parent (the SEA for its own plan) may."""

    SCHEMA_NAME = "approve-plan"
    SUBJECT = "cmd.plans.approve_plan"
    RESULT = CommandResult


class ReturnPlan(PlanCommand):
    """Send a submitted plan back to draft, with the reason."""

    SCHEMA_NAME = "return-plan"
    SUBJECT = "cmd.plans.return_plan"
    RESULT = CommandResult
    reason: str = Field(min_length=1)


class ClosePlan(PlanCommand):
    SCHEMA_NAME = "close-plan"
    SUBJECT = "cmd.plans.close_plan"
    RESULT = CommandResult


class GetPlan(Command):
    SCHEMA_NAME = "get-plan"
    SUBJECT = "qry.plans.get_plan"
    SCOPE = "plan"
    RESULT = PlanDetail
    plan: PlanRef


class GetPlanHistory(Command):
    SCHEMA_NAME = "get-plan-history"
    SUBJECT = "qry.plans.get_plan_history"
    SCOPE = "plan"
    RESULT = PlanHistory
    plan: PlanRef


class ListOrganizations(Command):
    """The directory: an organization and every one beneath it (default: all), of a kind."""

    SCHEMA_NAME = "list-organizations"
    SUBJECT = "qry.plans.list_organizations"
    SCOPE = "organization"
    RESULT = OrganizationList
    kind: OrgKind | None = None
    organization: OrgCode | None = None


class ListPlans(Command):
    """Plans of an organization and every one beneath it (default: all), of a year."""

    SCHEMA_NAME = "list-plans"
    SUBJECT = "qry.plans.list_plans"
    SCOPE = "organization"
    RESULT = PlanList
    organization: OrgCode | None = None
    plan_year: PlanYear | None = None
