"""Why a report can never be accepted; ``code`` is the dead-letter reason."""

from __future__ import annotations

from services.shared.errors import DomainError


class StatusError(DomainError):
    code = "status_error"


class UnknownPlanError(StatusError):
    code = "unknown_plan"


class PlanNotActiveError(StatusError):
    code = "plan_not_active"


class UnknownActionError(StatusError):
    code = "unknown_action"


class PeriodOutsidePlanYearError(StatusError):
    code = "period_outside_plan_year"


class ForeignReporterError(StatusError):
    code = "reporter_not_of_plan_organization"


class CompletedAfterPeriodError(StatusError):
    code = "completed_after_period"


class PeriodNotEndedError(StatusError):
    code = "period_not_ended"


class TermOutsidePlanYearError(StatusError):
    code = "term_outside_plan_year"
