"""A quarter's milestone figures and a semester's strategy figures, worked out by hand from
a small plan's monthly reports and closes (the status service on the in-memory store)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from contracts import status as st
from contracts.periods import term_label, term_periods, terms_ending
from services.status.application import Delivery, StatusApplication
from services.status.domain.registers import ReportingTerm
from services.status.translator import EventTranslator, progress_result, report_input

KEY = "birch-school/2026-27"


def _action(number: str, due: str) -> dict[str, str]:
    return {"number": number, "start": "2026-09-01", "due": due}


STRUCTURE = {"strategies": [
    {"number": "1.1", "practice": "1A", "milestones": [
        {"number": "1.1.1", "due": "2026-12-15", "actions": [
            _action("1.1.1.1", "2026-10-31"), _action("1.1.1.2", "2026-11-30"),
            _action("1.1.1.3", "2027-02-28")]},
        {"number": "1.1.2", "due": "2027-05-31", "actions": [
            _action("1.1.2.1", "2026-12-31"), _action("1.1.2.2", "2027-05-31")]},
    ]},
    {"number": "1.2", "practice": "3B", "milestones": [
        {"number": "1.2.1", "due": "2026-12-31", "actions": [_action("1.2.1.1", "2026-11-15")]},
    ]},
]}  # fmt: skip

REPORTS = [  # (action, period, status, completed on, other fields)
    ("1.1.1.1", "2026-10", "complete", "2026-10-20",
     {"outputs_completed": ["agenda"], "budget_used": "100", "comments": "good start"}),
    ("1.2.1.1", "2026-10", "in_progress", None,
     {"cause_and_adjustments": "sub shortage", "resources_used": "coach"}),
    ("1.1.1.2", "2026-11", "in_progress", None,
     {"cause_and_adjustments": "testing week", "budget_used": "50"}),
    ("1.2.1.1", "2026-11", "in_progress", None, {"budget_used": "10"}),
    ("1.2.1.1", "2026-11", "complete", "2026-11-28", {"budget_used": "30"}),  # corrects it
    ("1.1.1.2", "2026-12", "complete", "2026-12-05",
     {"outputs_completed": ["sign-in sheets"], "budget_used": "20"}),
    ("1.1.2.1", "2026-12", "in_progress", None, {}),
]  # fmt: skip


def _school() -> StatusApplication:
    app = StatusApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    approved = {"kind": "approved", "plan_id": str(uuid4()), "key": KEY,
                "organization": "birch-school", "plan_year": "2026-27", "structure": STRUCTURE}
    app.commit(app.prepare_plan_events(Tracking("SPN_EVENTS", 1), [Delivery(1, approved)]))
    deliveries = []
    for n, (action, period, status, completed_on, more) in enumerate(REPORTS, 1):
        report = st.ActionStatusReported.model_validate({
            "report_id": f"r{n}", "plan": KEY, "action": action, "period": period,
            "status": status, "completed_on": completed_on,
            "reporter": {"name": "Pat", "organization": "birch-school"}, **more})
        deliveries.append(Delivery(n, report_input(report), "spn.inbox.status.birch-school",
                                   report.to_json()))  # fmt: skip
    app.commit(app.prepare_reports("SPN_STATUS_INBOX", deliveries, []))
    for period in ("2026-10", "2026-11", "2026-12"):
        assert app.close_period_step(period).finished
    return app


def _progress(app: StatusApplication, term: str | None = None) -> st.PlanProgressReport:
    closes = app.period_figures(KEY)
    months = term_periods(term) if term else [max(closes)]  # as the endpoint asks
    return progress_result(app.plan_row(KEY), closes, app.action_reports(KEY, months), term)


def _figures(found: Any) -> dict[str, Any]:
    keys = ("actions_total", "actions_due", "actions_completed", "actions_on_time",
            "actions_behind", "actions_completed_pct", "actions_on_time_pct",
            "actions_behind_pct", "milestones_completed_pct", "milestones_behind")  # fmt: skip
    return {k: v for k, v in found.figures.model_dump().items() if k in keys}


def _notes(notes: list[st.ReportedNote]) -> list[tuple[str, str, str]]:
    return [(n.action, n.period, n.text) for n in notes]


def test_a_quarters_milestone_figures_are_the_state_at_its_end_worked_out_from_counts():
    (q2,) = _progress(_school(), "2026-Q2").terms
    assert (q2.term, q2.kind, q2.through, q2.closed, str(q2.as_of)) == (
        "2026-Q2", "quarter", "2026-12", True, "2026-12-31")
    milestones = {m.number: m for s in q2.strategies for m in s.milestones}
    # 1.1.1: 3 actions, 2 due by Dec 31 and both complete; 1.1.1.2 finished Dec 5, after
    # its Nov 30 due date, so 1 of the 2 on time; past its Dec 15 due date, so behind
    assert _figures(milestones["1.1.1"]) == {
        "actions_total": 3, "actions_due": 2, "actions_completed": 2, "actions_on_time": 1,
        "actions_behind": 0, "actions_completed_pct": 66.7, "actions_on_time_pct": 50.0,
        "actions_behind_pct": 0.0, "milestones_completed_pct": 0.0, "milestones_behind": 1}
    # 1.1.2: 1.1.2.1 due Dec 31 is in progress; the milestone is due in May: not behind
    assert _figures(milestones["1.1.2"]) == {
        "actions_total": 2, "actions_due": 1, "actions_completed": 0, "actions_on_time": 0,
        "actions_behind": 1, "actions_completed_pct": 0.0, "actions_on_time_pct": 0.0,
        "actions_behind_pct": 100.0, "milestones_completed_pct": 0.0, "milestones_behind": 0}
    # 1.2.1: its one action, due Nov 15, completed Nov 28 (the month's later report)
    assert _figures(milestones["1.2.1"]) == {
        "actions_total": 1, "actions_due": 1, "actions_completed": 1, "actions_on_time": 0,
        "actions_behind": 0, "actions_completed_pct": 100.0, "actions_on_time_pct": 0.0,
        "actions_behind_pct": 0.0, "milestones_completed_pct": 100.0, "milestones_behind": 0}
    first = milestones["1.1.1"].reported
    assert _notes(first.outputs_completed) == [("1.1.1.1", "2026-10", "agenda"),
                                               ("1.1.1.2", "2026-12", "sign-in sheets")]
    assert _notes(first.cause_and_adjustments) == [("1.1.1.2", "2026-11", "testing week")]
    assert _notes(first.comments) == [("1.1.1.1", "2026-10", "good start")]
    assert (first.reports, first.budget_used) == (3, Decimal(170))
    late = milestones["1.2.1"].reported  # Nov's first report (10 used) was corrected (30)
    assert (late.reports, late.budget_used) == (2, Decimal(30))
    assert _notes(late.resources_used) == [("1.2.1.1", "2026-10", "coach")]
    assert [p.period for p in _progress(_school(), "2026-Q2").periods] == [
        "2026-10", "2026-11", "2026-12"]


def test_a_semesters_strategy_figures_add_the_milestones_counts_not_their_percentages():
    (s1,) = _progress(_school(), "2026-S1").terms
    strategies = {s.number: s for s in s1.strategies}
    first = strategies["1.1"]
    assert first.figures is not None
    # 5 actions, 3 due (1.1.1.1, 1.1.1.2, 1.1.2.1), 2 complete, 1 of them on time, 1 behind:
    # 40%, 33.3%, 33.3% (the mean of the milestones' percentages would be 33.3, 25, 50)
    assert _figures(first) == {
        "actions_total": 5, "actions_due": 3, "actions_completed": 2, "actions_on_time": 1,
        "actions_behind": 1, "actions_completed_pct": 40.0, "actions_on_time_pct": 33.3,
        "actions_behind_pct": 33.3, "milestones_completed_pct": 0.0, "milestones_behind": 1}
    assert (first.figures.milestones_total, first.milestones_behind) == (2, ["1.1.1"])
    second = strategies["1.2"]
    assert second.figures is not None and second.figures.milestones_completed_pct == 100.0
    assert second.milestones_behind == []
    assert [_notes(m.reported.cause_and_adjustments) for m in first.milestones
            if m.reported] == [[("1.1.1.2", "2026-11", "testing week")], []]
    assert s1.figures is not None and s1.figures.milestones_completed_pct == 33.3  # 1 of 3


def test_every_term_with_a_close_is_listed_and_a_term_closes_when_all_its_months_have():
    app = _school()  # October to December closed
    terms = {t.term: t for t in _progress(app).terms}
    assert list(terms) == ["2026-Q2", "2026-S1", "2026-27"]
    assert [(t.through, t.closed) for t in terms.values()] == [
        ("2026-12", True), ("2026-12", False), ("2026-12", False)]  # S1: Jul-Sep still open
    translate = EventTranslator(app)
    (q2,) = [translate(_closed_event(app, "2026-Q2"))]
    assert (q2.term, q2.kind, q2.plan_year, q2.plans_evaluated) == ("2026-Q2", "quarter",
                                                                     "2026-27", 1)  # fmt: skip
    assert list(app.events.get(ReportingTerm.create_id("2026-S1"))) == []
    for period in ("2026-08", "2026-07"):  # closed late, out of order: nothing closes yet
        app.close_period_step(period)
    assert list(app.events.get(ReportingTerm.create_id("2026-Q1"))) == []
    app.close_period_step("2026-09")  # the last of their months: Q1 and S1 close with it
    closed = [translate(_closed_event(app, t)) for t in ("2026-Q1", "2026-S1")]
    assert [(c.term, c.kind, c.periods[0], c.periods[-1]) for c in closed] == [
        ("2026-Q1", "quarter", "2026-07", "2026-09"),
        ("2026-S1", "semester", "2026-07", "2026-12")]
    app.close_period_step("2026-09")  # again: nothing more
    assert len(list(app.events.get(ReportingTerm.create_id("2026-S1")))) == 1
    assert list(app.events.get(ReportingTerm.create_id("2026-Q3"))) == []  # not yet ended


def _closed_event(app: StatusApplication, term: str) -> Any:
    (closed,) = app.events.get(ReportingTerm.create_id(term))
    return closed


def test_each_month_lists_what_its_reports_said_of_each_milestone():
    everything = _progress(_school())
    assert [p.period for p in everything.periods if any(
        m.reported for s in p.strategies for m in s.milestones)] == ["2026-12"]  # the latest
    assert all(m.reported is None for t in everything.terms for s in t.strategies
               for m in s.milestones)  # a term's, when it is asked
    november = _progress(_school(), "2026-Q2").periods[1]
    assert november.period == "2026-11"
    milestones = {m.number: m.reported for s in november.strategies for m in s.milestones}
    assert (milestones["1.2.1"].reports, milestones["1.2.1"].budget_used) == (1, Decimal(30))
    assert _notes(milestones["1.1.1"].cause_and_adjustments) == [
        ("1.1.1.2", "2026-11", "testing week")]
    assert milestones["1.1.2"].reports == 0 and milestones["1.1.2"].budget_used is None


@pytest.mark.parametrize(("term", "months"), [
    ("2026-Q1", ["2026-07", "2026-08", "2026-09"]),
    ("2026-Q3", ["2027-01", "2027-02", "2027-03"]),
    ("2026-S2", ["2027-01", "2027-02", "2027-03", "2027-04", "2027-05", "2027-06"]),
])  # fmt: skip
def test_terms_follow_the_plan_year_from_july(term, months):
    assert term_periods(term) == months
    assert term in terms_ending(months[-1])


def test_a_term_that_is_none_is_refused_in_words_that_name_the_forms():
    for bad in ("2026-Q5", "2026-S3", "2026-28", "26-Q1", "2026-q2"):
        with pytest.raises(ValueError, match="must be a quarter"):
            term_periods(bad)
    assert term_label("2026-Q2") == "Q2 2026-27 (Oct-Dec 2026)"
    assert term_label("2026-S2") == "S2 2026-27 (Jan-Jun 2027)"


def test_a_plan_year_may_start_in_another_month_and_its_terms_follow(monkeypatch):
    from contracts.periods import plan_year_of, plan_year_periods, plan_year_start

    monkeypatch.setenv("SPN_PLAN_YEAR_START", "8")  # August to July
    assert plan_year_periods("2026-27")[0] == "2026-08"
    assert plan_year_periods("2026-27")[-1] == "2027-07"
    assert (plan_year_of("2027-07"), plan_year_of("2027-08")) == ("2026-27", "2027-28")
    assert term_periods("2026-Q1") == ["2026-08", "2026-09", "2026-10"]
    assert term_periods("2026-S2")[-1] == "2027-07"
    assert terms_ending("2027-07") == ["2026-Q4", "2026-S2", "2026-27"]
    assert term_label("2026-Q2") == "Q2 2026-27 (Nov 2026-Jan 2027)"
    for wrong in ("1", "13", "seven"):
        monkeypatch.setenv("SPN_PLAN_YEAR_START", wrong)
        with pytest.raises(ValueError, match="the plan year's first month, 2 to 12"):
            plan_year_start()


def test_every_service_and_the_cli_refuse_a_plan_year_start_that_is_no_month():
    from pydantic import ValidationError

    from services.shared.settings import ServiceSettings
    from spn.stack.settings import StackSettings

    for settings in (ServiceSettings, StackSettings):
        assert settings().plan_year_start == 7
        with pytest.raises(ValidationError, match="less than or equal to 12"):
            settings(SPN_PLAN_YEAR_START=13)
