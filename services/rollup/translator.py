"""Where the rollup meets the contracts: integration events to read-model rows, query
results to the RollupReport contract."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts import plan_events as plans_evt
from contracts import status as st
from contracts.practices import PRACTICES, Domain, PracticeCode
from contracts.rollup import RollupReport
from services.rollup.recorder import Row


def _organization(event: plans_evt.OrganizationRegistered) -> Iterator[Row]:
    org = event.organization
    yield "organizations", {"code": org.code, "kind": org.kind.value, "name": org.name,
                            "parent": org.parent}  # fmt: skip


def _figures(event: st.PeriodFiguresComputed) -> Iterator[Row]:
    key = {"plan_key": event.key, "organization": event.organization, "period": event.period}
    yield "plan_periods", key | {"as_of": event.as_of, "figures": _json(event.figures)}
    for strategy in event.strategies:
        yield "strategy_periods", key | {
            "strategy": strategy.number, "practice": strategy.practice.value,
            "figures": _json(strategy.figures),
        }  # fmt: skip
        for milestone in strategy.milestones:
            yield "milestone_periods", key | {
                "milestone": milestone.number, "strategy": strategy.number,
                "figures": _json(milestone.figures),
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
    st.PeriodFiguresComputed.SUBJECT: (st.PeriodFiguresComputed, _figures),
    st.ActionOverdue.SUBJECT: (st.ActionOverdue, _overdue),
    st.MilestoneSlipped.SUBJECT: (st.MilestoneSlipped, _slipped),
    st.ReportMissing.SUBJECT: (st.ReportMissing, _missing),
}
SUBJECTS = tuple(EVENTS)


def rows_of(relative_subject: str, body: bytes) -> list[Row] | ValidationError:
    """The read-model rows an integration event gives (none for events rollup ignores), or
    why the event can never be read."""
    found = EVENTS.get(relative_subject)
    if found is None:
        return []
    contract, rows = found
    try:
        return list(rows(contract.model_validate_json(body)))
    except ValidationError as error:
        return error


def report(result: dict[str, Any]) -> RollupReport:
    practices = [
        p | {"title": PRACTICES[PracticeCode(p["practice"])].title} for p in result["practices"]
    ]
    domains = [d | {"name": Domain(d["domain"]).label} for d in result["domains"]]
    return RollupReport.model_validate(result | {"practices": practices, "domains": domains})


def _json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
