"""The rollup service layer on the in-memory event store and read models: a support case
from a waning school's flag to an escalation, judged from the figures (the same code runs
on PostgreSQL in the integration tests)."""

from __future__ import annotations

from datetime import date

import pytest
from eventsourcing.persistence import Tracking

from services.rollup.application import RollupApplication
from services.rollup.domain.support_case import SupportCaseError
from services.rollup.recorder import Row

EVENTS = "SPN_EVENTS"
ORGS = [("sea", "SEA", None), ("lea", "LEA", "sea"), ("elm", "SCHOOL", "lea"),
        ("oak", "SCHOOL", "lea")]  # fmt: skip


def memory_app() -> RollupApplication:
    app = RollupApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.take(Tracking(EVENTS, 1), [("organizations", {"code": c, "kind": k, "name": c.title(),
                                            "parent": p}) for c, k, p in ORGS])  # fmt: skip
    return app


def figures(due: int, behind: int, on_time: int) -> dict:
    return {"actions_total": 8, "actions_due": due, "actions_completed": due - behind,
            "actions_on_time": on_time, "actions_behind": behind,
            "actions_behind_pct": round(100 * behind / due, 1),
            "actions_on_time_pct": round(100 * on_time / due, 1),
            "milestones_total": 2, "milestones_completed": 0, "milestones_behind": 0}  # fmt: skip


def closed(app: RollupApplication, sequence: int, period: str, elm: dict) -> None:
    """A period's figures (elm as given; oak on time), then its close."""
    rows: list[Row] = []
    for school, figs in (("elm", elm), ("oak", figures(4, 0, 4))):
        key = {"plan_key": f"{school}/2026-27", "organization": school, "period": period}
        rows += [("plan_periods", key | {"as_of": date(2026, 10, 31), "figures": figs}),
                 ("strategy_periods", key | {"strategy": "1.1", "practice": "1A",
                                             "figures": figs, "milestones": []})]  # fmt: skip
    app.take(Tracking(EVENTS, sequence), rows)
    app.judge_period(Tracking(EVENTS, sequence + 1), period)


def test_a_waning_school_gets_a_case_and_an_ineffective_support_escalates():
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))  # 75% behind: flagged
    assert [(f["organization"], f["rule"]) for f in app.view.flags(["elm", "oak"], "2026-10")
            ] == [("elm", "behind")]  # fmt: skip
    [case] = app.support_cases()
    assert (case["recipient"], case["addressed_to"], case["status"]) == ("elm", "lea", "open")
    with pytest.raises(SupportCaseError, match="addressed to lea"):
        app.provide_support(case["case_id"], provider="sea", practice=None,
                            on=date(2026, 10, 20), what="coaching", by="Sam")  # fmt: skip
    app.provide_support(case["case_id"], provider="lea", practice=None, on=date(2026, 10, 20),
                        what="coaching", by="Sam")  # fmt: skip
    closed(app, 20, "2026-11", elm=figures(6, 4, 2))
    assert app.support_cases("elm", status="supported")  # one close after: not judged yet
    closed(app, 30, "2026-12", elm=figures(8, 6, 2))  # on time 25% -> 25%: not effective
    by_status = {c["addressed_to"]: c for c in app.support_cases("elm")}
    assert by_status["lea"]["status"] == "escalated"
    assert by_status["lea"]["judgment"]["effective"] is False
    assert (by_status["sea"]["status"], by_status["sea"]["escalated_from"]) == (
        "open", by_status["lea"]["case_id"]
    )  # fmt: skip
    closed(app, 40, "2027-01", elm=figures(8, 6, 2))  # still waning: no second case at lea
    assert sorted(c["addressed_to"] for c in app.support_cases("elm")) == ["lea", "sea"]


def test_judging_a_period_again_changes_nothing():
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))

    def state() -> tuple:
        events = app.recorder.max_notification_id()
        return app.support_cases(), app.view.flags(["elm"], None), events

    before = state()
    app.judge_period(Tracking(EVENTS, 12), "2026-10")  # a rebuild judges again
    assert state() == before


def test_measure_values_are_events_and_rebuild_their_rows():
    app = memory_app()
    app.take(Tracking(EVENTS, 50), [("measures", {
        "plan_key": "elm/2026-27", "measure": "goal:1:1", "organization": "elm",
        "plan_year": "2026-27", "owner": "goal:1", "indicator": "Growth", "unit": "%",
        "direction": "increase", "baseline": 18, "targets": [{"year": "2026-27", "value": 25}],
    })])  # fmt: skip
    assert app.report_measure("elm/2026-27", "goal:1:1", "2026-10", 20, "Pat")
    assert not app.report_measure("elm/2026-27", "goal:1:1", "2026-10", 20, "Pat")
    [goal] = app.goal_measures("elm", "2026-10")
    assert (goal["number"], goal["measures"][0]["value"]) == ("1", 20)
    assert app.rebuild_own_rows() == 1
    assert app.rebuild_own_rows() == 0  # from where the last rebuild got to


