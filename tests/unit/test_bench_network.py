"""The synthetic network: deterministic, full-size Tool A plans that pass the plan rules."""

from __future__ import annotations

from collections import Counter

from contracts.periods import plan_year_periods
from services.plans.domain.plan import check_plan_document
from spn.bench.network import PLAN_YEAR, Pattern, SyntheticNetwork


def test_the_same_seed_gives_the_same_network_and_another_seed_another():
    one, two = SyntheticNetwork(schools=20, leas=3), SyntheticNetwork(schools=20, leas=3)
    assert [p.to_json() for p in one.plans()] == [p.to_json() for p in two.plans()]
    other = SyntheticNetwork(schools=20, leas=3, seed=7)
    assert [p.to_json() for p in one.plans()] != [p.to_json() for p in other.plans()]


def test_plans_are_full_size_and_valid_and_organizations_come_parents_first():
    network = SyntheticNetwork(schools=12, leas=4)
    orgs = network.organizations()
    assert [o.kind for o in orgs[:5]] == ["SEA", "LEA", "LEA", "LEA", "LEA"]
    seen = {orgs[0].code}
    for org in orgs[1:]:
        assert org.parent in seen
        seen.add(org.code)
    for plan in network.plans():
        actions = [a for area in plan.priority_areas for s in area.strategies
                   for m in s.milestones for a in m.actions]  # fmt: skip
        assert len(actions) == 64
        check_plan_document(plan.to_jsonable())  # raises on a broken rule


def test_the_year_mixes_patterns_and_a_silent_school_reports_nothing():
    network = SyntheticNetwork(schools=400, leas=20)
    mix = Counter(network.pattern(i) for i in range(400))
    assert mix[Pattern.ON_TIME] > 250 and all(mix[p] > 0 for p in Pattern)
    silent = next(i for i in range(400) if network.pattern(i) is Pattern.SILENT)
    plan = next(p for i, p in enumerate(network.plans()) if i == silent)
    assert network.reports(plan, silent, "2026-10") == []
    on_time = next(i for i in range(400) if network.pattern(i) is Pattern.ON_TIME)
    plan = next(p for i, p in enumerate(network.plans()) if i == on_time)
    year = [r for period in plan_year_periods(PLAN_YEAR)
            for r in network.reports(plan, on_time, period)]  # fmt: skip
    assert {r.action for r in year if r.status == "complete"} == {
        a.number for area in plan.priority_areas for s in area.strategies
        for m in s.milestones for a in m.actions
    }  # every action of an on-time school is reported complete within the year
