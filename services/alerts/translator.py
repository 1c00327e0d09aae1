"""Where the alerts domain meets the contracts: integration events to directory rows and
facts someone must know."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError

from contracts import plan_events as plans_evt
from contracts import rollup as ru
from contracts import status as st
from services.alerts.domain.routing import Fact, QuarterClosed
from services.alerts.recorder import Row
from services.shared.translation import read_event

Found = Iterator[Row | Fact | QuarterClosed]


def _contact(event: plans_evt.OrganizationRegistered) -> Found:
    org = event.organization
    liaison = org.liaison
    yield "contacts", {"code": org.code, "kind": org.kind.value, "name": org.name,
                       "parent": org.parent, "liaison_name": liaison.name if liaison else None,
                       "liaison_email": str(liaison.email) if liaison else None}  # fmt: skip


def _strategies(event: plans_evt.PlanApproved | plans_evt.PlanAdjusted) -> Found:
    for area in event.plan.priority_areas:
        for strategy in area.strategies:
            yield "strategies", {
                "plan_key": event.key, "number": strategy.number,
                "organization": event.organization, "practice": strategy.practice.value,
                "if_text": strategy.theory_of_action.if_,
                "then_text": strategy.theory_of_action.then,
            }  # fmt: skip


def _figures(event: st.PeriodFiguresComputed) -> Found:
    figures = event.figures
    yield "figures", {"organization": event.organization, "period": event.period,
                      "on_time_pct": figures.actions_on_time_pct,
                      "behind_pct": figures.actions_behind_pct,
                      "completed_pct": figures.actions_completed_pct}  # fmt: skip


TOLD_BY_STATUS = {"silent", "milestone_slipped"}
"""Waning rules whose facts the status service's own events tell already (a missing
report, a slipped milestone): their flags raise no second alert (their recovery does)."""


def _waning(event: ru.ProgressWaning) -> Found:
    if event.rule in TOLD_BY_STATUS:
        return
    yield Fact("waning", event.organization, event.period, event.rule, {
        "rule": event.rule, "evidence": event.evidence,
        "strategies": [s.model_dump(mode="json") for s in event.strategies],
    })  # fmt: skip


def _recovered(event: ru.ProgressRecovered) -> Found:
    yield Fact("recovered", event.organization, event.period, event.rule, {"rule": event.rule})


def _slipped(event: st.MilestoneSlipped) -> Found:
    yield Fact("milestone_slipped", event.organization, event.period, event.milestone, {
        "milestone": event.milestone, "reason": event.reason,
        "strategies": [{"number": event.strategy, "practice": event.practice.value}],
    })  # fmt: skip


def _missing(event: st.ReportMissing) -> Found:
    yield Fact("report_missing", event.organization, event.period, "report")


def _opened(event: ru.SupportCaseOpened) -> Found:
    yield "cases", {"case_id": event.case_id, "recipient": event.recipient,
                    "addressed_to": event.addressed_to,
                    "practice": event.practice.value if event.practice else None,
                    "opened": event.opened, "status": "open"}  # fmt: skip
    if event.escalated_from is not None:
        return  # the escalation's alert tells it
    yield Fact("case_opened", event.recipient, event.opened, str(event.case_id), {
        "case_id": str(event.case_id), "to": event.addressed_to, "reason": "; ".join(event.reasons),
    }, addressed_to=event.addressed_to)  # fmt: skip


def _provided(event: ru.SupportProvided) -> Found:
    yield "cases", {"case_id": event.case_id, "status": "supported",
                    "support": f"{event.provider} on {event.on}: {event.what}"}  # fmt: skip


def _escalated(event: ru.SupportCaseEscalated) -> Found:
    yield "cases", {"case_id": event.case_id, "status": f"escalated to {event.to}"}
    yield Fact("case_escalated", event.recipient, event.period, str(event.case_id), {
        "case_id": str(event.case_id), "to": event.to,
    }, addressed_to=event.to)  # fmt: skip


def _judged(event: ru.SupportJudged) -> Found:
    verdict = "effective" if event.effective else "not effective"
    yield "cases", {"case_id": event.case_id, "verdict": f"{verdict} (on time "
                    f"{event.on_time_before}% -> {event.on_time_after}%)",
                    "status": "resolved" if event.effective else "ineffective"}  # fmt: skip
    yield Fact("support_judged", event.recipient, event.period, str(event.case_id), {
        "case_id": str(event.case_id), "reason": f"{verdict} (on time {event.on_time_before}% "
        f"-> {event.on_time_after}%)",
    }, addressed_to=event.addressed_to)  # fmt: skip


def _term(event: st.TermClosed) -> Found:
    if event.kind == "quarter":
        yield QuarterClosed(event.term, tuple(event.periods))


def _adjusted(event: plans_evt.PlanAdjusted) -> Found:
    yield from _strategies(event)
    month = event.occurred_at.strftime("%Y-%m")
    yield Fact("plan_adjusted", event.organization, month, f"{event.key}@v{event.version}", {
        "plan": event.key,
        "cause": event.cause, "justification": event.justification,
        "reason": "; ".join(event.changes),
    })  # fmt: skip


EVENTS: dict[str, tuple[type[BaseModel], Callable[[Any], Found]]] = {
    plans_evt.OrganizationRegistered.SUBJECT: (plans_evt.OrganizationRegistered, _contact),
    plans_evt.OrganizationUpdated.SUBJECT: (plans_evt.OrganizationUpdated, _contact),
    plans_evt.PlanApproved.SUBJECT: (plans_evt.PlanApproved, _strategies),
    plans_evt.PlanAdjusted.SUBJECT: (plans_evt.PlanAdjusted, _adjusted),
    st.PeriodFiguresComputed.SUBJECT: (st.PeriodFiguresComputed, _figures),
    ru.SupportProvided.SUBJECT: (ru.SupportProvided, _provided),
    ru.ProgressWaning.SUBJECT: (ru.ProgressWaning, _waning),
    ru.ProgressRecovered.SUBJECT: (ru.ProgressRecovered, _recovered),
    st.MilestoneSlipped.SUBJECT: (st.MilestoneSlipped, _slipped),
    st.ReportMissing.SUBJECT: (st.ReportMissing, _missing),
    ru.SupportCaseOpened.SUBJECT: (ru.SupportCaseOpened, _opened),
    ru.SupportCaseEscalated.SUBJECT: (ru.SupportCaseEscalated, _escalated),
    ru.SupportJudged.SUBJECT: (ru.SupportJudged, _judged),
    st.TermClosed.SUBJECT: (st.TermClosed, _term),
}


def read(relative_subject: str, body: bytes
         ) -> list[Row | Fact | QuarterClosed] | ValidationError:  # fmt: skip
    """The directory rows and facts of an integration event (none for the events alerts
    ignores), or why the event can never be read."""
    return read_event(DATED, relative_subject, body)


def rows_of(relative_subject: str, body: bytes) -> list[Row] | ValidationError:
    """Only the directory rows of an integration event (a rebuild of the directory)."""
    found = read(relative_subject, body)
    return found if isinstance(found, ValidationError) else [
        f for f in found if not isinstance(f, Fact | QuarterClosed)]  # fmt: skip


STREAM_TABLES = ["contacts", "strategies", "figures", "cases"]
"""The read models other services' events feed (each row from one event)."""


def _dated(reader: Callable[[Any], Found]) -> Callable[[Any], Found]:
    """The reader, its facts dated by the event's recorded time."""

    def read_dated(event: Any) -> Found:
        for found in reader(event):
            if isinstance(found, Fact | QuarterClosed):
                found = replace(found, occurred_at=event.occurred_at)
            yield found

    return read_dated


DATED = {subject: (contract, _dated(reader)) for subject, (contract, reader) in EVENTS.items()}
