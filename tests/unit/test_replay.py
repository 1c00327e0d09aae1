"""Replays from events only: a plan's fields changed between two versions, an
organization's flags and a case's status at a moment."""

from __future__ import annotations

import copy
from datetime import timedelta

from services.plans.domain.plan_changes import field_changes
from services.rollup.domain.support_case import SupportCase
from services.rollup.domain.waning import Flag
from services.rollup.domain.waning_flags import OrganizationWaning
from services.rollup.replay import case_status_as_of, flags_as_of
from tests.factories import plan_document


def test_each_changed_field_is_named_by_its_item_in_tool_a_numbering():
    old = plan_document("school")
    new = copy.deepcopy(old)
    action = new["priority_areas"][0]["strategies"][0]["milestones"][0]["actions"][0]
    number, due = action["number"], action["due"]
    action["due"] = "2027-06-30"
    new["direction"]["mission"] = "A sharper mission."
    removed = new["priority_areas"][0]["strategies"][0]["milestones"][0]["actions"].pop()
    found = field_changes(old, new)
    assert {"item": "direction", "field": "mission", "before": old["direction"]["mission"],
            "after": "A sharper mission."} in found  # fmt: skip
    assert {"item": f"action {number}", "field": "due", "before": due,
            "after": "2027-06-30"} in found  # fmt: skip
    assert {"item": f"action {removed['number']}", "field": "", "before": removed,
            "after": None} in found  # fmt: skip
    assert field_changes(old, copy.deepcopy(old)) == []


def test_flags_and_a_case_are_as_their_events_up_to_the_moment_left_them():
    waning = OrganizationWaning(organization="elm")
    waning.judge("2026-10", [Flag("elm", "behind", "2026-10", {})])
    waning.judge("2026-11", [Flag("elm", "behind", "2026-11", {}),
                             Flag("elm", "silent", "2026-11", {})])  # fmt: skip
    waning.judge("2026-12", [])
    events = waning.collect_events()
    raised_oct, raised_nov = events[1].timestamp, events[3].timestamp
    year = {"2026-10", "2026-11", "2026-12"}
    assert flags_as_of(events, raised_oct, year) == {"behind": "2026-10"}
    assert flags_as_of(events, raised_nov, year) == {"behind": "2026-11", "silent": "2026-11"}
    assert flags_as_of(events, events[-1].timestamp, year) == {}
    assert flags_as_of(events, raised_oct - timedelta(seconds=1), year) == {}
    assert flags_as_of(events, raised_nov, {"2026-10"}) == {"behind": "2026-10"}

    case = SupportCase(recipient="elm", addressed_to="lea", practice=None, opened="2026-10",
                       practices=["1A"], reasons=["behind"], escalated_from=None)  # fmt: skip
    opened = case.collect_events()
    assert case_status_as_of(opened, opened[0].timestamp) == "open"
    assert case_status_as_of(opened, opened[0].timestamp - timedelta(seconds=1)) is None
