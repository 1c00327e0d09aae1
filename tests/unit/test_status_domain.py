"""Status domain: report checks, Tool A figures and slips, worked out by hand."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.status.autoclose import due_periods
from services.status.domain.errors import (
    CompletedAfterPeriodError,
    ForeignReporterError,
    PeriodOutsidePlanYearError,
    PlanNotActiveError,
    UnknownActionError,
)
from services.status.domain.figures import ActionState, MilestoneState, figures
from services.status.domain.plan_progress import PlanProgress, plan_structure
from tests.factories import plan_document

KEY = "oak-school/2026-27"


def progress() -> PlanProgress:
    structure = plan_structure(plan_document("oak-school"))
    return PlanProgress(
        plan_id=uuid4(), key=KEY, organization="oak-school", plan_year="2026-27",
        structure=structure,
    )  # fmt: skip


def report(rid: str, action: str, period: str, status: str, done: str | None = None,
           org: str = "oak-school") -> dict:  # fmt: skip
    return {
        "report_id": rid, "plan": KEY, "action": action, "period": period, "status": status,
        "completed_on": done, "reporter": {"name": "Pat", "organization": org},
    }  # fmt: skip


def closed(plan: PlanProgress, period: str) -> dict:
    close = plan.close_period(period)
    assert close is not None
    return close


@pytest.mark.parametrize(
    ("changed", "error"),
    [
        ({"action": "3.1.1.1"}, UnknownActionError),
        ({"period": "2027-07"}, PeriodOutsidePlanYearError),
        ({"reporter": {"name": "X", "organization": "river-lea"}}, ForeignReporterError),
        ({"status": "complete", "completed_on": "2026-11-02"}, CompletedAfterPeriodError),
    ],
)
def test_reports_that_can_never_be_accepted(changed, error):
    with pytest.raises(error):
        progress().record(report("r", "1.1.1.1", "2026-10", "in_progress") | changed)


def test_a_closed_plan_takes_no_report():
    plan = progress()
    plan.end()
    with pytest.raises(PlanNotActiveError):
        plan.record(report("r", "1.1.1.1", "2026-10", "in_progress"))


def test_a_repeated_report_id_has_no_effect():
    plan = progress()
    assert plan.record(report("r", "1.1.1.1", "2026-10", "in_progress"))
    assert not plan.record(report("r", "1.1.1.1", "2026-10", "in_progress"))
    assert [type(e).__name__ for e in plan.collect_events()] == ["Adopted", "StatusRecorded"]


def test_milestone_figures_by_hand():
    """Milestone due 2026-12-15 with actions due 10-31 (done 10-30), 11-15 (done 11-20),
    11-30 (open) and 12-10 (open). As of 2026-11-30: due 3, completed 2, on time 1,
    behind 1 -> completed 50%, on time 33.3%, behind 33.3%; the milestone is running late
    (an action overdue, the milestone due before the end of December)."""
    m = MilestoneState("1.1.1", date(2026, 12, 15), (
        ActionState("1.1.1.1", date(2026, 9, 1), date(2026, 10, 31), date(2026, 10, 30)),
        ActionState("1.1.1.2", date(2026, 9, 1), date(2026, 11, 15), date(2026, 11, 20)),
        ActionState("1.1.1.3", date(2026, 9, 1), date(2026, 11, 30), None),
        ActionState("1.1.1.4", date(2026, 9, 1), date(2026, 12, 10), None),
    ))  # fmt: skip
    as_of = date(2026, 11, 30)
    assert figures([m], as_of) == {
        "actions_total": 4, "actions_due": 3, "actions_completed": 2, "actions_on_time": 1,
        "actions_behind": 1, "actions_completed_pct": 50.0, "actions_on_time_pct": 33.3,
        "actions_behind_pct": 33.3, "milestones_total": 1, "milestones_completed": 0,
        "milestones_completed_pct": 0.0, "milestones_behind": 1,
    }  # fmt: skip
    assert m.slip_reason(as_of) == "running_late"
    assert m.slip_reason(date(2026, 10, 31)) is None
    assert m.slip_reason(date(2026, 12, 31)) == "past_due"


def test_nothing_due_is_not_a_percentage():
    m = MilestoneState("1.1.1", date(2027, 6, 1), (
        ActionState("1.1.1.1", date(2027, 1, 1), date(2027, 3, 1), None),
    ))  # fmt: skip
    result = figures([m], date(2026, 9, 30))
    assert (result["actions_on_time_pct"], result["actions_behind_pct"]) == (None, None)


def test_past_due_milestone_slips_once_and_the_close_is_idempotent():
    plan = progress()
    assert plan.close_period("2027-06")
    assert not plan.close_period("2027-06")
    slipped = [e for e in plan.collect_events() if type(e).__name__ == "MilestoneSlipped"]
    assert sorted(e.milestone for e in slipped) == ["1.1.1", "1.2.1", "2.1.1", "2.2.1"]
    assert {e.reason for e in slipped} == {"past_due"}
    plan.close_period("2027-05")
    assert not [e for e in plan.collect_events() if type(e).__name__ == "MilestoneSlipped"]


def test_figures_depend_on_the_reports_periods_not_their_arrival():
    reports = [
        report("a", "1.1.1.1", "2026-10", "in_progress"),
        report("b", "1.1.1.1", "2026-11", "complete", "2026-11-03"),
        report("c", "2.1.1.1", "2026-10", "complete", "2026-10-15"),
        report("d", "2.1.1.1", "2026-12", "in_progress"),
    ]
    in_order, reversed_order = progress(), progress()
    for r in reports:
        in_order.record(r)
    for r in reversed(reports):
        reversed_order.record(r)
    closes = {period: closed(in_order, period) for period in ("2026-10", "2026-11")}
    for period, close in closes.items():
        assert close == closed(reversed_order, period)
    october = closes["2026-10"]["figures"]
    assert (october["actions_completed"], october["actions_on_time"]) == (1, 1)
    november = closes["2026-11"]["figures"]
    assert (november["actions_completed"], november["actions_on_time"]) == (2, 1)


def test_missing_report_for_a_silent_period():
    plan = progress()
    plan.record(report("a", "1.1.1.1", "2026-10", "in_progress"))
    plan.close_period("2026-10")
    plan.close_period("2026-11")
    missing = [e.period for e in plan.collect_events() if type(e).__name__ == "ReportMissing"]
    assert missing == ["2026-11"]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 11, 4), ["2026-09"]),
        (date(2026, 11, 5), ["2026-10"]),
        (date(2026, 12, 5), ["2026-11"]),
        (date(2027, 7, 20), ["2027-06"]),
        (date(2027, 8, 10), []),
    ],
)
def test_automatic_close_n_days_after_month_end(today, expected):
    assert due_periods(today, {"2026-27"}, days_after=5) == expected


def test_automatic_close_can_be_off():
    assert due_periods(date(2026, 11, 10), {"2026-27"}, days_after=0) == []
