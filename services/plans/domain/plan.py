"""ImprovementPlan aggregate: an organization's plan for one year and its lifecycle.

draft -> submitted -> approved -> closed; a submitted plan may be returned to draft.
A school's plan is approved by its LEA, an LEA's by the SEA. After approval every change
is an adjustment that carries its cause and justification (Tool A, "Cause & Adjustments
Made"); the history keeps each one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.plan_rules import plan_violations
from services.plans.domain import ids
from services.plans.domain.errors import (
    AdjustmentRequiredError,
    NotAuthorizedError,
    PlanRuleError,
    PlanStatusError,
    Violation,
)
from services.plans.domain.plan_changes import summarize_changes


class PlanStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CLOSED = "closed"


class ImprovementPlan(Aggregate):
    """State version 2 (of snapshots) keeps the status as its text, so a snapshot read
    back gives a PlanStatus, and the last return (who returned it, and why) until the
    plan is submitted again; ``upcast_v1_v2`` reads a version 1 snapshot."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["_status"] = str(state.pop("status"))
        state["returned"] = None  # not kept by version 1 (its events have it)

    @staticmethod
    def create_id(organization_code: str, plan_year: str) -> UUID:
        return ids.plan_id(organization_code, plan_year)

    @classmethod
    def draft(cls, document: dict[str, Any], *, by: str) -> ImprovementPlan:
        check_plan_document(document)
        return cls(
            organization_code=document["organization"],
            plan_year=document["plan_year"],
            document=document,
            by=by,
        )

    @event("Drafted")
    def __init__(
        self, *, organization_code: str, plan_year: str, document: dict[str, Any], by: str
    ) -> None:
        self.organization_code = organization_code
        self.plan_year = plan_year
        self.document = document
        self._status = PlanStatus.DRAFT.value
        self.approved_by: str | None = None
        self.adjustment_count = 0
        self.returned: dict[str, str] | None = None  # by (organization) and reason

    @property
    def status(self) -> PlanStatus:
        return PlanStatus(self._status)

    @property
    def key(self) -> str:
        return f"{self.organization_code}/{self.plan_year}"

    # -- authoring -------------------------------------------------------------------------

    def revise(self, document: dict[str, Any], *, by: str) -> bool:
        """Replace a draft's document; return False when it is unchanged."""
        self._check_same_plan(document)
        if document == self.document:
            return False
        if self.status is PlanStatus.APPROVED:
            raise AdjustmentRequiredError(
                f"plan {self.key} is approved: a change must be an adjustment with a cause "
                "and a justification"
            )
        self._check_status(PlanStatus.DRAFT, "revised")
        check_plan_document(document)
        self._revise(document=document, by=by)
        return True

    @event("DraftRevised")
    def _revise(self, *, document: dict[str, Any], by: str) -> None:
        self.document = document

    def adjust(self, document: dict[str, Any], *, cause: str, justification: str, by: str) -> bool:
        """Change an approved plan; return False when the document is unchanged."""
        self._check_same_plan(document)
        if document == self.document:
            return False
        self._check_status(PlanStatus.APPROVED, "adjusted")
        if not cause.strip() or not justification.strip():
            raise AdjustmentRequiredError(
                f"an adjustment to plan {self.key} needs both a cause and a justification"
            )
        check_plan_document(document)
        changes = summarize_changes(self.document, document)
        self._adjust(
            document=document, cause=cause, justification=justification, changes=changes, by=by
        )
        return True

    @event("Adjusted")
    def _adjust(
        self,
        *,
        document: dict[str, Any],
        cause: str,
        justification: str,
        changes: list[str],
        by: str,
    ) -> None:
        self.document = document
        self.adjustment_count += 1

    # -- lifecycle -------------------------------------------------------------------------

    def submit(self, *, organization: str, by: str) -> None:
        self._check_status(PlanStatus.DRAFT, "submitted")
        if organization != self.organization_code:
            raise NotAuthorizedError(
                f"plan {self.key} can be submitted only by {self.organization_code}, "
                f"not by {organization}"
            )
        self._submit(organization=organization, by=by)

    @event("Submitted")
    def _submit(self, *, organization: str, by: str) -> None:
        self._status = PlanStatus.SUBMITTED.value
        self.returned = None

    def approve(self, *, organization: str, approver: str, by: str) -> bool:
        """``approver`` is the organization entitled to approve (the plan owner's parent).
        False when this approver approved it already: a repeat changes nothing."""
        self._check_approver(organization, approver, "approved")
        if self.status is PlanStatus.APPROVED and self.approved_by == organization:
            return False
        self._check_status(PlanStatus.SUBMITTED, "approved")
        self._approve(organization=organization, by=by)
        return True

    @event("Approved")
    def _approve(self, *, organization: str, by: str) -> None:
        self._status = PlanStatus.APPROVED.value
        self.approved_by = organization

    def return_to_draft(self, *, organization: str, approver: str, by: str, reason: str) -> None:
        self._check_approver(organization, approver, "returned")
        self._check_status(PlanStatus.SUBMITTED, "returned")
        if not reason.strip():
            raise PlanRuleError([Violation("reason", "returning a plan needs a reason")])
        self._return(organization=organization, by=by, reason=reason)

    @event("Returned")
    def _return(self, *, organization: str, by: str, reason: str) -> None:
        self._status = PlanStatus.DRAFT.value
        self.returned = {"by": organization, "reason": reason}

    def close(self, *, organization: str, approver: str, by: str) -> None:
        if organization not in (self.organization_code, approver):
            raise NotAuthorizedError(
                f"plan {self.key} can be closed only by {self.organization_code} or {approver}"
            )
        self._check_status(PlanStatus.APPROVED, "closed")
        self._close(organization=organization, by=by)

    @event("Closed")
    def _close(self, *, organization: str, by: str) -> None:
        self._status = PlanStatus.CLOSED.value

    # -- invariants ------------------------------------------------------------------------

    def _check_status(self, required: PlanStatus, verb: str) -> None:
        if self.status is not required:
            raise PlanStatusError(
                f"plan {self.key} is {self.status.value}; only a {required.value} plan "
                f"can be {verb}"
            )

    def _check_approver(self, organization: str, approver: str, verb: str) -> None:
        if organization != approver:
            raise NotAuthorizedError(
                f"plan {self.key} can be {verb} only by {approver}, not by {organization}"
            )

    def _check_same_plan(self, document: dict[str, Any]) -> None:
        if (document["organization"], document["plan_year"]) != (
            self.organization_code,
            self.plan_year,
        ):
            raise PlanRuleError([Violation("organization", f"document is not plan {self.key}")])


def check_plan_document(document: dict[str, Any]) -> None:
    """Raise PlanRuleError listing every rule of the plan the document breaks."""
    violations = plan_violations(document)
    if violations:
        raise PlanRuleError(violations)
