"""The support-case rules at their boundaries: each test fails when a boundary moves."""

from __future__ import annotations

from datetime import date

import pytest

from services.rollup.domain.case_rules import (
    CaseRules,
    cases_to_open,
    closes_since,
    escalation_target,
)
from services.rollup.domain.support_case import EffectivenessRule, SupportCase
from services.rollup.domain.waning import Flag
from services.status.domain.figures import ActionState

ORGS = {
    "sea": {"kind": "SEA", "parent": None},
    "lea": {"kind": "LEA", "parent": "sea"},
    **{f"s{n}": {"kind": "SCHOOL", "parent": "lea"} for n in range(1, 5)},
}


def waning(org: str, *practices: str, rule: str = "behind") -> list[Flag]:
    strategies = [{"number": f"1.{i}", "practice": p} for i, p in enumerate(practices, 1)]
    return [Flag(org, rule, "2026-10", {}, strategies)]


@pytest.mark.parametrize(
    ("after", "effective"), [(75.0, True), (74.9, False), (100.0, True), (None, False)]
)
def test_a_support_worked_when_on_time_reached_75_percent(after, effective):
    assert EffectivenessRule().effective(before=None, after=after) is effective


@pytest.mark.parametrize(("after", "effective"), [(60.0, True), (59.9, False), (50.0, False)])
def test_a_support_worked_when_on_time_rose_by_10_points(after, effective):
    assert EffectivenessRule().effective(before=50.0, after=after) is effective


def test_the_bars_are_the_settings():
    rule = EffectivenessRule(rise_points=5, reaches_pct=60)
    assert rule.effective(before=50.0, after=55.0)
    assert rule.effective(before=None, after=60.0)
    assert not rule.effective(before=50.0, after=54.9)


@pytest.mark.parametrize(("schools", "lea_case"), [(3, True), (2, False), (4, True)])
def test_three_schools_waning_on_one_practice_open_a_case_of_their_lea(schools, lea_case):
    flags = {f"s{n}": waning(f"s{n}", "2B") for n in range(1, schools + 1)}
    wanted = cases_to_open(flags, ORGS, set(), CaseRules())
    school_cases = [c.key for c in wanted if c.practice is None]
    assert school_cases == [(f"s{n}", "lea", None) for n in range(1, schools + 1)]
    assert (("lea", "sea", "2B") in [c.key for c in wanted]) is lea_case


def test_the_schools_must_wane_on_the_same_practice():
    flags = {"s1": waning("s1", "2B"), "s2": waning("s2", "2B"), "s3": waning("s3", "3C")}
    assert not [c for c in cases_to_open(flags, ORGS, set(), CaseRules()) if c.practice]


def test_how_many_schools_is_a_setting():
    flags = {"s1": waning("s1", "2B"), "s2": waning("s2", "2B")}
    wanted = cases_to_open(flags, ORGS, set(), CaseRules(schools_per_practice=2))
    assert ("lea", "sea", "2B") in [c.key for c in wanted]


def test_no_second_case_while_one_is_active():
    flags = {"s1": waning("s1", "1A"), "s2": waning("s2", "1A")}
    wanted = cases_to_open(flags, ORGS, {("s1", "lea", None)}, CaseRules())
    assert [c.key for c in wanted] == [("s2", "lea", None)]


def test_an_lea_flagged_itself_asks_the_sea_and_the_sea_asks_no_one():
    flags = {"lea": waning("lea", "1A"), "sea": waning("sea", "1A")}
    wanted = cases_to_open(flags, ORGS, set(), CaseRules())
    assert [(c.key, c.practices, c.reasons) for c in wanted] == [
        (("lea", "sea", None), ["1A"], ["behind"])
    ]


@pytest.mark.parametrize(("closed", "due"), [(["2026-11"], False), (["2026-11", "2026-12"], True)])
def test_a_support_is_judged_two_closes_after_its_month(closed, due):
    case = SupportCase(recipient="s1", addressed_to="lea", practice=None, opened="2026-10",
                       practices=["1A"], reasons=["behind"], escalated_from=None)  # fmt: skip
    case.provide(provider="lea", practice=None, on="2026-10-15", period="2026-10",
                 what="coaching", by="Sam", plan_year="2026-27")  # fmt: skip
    since = closes_since(["2026-10", *closed], given="2026-10", now=closed[-1])
    assert case.due_for_judgment(since, EffectivenessRule()) is due
    assert case.due_for_judgment(since, EffectivenessRule(after_periods=1))


def test_an_ineffective_support_escalates_one_level_up():
    assert escalation_target("lea", ORGS) == "sea"
    assert escalation_target("sea", ORGS) is None


@pytest.mark.parametrize(
    ("completed", "on_time"),
    [(date(2026, 10, 15), True), (date(2026, 10, 14), True), (date(2026, 10, 16), False),
     (None, False)],
)  # fmt: skip
def test_an_action_completed_on_its_due_date_is_on_time(completed, on_time):
    action = ActionState("1.1.1.1", date(2026, 9, 1), date(2026, 10, 15), completed)
    assert action.on_time is on_time
