import pytest

from contracts.plan_rules import plan_year_bounds
from services.plans.domain.errors import PlanRuleError
from services.plans.domain.plan import check_plan_document
from tests.factories import plan_document, with_change

STRATEGY = ["priority_areas", 0, "strategies", 0]
ACTION = [*STRATEGY, "milestones", 0, "actions", 0]


def violations(document: dict) -> list[str]:
    with pytest.raises(PlanRuleError) as caught:
        check_plan_document(document)
    return [str(v) for v in caught.value.violations]


def test_a_valid_plan_passes():
    check_plan_document(plan_document("lincoln-elementary"))


def test_plan_year_runs_july_to_june():
    start, end = plan_year_bounds("2026-27")
    assert (start.isoformat(), end.isoformat()) == ("2026-07-01", "2027-06-30")


def test_strategy_numbered_under_another_priority_area_is_refused():
    found = violations(with_change(plan_document("a-school"), [*STRATEGY, "number"], "2.9"))
    assert any("2.9 is not numbered under its parent 1" in v for v in found)


def test_action_numbered_under_another_milestone_is_refused():
    found = violations(with_change(plan_document("a-school"), [*ACTION, "number"], "1.1.2.1"))
    assert "priority_areas[0].strategies[0].milestones[0].actions[0].number" in found[0]
    assert "1.1.2.1 is not numbered under its parent 1.1.1" in found[0]


def test_repeated_number_is_refused():
    doc = plan_document("a-school")
    second = [*STRATEGY, "milestones", 0, "actions", 1, "number"]
    found = violations(with_change(doc, second, "1.1.1.1"))
    assert any("1.1.1.1 is used more than once" in v for v in found)


def test_action_outside_the_plan_year_is_refused():
    found = violations(with_change(plan_document("a-school"), [*ACTION, "due"], "2027-07-01"))
    assert any(
        "due 2027-07-01 is outside the plan year (2026-07-01 to 2027-06-30)" in v for v in found
    )


def test_action_starting_after_its_due_date_is_refused():
    found = violations(with_change(plan_document("a-school"), [*ACTION, "start"], "2026-12-01"))
    assert any("starts (2026-12-01) after it is due (2026-10-31)" in v for v in found)


def test_strategy_without_a_practice_is_refused():
    found = violations(with_change(plan_document("a-school"), [*STRATEGY, "practice"], None))
    assert any("must be coded to a practice 1A-4C" in v for v in found)


def test_strategy_naming_an_unknown_goal_is_refused():
    found = violations(with_change(plan_document("a-school"), [*STRATEGY, "goals"], [3]))
    assert any("names unknown goals [3]" in v for v in found)


def test_more_than_four_goals_or_priority_areas_is_refused():
    doc = plan_document("a-school")
    goals = [dict(doc["direction"]["goals"][0], number=n) for n in range(1, 6)]
    found = violations(with_change(doc, ["direction", "goals"], goals))
    assert any("at most 4 goals, found 5" in v for v in found)


def test_milestone_without_due_date_is_refused():
    found = violations(
        with_change(plan_document("a-school"), [*STRATEGY, "milestones", 0, "due"], None)
    )
    assert any("milestone 1.1.1 has no due date" in v for v in found)
