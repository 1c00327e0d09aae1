"""A support is recorded only when it can be support on its case."""

from __future__ import annotations

import pytest

from services.rollup.domain.support_case import SupportCase, SupportCaseError, active_case_keys


def case(practice: str | None = None) -> SupportCase:
    return SupportCase(recipient="elm-school", addressed_to="river-lea", practice=practice,
                       opened="2026-10", practices=["1A"], reasons=["behind"],
                       escalated_from=None)  # fmt: skip


def give(target: SupportCase, on: str, practice: str | None = None) -> None:
    target.provide(provider="river-lea", practice=practice, on=on, period=on[:7],
                   what="coaching", by="Sam", plan_year="2026-27")  # fmt: skip


def test_a_support_dated_before_its_case_opened_is_refused():
    with pytest.raises(SupportCaseError, match="dated before this case of elm-school opened"):
        give(case(), "2026-09-30")
    give(case(), "2026-10-01")  # the case's own month is not before it


def test_a_support_after_the_plan_year_is_refused():
    with pytest.raises(SupportCaseError, match="after plan year 2026-27"):
        give(case(), "2027-07-01")
    give(case(), "2027-06-30")  # its last day is within it


def test_a_practice_case_takes_support_on_its_practice_only():
    with pytest.raises(SupportCaseError, match="about practice 4C; support on 1A"):
        give(case("4C"), "2026-11-02", practice="1A")
    give(case("4C"), "2026-11-02", practice="4C")
    give(case(None), "2026-11-02", practice="1A")  # a school's case: any practice


def test_an_escalated_case_holds_back_the_levels_it_came_from():
    lea = {
        "case_id": 1,
        "recipient": "elm",
        "addressed_to": "lea",
        "practice": None,
        "status": "escalated",
        "escalated_from": None,
    }
    sea = {
        "case_id": 2,
        "recipient": "elm",
        "addressed_to": "sea",
        "practice": None,
        "status": "open",
        "escalated_from": 1,
    }
    done = {"case_id": 3, "recipient": "oak", "addressed_to": "lea", "practice": None,
            "status": "resolved", "escalated_from": None}  # fmt: skip
    assert active_case_keys([lea, sea, done]) == {("elm", "lea", None), ("elm", "sea", None)}
    assert active_case_keys([lea, done]) == set()
