"""Waning rules, with figures worked by hand."""

from __future__ import annotations

from services.rollup.domain.figures import combine
from services.rollup.domain.waning import Flag, PeriodFacts, PlanPeriod, evaluate
from services.rollup.domain.waning_flags import OrganizationWaning


def fig(due: int, on_time: int, behind: int) -> dict:
    """Figures of a plan with ``due`` actions due, of 10."""
    return combine([{
        "actions_total": 10, "actions_due": due, "actions_completed": on_time,
        "actions_on_time": on_time, "actions_behind": behind, "milestones_total": 2,
        "milestones_completed": 0, "milestones_behind": 0,
    }])  # type: ignore[return-value]  # fmt: skip


def plan(org: str, period: str, figures: dict, practice: str = "4C") -> PlanPeriod:
    return PlanPeriod(org, period, figures, ({"number": "1.1", "practice": practice,
                                             "figures": figures},))  # fmt: skip


def facts(period: str, previous: list[str], plans: list[PlanPeriod], **extra) -> PeriodFacts:
    by_org: dict[str, dict[str, PlanPeriod]] = {}
    for p in plans:
        by_org.setdefault(p.organization, {})[p.period] = p
    peers = {o: sorted(set(by_org) - {o}) for o in by_org}
    return PeriodFacts(period, previous, by_org, peers, extra.get("silent", set()),
                       extra.get("slipped", {}))  # fmt: skip


def rules_of(flags: list[Flag], org: str) -> set[str]:
    return {f.rule for f in flags if f.organization == org}


def test_behind_at_a_quarter_of_due_actions():
    """1 of 4 due behind = 25% (flagged); 1 of 5 = 20% (not)."""
    flags = evaluate(facts("2026-10", [], [plan("a", "2026-10", fig(4, 3, 1)),
                                             plan("b", "2026-10", fig(5, 4, 1))]))  # fmt: skip
    assert rules_of(flags, "a") == {"behind"} and rules_of(flags, "b") == set()
    behind = next(f for f in flags if f.organization == "a")
    assert behind.evidence == {"actions_due": 4, "actions_behind": 1, "actions_behind_pct": 25.0}
    assert behind.strategies == [{"number": "1.1", "practice": "4C"}]


def test_declining_after_two_consecutive_falls():
    """On time 100% -> 80% -> 75%: two falls (flagged); 100 -> 80 -> 80 is not."""
    falling = [plan("a", "2026-09", fig(4, 4, 0)), plan("a", "2026-10", fig(5, 4, 0)),
               plan("a", "2026-11", fig(8, 6, 0))]  # fmt: skip
    flags = evaluate(facts("2026-11", ["2026-10", "2026-09"], falling))
    assert rules_of(flags, "a") == {"declining"}
    assert flags[0].evidence == {
        "actions_on_time_pct": {"2026-11": 75.0, "2026-10": 80.0, "2026-09": 100.0}
    }
    flat = [*falling[:2], plan("a", "2026-11", fig(10, 8, 0))]
    assert evaluate(facts("2026-11", ["2026-10", "2026-09"], flat)) == []


def test_lagging_twenty_points_below_the_peers_median_two_periods_running():
    """Peers b, c, d at 100, 80, 90 (median 90). a at 70 in both periods: 20 below (flagged);
    a at 75 instead: 15 below (not). One period alone is not enough."""
    plans = []
    for period in ("2026-09", "2026-10"):
        plans += [plan("a", period, fig(10, 7, 0)), plan("b", period, fig(10, 10, 0)),
                  plan("c", period, fig(10, 8, 0)), plan("d", period, fig(10, 9, 0))]  # fmt: skip
    flags = evaluate(facts("2026-10", ["2026-09"], plans))
    assert rules_of(flags, "a") == {"lagging"}
    lag = next(f for f in flags if f.rule == "lagging")
    assert lag.evidence["2026-10"] == {"actions_on_time_pct": 70.0, "peer_median": 90.0}
    assert evaluate(facts("2026-09", [], [p for p in plans if p.period == "2026-09"])) == []
    milder = [p if p.organization != "a" else plan("a", p.period, fig(4, 3, 0)) for p in plans]
    assert "lagging" not in rules_of(evaluate(facts("2026-10", ["2026-09"], milder)), "a")


def test_silent_and_milestone_slipped():
    slipped = {"a": [{"strategy": "2.1", "practice": "3B", "milestone": "2.1.1"}]}
    flags = evaluate(facts("2026-10", [], [plan("a", "2026-10", fig(0, 0, 0))],
                           silent={"a"}, slipped=slipped))  # fmt: skip
    assert rules_of(flags, "a") == {"silent", "milestone_slipped"}
    slip = next(f for f in flags if f.rule == "milestone_slipped")
    assert slip.strategies == [{"number": "2.1", "practice": "3B"}]


def test_a_flag_is_raised_once_and_cleared_on_recovery():
    waning = OrganizationWaning(organization="a")
    behind = Flag("a", "behind", "2026-10", {"actions_behind_pct": 50.0})
    waning.judge("2026-10", [behind])
    waning.judge("2026-10", [behind])  # judged again (a rebuild): nothing new
    waning.judge("2026-11", [])  # recovered
    waning.judge("2026-10", [behind])  # an older period again: nothing
    events = [(type(e).__name__, getattr(e, "period", None)) for e in waning.collect_events()]
    assert events == [("Started", None), ("Raised", "2026-10"), ("Cleared", "2026-11")]


def test_interlaced_strategy_status():
    from services.rollup.domain.interlace import strategy_status

    measure = {"targets": [{"year": "2026-27", "value": 50.0}], "direction": "increase"}
    on_time, behind = fig(4, 4, 0), fig(4, 2, 2)
    assert strategy_status(behind, [(measure, 60.0)], "2026-27") == "not_implemented"
    assert strategy_status(on_time, [(measure, 40.0)], "2026-27") == "implemented_not_working"
    assert strategy_status(on_time, [(measure, 50.0)], "2026-27") == "on_track"
    assert strategy_status(on_time, [(measure, None)], "2026-27") == "no_data"
    assert strategy_status(None, [(measure, 60.0)], "2026-27") == "no_data"
    fewer = {"targets": [{"year": "2026-27", "value": 8.0}], "direction": "decrease"}
    assert strategy_status(on_time, [(fewer, 9.0)], "2026-27") == "implemented_not_working"
