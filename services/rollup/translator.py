"""Where the rollup meets the contracts: integration events to read-model rows, query
results to the RollupReport contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts import assessment_rules
from contracts import assessments as asm
from contracts import plan_events as plans_evt
from contracts import status as st
from contracts.instruments import bar
from contracts.plan_events import IntegrationEvent
from contracts.practices import PRACTICES, Domain, PracticeCode
from contracts.rollup import (
    MeasureValueReported,
    ProgressRecovered,
    ProgressWaning,
    RollupReport,
    SupportCaseEscalated,
    SupportCaseOpened,
    SupportJudged,
    SupportProvided,
)
from services.rollup.domain.performance_measure import PerformanceMeasure
from services.rollup.domain.support_case import SupportCase
from services.rollup.domain.waning_flags import OrganizationWaning
from services.rollup.recorder import Row
from services.shared.translation import FirstVersions, envelope, read_event


def _organization(event: plans_evt.OrganizationRegistered) -> Iterator[Row]:
    org = event.organization
    yield "organizations", {"code": org.code, "kind": org.kind.value, "name": org.name,
                            "parent": org.parent}  # fmt: skip


def _figures(event: st.PeriodFiguresComputed) -> Iterator[Row]:
    key = {"plan_key": event.key, "organization": event.organization, "period": event.period}
    yield "plan_periods", key | {"as_of": event.as_of, "figures": _json(event.figures)}
    for strategy in event.strategies:  # its milestones in its row: 17 rows a plan, not 49
        yield "strategy_periods", key | {
            "strategy": strategy.number, "practice": strategy.practice.value,
            "figures": _json(strategy.figures),
            "milestones": [{"number": m.number, "figures": _json(m.figures)}
                           for m in strategy.milestones],
        }  # fmt: skip


def _measures(event: plans_evt.PlanApproved) -> Iterator[Row]:
    """Goal and strategy measures, named ``goal:1:1`` and ``strategy:1.2:1``."""
    plan = event.plan
    owned = [(f"goal:{g.number}", g.measures) for g in plan.direction.goals] + [
        (f"strategy:{s.number}", s.measures) for a in plan.priority_areas for s in a.strategies
    ]
    for owner, measures in owned:
        for index, measure in enumerate(measures, 1):
            yield "measures", {
                "plan_key": event.key, "measure": f"{owner}:{index}",
                "organization": event.organization, "plan_year": event.plan_year,
                "owner": owner, "indicator": measure.indicator, "unit": measure.unit,
                "direction": measure.direction.value, "baseline": measure.baseline,
                "targets": targets(measure, event.plan_year),
            }  # fmt: skip


def targets(measure: Any, plan_year: str) -> list[dict[str, Any]]:
    """A measure's targets; with a bar, the bar's threshold for a plan year it names none."""
    found = [t.model_dump(mode="json") for t in measure.targets]
    if measure.bar and not any(t["year"] == plan_year for t in found):
        code, _, element = measure.bar.partition("/")
        threshold = bar(measure.bar).threshold
        assert threshold is not None  # a bar's element is a percent one
        found.append({"year": plan_year, "value": threshold,
                      "label": f"{code} {element} bar: at least {threshold:g}%"})  # fmt: skip
    return found


def _assessment(event: asm.AssessmentRecorded) -> Iterator[Row]:
    """Each area's level of a self-assessment (a revision replaces them)."""
    done = event.assessment
    yield "assessments", {
        "organization": done.organization, "instrument": done.instrument,
        "on_date": done.on.isoformat(),
        "areas": assessment_rules.area_levels(done.to_jsonable()),
    }  # fmt: skip


def _overdue(event: st.ActionOverdue) -> Iterator[Row]:
    yield "action_overdue", {
        "plan_key": event.key, "organization": event.organization, "period": event.period,
        "action": event.action, "strategy": event.strategy, "practice": event.practice.value,
        "due": event.due, "days_overdue": event.days_overdue,
    }  # fmt: skip


def _slipped(event: st.MilestoneSlipped) -> Iterator[Row]:
    yield "milestone_slips", {
        "plan_key": event.key, "organization": event.organization, "period": event.period,
        "milestone": event.milestone, "strategy": event.strategy,
        "practice": event.practice.value, "reason": event.reason,
    }  # fmt: skip


def _missing(event: st.ReportMissing) -> Iterator[Row]:
    yield "missing_reports", {
        "plan_key": event.key, "organization": event.organization, "period": event.period
    }  # fmt: skip


