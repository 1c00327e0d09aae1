"""Errors raised by the plans domain; each names what is wrong."""

from __future__ import annotations

from contracts.plan_rules import Violation
from services.shared.errors import DomainError

__all__ = ["Violation"]  # the plan rules' own (contracts.plan_rules), raised in PlanRuleError


class PlansError(DomainError):
    """Base of every plans-domain error; ``code`` is machine-readable."""

    code = "plans_error"


class OrganizationNotFoundError(PlansError):
    code = "organization_not_found"


class OrganizationConflictError(PlansError):
    code = "organization_conflict"


class PlanNotFoundError(PlansError):
    code = "plan_not_found"


class PlanStatusError(PlansError):
    """The command does not fit the plan's lifecycle state."""

    code = "invalid_status"


class NotAuthorizedError(PlansError):
    code = "not_authorized"


class AdjustmentRequiredError(PlansError):
    """An approved plan changes only by an adjustment with a cause and justification."""

    code = "adjustment_required"


class PlanRuleError(PlansError):
    """The plan document breaks one or more of the plan's rules."""

    code = "plan_rules"

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"{first}{more}")

    def problems(self) -> list[tuple[str, str]]:
        return [(v.location, v.message) for v in self.violations]


class NoSuchVersionError(PlansError):
    """A replay asked for a version or a moment at which the plan did not exist."""

    code = "no_such_version"


class AssessmentRuleError(PlanRuleError):
    """The self-assessment does not fit its instrument."""

    code = "assessment_rules"