def test_a_replay_after_a_case_was_resolved_opens_no_case_that_never_was():
    """Live, elm's November flag opened nothing (its October case was active). Replayed
    after the case was resolved, November must still open nothing."""
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))
    [case] = app.support_cases()
    app.provide_support(case["case_id"], provider="lea", practice=None, on=date(2026, 10, 20),
                        what="coaching", by="Sam")  # fmt: skip
    closed(app, 20, "2026-11", elm=figures(6, 4, 2))
    closed(app, 30, "2026-12", elm=figures(8, 2, 6))  # on time 75%: effective, resolved
    assert [c["status"] for c in app.support_cases()] == ["resolved"]
    stored = app.recorder.max_notification_id()
    for sequence, period in ((41, "2026-10"), (42, "2026-11"), (43, "2026-12")):
        app.judge_period(Tracking(EVENTS, sequence), period)  # the stream replayed
    assert [c["status"] for c in app.support_cases()] == ["resolved"]
    assert app.recorder.max_notification_id() == stored
    assert app.view.judged("2026-11") and app.position(EVENTS) == 43


def test_a_support_after_the_plan_year_of_its_case_is_refused_with_no_figures_to_go_on():
    """The plan year comes from the case's opening, not from a plan's figures (an LEA case
    of an LEA with no plan of its own has none)."""
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))
    [case] = app.support_cases()
    app.view.delete([("plan_periods", {"plan_key": "elm/2026-27", "period": "2026-10"})])
    with pytest.raises(SupportCaseError, match="after plan year 2026-27"):
        app.provide_support(case["case_id"], provider="lea", practice=None,
                            on=date(2027, 7, 1), what="coaching", by="Sam")  # fmt: skip


def test_measures_of_another_plan_year_are_not_shown():
    app = memory_app()
    for year, target in (("2026-27", 25), ("2027-28", 30)):
        app.take(Tracking(EVENTS, 60 if year == "2026-27" else 61), [("measures", {
            "plan_key": f"elm/{year}", "measure": "goal:1:1", "organization": "elm",
            "plan_year": year, "owner": "goal:1", "indicator": "Growth", "unit": "%",
            "direction": "increase", "baseline": 18, "targets": [{"year": year, "value": target}],
        })])  # fmt: skip
    assert [m["target"] for g in app.goal_measures("elm", "2026-10") for m in g["measures"]
            ] == [25]  # fmt: skip
    assert [m["target"] for g in app.goal_measures("elm", "2027-10") for m in g["measures"]
            ] == [30]  # fmt: skip
    assert [m["target"] for g in app.goal_measures("elm", None) for m in g["measures"]] == [30]


def test_flags_cases_and_judgments_are_rebuilt_from_the_store():
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))
    before = (app.support_cases(), app.view.flags(["elm"], None), app.view.judged("2026-10"))
    assert app.rebuild_own_rows() == 3  # the case opened, the flag raised, the judgment
    assert (app.support_cases(), app.view.flags(["elm"], None),
            app.view.judged("2026-10")) == before  # fmt: skip


def _strategy_measure(school: str, strategy: str, index: int, target: float) -> Row:
    return ("measures", {
        "plan_key": f"{school}/2026-27", "measure": f"strategy:{strategy}:{index}",
        "organization": school, "plan_year": "2026-27", "owner": f"strategy:{strategy}",
        "indicator": "Walk-throughs", "unit": "%", "direction": "increase", "baseline": 40,
        "targets": [{"year": "2026-27", "value": target}],
    })  # fmt: skip


def test_the_lea_sees_its_schools_measures_by_practice_and_how_many_are_on_target():
    app = memory_app()
    app.take(Tracking(EVENTS, 70), [
        _strategy_measure("elm", "1.1", 1, 75), _strategy_measure("elm", "1.1", 2, 60),
        _strategy_measure("oak", "1.1", 1, 75),
        _strategy_measure("oak", "2.1", 1, 75),  # a strategy with no figures: not counted
    ])  # fmt: skip
    app.report_measure("elm/2026-27", "strategy:1.1:1", "2026-10", 80, "Pat")  # on target
    app.report_measure("elm/2026-27", "strategy:1.1:2", "2026-10", 50, "Pat")  # off
    app.report_measure("oak/2026-27", "strategy:1.1:1", "2026-11", 90, "Lee")  # after Oct
    closed(app, 80, "2026-10", figures(4, 0, 4))
    [practice] = app.rollup("lea", "2026-10")["practices"]
    # three measures of strategies coded 1A; two with an October value, one of them on target
    assert (practice["practice"], practice["outcomes"]) == (
        "1A", {"measures": 3, "reported": 2, "on_target": 1})