EVENTS: dict[str, tuple[type[BaseModel], Callable[[Any], Iterator[Row]]]] = {
    plans_evt.OrganizationRegistered.SUBJECT: (plans_evt.OrganizationRegistered, _organization),
    plans_evt.OrganizationUpdated.SUBJECT: (plans_evt.OrganizationUpdated, _organization),
    plans_evt.PlanApproved.SUBJECT: (plans_evt.PlanApproved, _measures),
    plans_evt.PlanAdjusted.SUBJECT: (plans_evt.PlanAdjusted, _measures),
    asm.AssessmentRecorded.SUBJECT: (asm.AssessmentRecorded, _assessment),
    st.PeriodFiguresComputed.SUBJECT: (st.PeriodFiguresComputed, _figures),
    st.ActionOverdue.SUBJECT: (st.ActionOverdue, _overdue),
    st.MilestoneSlipped.SUBJECT: (st.MilestoneSlipped, _slipped),
    st.ReportMissing.SUBJECT: (st.ReportMissing, _missing),
}
SUBJECTS = tuple(EVENTS)
STREAM_TABLES = ["organizations", "plan_periods", "strategy_periods", "action_overdue",
                 "milestone_slips", "missing_reports", "measures", "assessments"]  # fmt: skip
"""The read models other services' events feed (each row from one event)."""


def rows_of(relative_subject: str, body: bytes) -> list[Row] | ValidationError:
    """The read-model rows an integration event gives (none for events rollup ignores), or
    why the event can never be read."""
    return read_event(EVENTS, relative_subject, body)


def period_closed(relative_subject: str, body: bytes) -> str | None:
    """The period of a status ``period.closed`` event (when the waning rules are judged)."""
    if relative_subject != st.PeriodClosed.SUBJECT:
        return None
    return st.PeriodClosed.model_validate_json(body).period


class EventTranslator:
    """The rollup's own domain events to their integration events."""

    def __call__(self, domain_event: Any) -> IntegrationEvent | None:
        common = envelope(domain_event)
        if isinstance(domain_event, OrganizationWaning.Raised):  # type: ignore[attr-defined]
            return ProgressWaning(
                **common, **self._first.of(domain_event),
                rule=domain_event.rule, period=domain_event.period,
                evidence=domain_event.evidence, strategies=domain_event.strategies,
            )  # fmt: skip
        if isinstance(domain_event, OrganizationWaning.Cleared):  # type: ignore[attr-defined]
            return ProgressRecovered(
                **common, **self._first.of(domain_event),
                rule=domain_event.rule, period=domain_event.period,
            )  # fmt: skip
        if isinstance(domain_event, SupportCase.Event):  # type: ignore[attr-defined]
            return self._case_event(domain_event, common)
        if isinstance(domain_event, PerformanceMeasure.ValueReported):  # type: ignore[attr-defined]
            return MeasureValueReported(
                **common, **self._measures.of(domain_event), period=domain_event.period,
                value=domain_event.value, reported_by=domain_event.by,
            )  # fmt: skip
        return None

    def _case_event(self, domain_event: Any, common: dict[str, Any]) -> IntegrationEvent | None:
        case = self._app.repository.get(
            domain_event.originator_id, version=domain_event.originator_version
        )
        common = common | {
            "case_id": case.id,
            "recipient": case.recipient,
            "addressed_to": case.addressed_to,
            "practice": case.practice,
        }
        name = type(domain_event).__name__
        if name == "Opened":
            return SupportCaseOpened(
                **common,
                opened=case.opened,
                practices=case.practices,
                reasons=case.reasons,
                escalated_from=case.escalated_from,
            )
        if name == "SupportProvided":
            support = case.support
            return SupportProvided(
                **common, provider=support["provider"], on=support["on"], what=support["what"]
            )
        if name == "Judged":
            return SupportJudged(**common, **case.judgment)
        if name == "Escalated":
            return SupportCaseEscalated(**common, to=domain_event.to, period=domain_event.period)
        return None

    def __init__(self, app: Any):
        self._app = app
        self._first = FirstVersions(app.repository, ("organization",))
        self._measures = FirstVersions(app.repository, ("plan", "measure", "organization"))


def report(result: dict[str, Any]) -> RollupReport:
    practices = [
        p | {"title": PRACTICES[PracticeCode(p["practice"])].title} for p in result["practices"]
    ]
    for practice in practices:
        if practice["self_assessed"]:
            practice["self_assessed"] = _titled(practice["self_assessed"])
    domains = [d | {"name": Domain(d["domain"]).label} for d in result["domains"]]
    assessed = [_titled(a) for a in result["self_assessed"]]
    return RollupReport.model_validate(result | {"practices": practices, "domains": domains,
                                                 "self_assessed": assessed})  # fmt: skip


def _titled(levels: dict[str, Any]) -> dict[str, Any]:
    return levels | {"title": PRACTICES[PracticeCode(levels["practice"])].title}


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
