"""Where the status domain meets the contracts: inbound payloads to domain input, domain
events to integration events, aggregates to query results."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from contracts import plan_events as plans_evt
from contracts import status as st
from contracts.periods import plan_year_of_term, term_kind, term_periods, terms_of_plan_year
from services.shared.translation import FirstVersions, envelope
from services.status.application import StatusApplication
from services.status.domain.plan_progress import PlanProgress, plan_structure
from services.status.domain.registers import ReportingPeriod, ReportingTerm
from services.status.domain.terms import period_reported, term_figures
from services.status.recorder import Row

PLAN_EVENT_KINDS: dict[str, type[plans_evt.PlanEvent]] = {
    plans_evt.PlanApproved.SUBJECT: plans_evt.PlanApproved,
    plans_evt.PlanAdjusted.SUBJECT: plans_evt.PlanAdjusted,
    plans_evt.PlanClosed.SUBJECT: plans_evt.PlanClosed,
}


def report_input(report: st.ActionStatusReported) -> dict[str, Any]:
    """A validated report as the PlanProgress aggregate records it."""
    data = report.to_jsonable()
    data.pop("schema_version")
    return data


def plan_event_input(relative_subject: str, body: bytes) -> dict[str, Any]:
    """A plans integration event as the status application takes it (``kind`` names it;
    an organization's is its directory row)."""
    if relative_subject in ORGANIZATION_EVENTS:
        return {"kind": "organization", "row": directory_row(relative_subject, body)}
    contract = PLAN_EVENT_KINDS.get(relative_subject)
    if contract is None:
        return {"kind": "other"}
    event = contract.model_validate_json(body)
    data: dict[str, Any] = {
        "kind": relative_subject.rsplit(".", 1)[-1],
        "plan_id": str(event.plan_id),
        "key": event.key,
        "organization": event.organization,
        "plan_year": event.plan_year,
    }
    plan = getattr(event, "plan", None)
    if plan is not None:
        data["structure"] = plan_structure(plan.to_jsonable())
    return data


OrganizationEvent = plans_evt.OrganizationRegistered | plans_evt.OrganizationUpdated
ORGANIZATION_EVENTS: dict[str, type[OrganizationEvent]] = {
    plans_evt.OrganizationRegistered.SUBJECT: plans_evt.OrganizationRegistered,
    plans_evt.OrganizationUpdated.SUBJECT: plans_evt.OrganizationUpdated,
}


def directory_row(relative_subject: str, body: bytes) -> dict[str, Any]:
    """An organization event's row of the directory (code and parent)."""
    event = ORGANIZATION_EVENTS[relative_subject].model_validate_json(body)
    return {"code": event.organization.code, "parent": event.organization.parent}


def rows_of(relative_subject: str, body: bytes) -> list[Row] | ValidationError:
    """The directory rows an integration event gives (a rebuild of the directory)."""
    if relative_subject not in ORGANIZATION_EVENTS:
        return []
    try:
        return [("organizations", directory_row(relative_subject, body))]
    except ValidationError as error:
        return error


STREAM_TABLES = ["organizations"]
"""The read models other services' events feed."""


def parse_report(body: bytes) -> st.ActionStatusReported | ValidationError:
    try:
        return st.ActionStatusReported.model_validate_json(body)
    except ValidationError as error:
        return error


class EventTranslator:
    """Domain events of the status application to their integration events."""

    def __init__(self, app: StatusApplication):
        self._app = app
        self._first = FirstVersions(app.repository, ("plan_id", "key", "organization", "plan_year"))

    def __call__(self, domain_event: Any) -> st.IntegrationEvent | None:
        name = type(domain_event).__name__
        if isinstance(domain_event, ReportingPeriod.Closed):  # type: ignore[attr-defined]
            return st.PeriodClosed(
                **envelope(domain_event),
                period=domain_event.period,
                plans_evaluated=domain_event.plans_evaluated,
            )
        if isinstance(domain_event, ReportingTerm.Closed):  # type: ignore[attr-defined]
            return st.TermClosed(
                **envelope(domain_event), term=domain_event.term,
                kind=term_kind(domain_event.term),
                plan_year=plan_year_of_term(domain_event.term),
                periods=term_periods(domain_event.term),
                plans_evaluated=domain_event.plans_evaluated,
            )  # fmt: skip
        if not isinstance(domain_event, PlanProgress.Event) or name not in BUILDERS:  # type: ignore[attr-defined]
            return None
        fields = {k: v for k, v in vars(domain_event).items() if k in BUILDERS[name][1]}
        identity = self._first.of(domain_event)  # whose: never changes
        return BUILDERS[name][0](**envelope(domain_event), **identity, **fields)


BUILDERS: dict[str, tuple[type[st.StatusEvent], set[str]]] = {
    "StatusRecorded": (
        st.ActionStatusRecorded,
        {"report_id", "action", "period", "status", "completed_on"},
    ),
    "ActionOverdue": (
        st.ActionOverdue,
        {"period", "action", "strategy", "practice", "due", "days_overdue"},
    ),
    "MilestoneSlipped": (
        st.MilestoneSlipped,
        {"period", "milestone", "strategy", "practice", "due", "reason", "incomplete_actions"},
    ),
    "ReportMissing": (st.ReportMissing, {"period"}),
    "PeriodClosed": (st.PeriodFiguresComputed, {"period", "as_of", "figures", "strategies"}),
}


def progress_result(
    plan: dict[str, Any], closes: dict[str, dict[str, Any]], reports: list[dict[str, Any]],
    term: str | None = None,
) -> st.PlanProgressReport:
    """A plan's figures of each closed month and each term with one. What the reports said
    is given for the latest closed month (``reports``: of it), or, when ``term`` is asked,
    for its months and itself (``reports``: of its months) and only those are given."""
    if term:
        months, terms, told = term_periods(term), [term], set(term_periods(term))
    else:
        months = None
        terms = [t for t in terms_of_plan_year(plan["plan_year"])
                 if any(m in closes for m in term_periods(t))]  # fmt: skip
        told = {max(closes)} if closes else set()
    return st.PlanProgressReport(
        key=plan["key"],
        organization=plan["organization"],
        plan_year=plan["plan_year"],
        active=plan["active"],
        reports_recorded=plan["reports_recorded"],
        periods=[
            st.PeriodProgress(period=period, **period_reported(
                close, period, reports if period in told else None))
            for period, close in sorted(closes.items())
            if months is None or period in months
        ],
        terms=[st.TermFigures(**term_figures(t, closes, reports if term else None))
               for t in terms],
    )  # fmt: skip
