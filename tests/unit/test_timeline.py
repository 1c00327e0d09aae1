"""A plan's timeline: the plans service's entries from its events, and the CLI's filters."""

from __future__ import annotations

from services.plans import timeline as plan_timeline
from services.shared import timeline
from spn.cli.history import _wanted
from tests.unit.test_application import approved_then_adjusted, network


def test_the_plan_s_events_are_its_entries_with_the_adjustment_s_justification():
    app = network()
    plan, _ = approved_then_adjusted(app)
    found = timeline.entries(app.plan_history(plan), plan_timeline.DESCRIBED)
    assert [e["kind"] for e in found] == ["plan.drafted", "plan.submitted", "plan.approved",
                                          "plan.adjusted"]  # fmt: skip
    adjusted = found[-1]
    assert (adjusted["who"], adjusted["details"]["justification"]) == ("Pat", "Clarity")
    assert adjusted["summary"] == "adjusted by Pat: Survey"
    assert adjusted["details"]["changes"] and [e["version"] for e in found] == [1, 2, 3, 4]
    assert found[2]["summary"] == "approved by lea (Sam)"


def test_kinds_match_a_service_a_whole_kind_or_its_last_part_and_periods_are_effective():
    reported = {"kind": "status.reported", "effective": "2026-10"}
    assert _wanted(reported, ["status"], None) and _wanted(reported, ["reported"], None)
    assert _wanted(reported, ["status.reported"], "2026-10")
    assert not _wanted(reported, ["stat"], None) and not _wanted(reported, ["plan"], None)
    assert not _wanted(reported, None, "2026-11")
    assert not _wanted({"kind": "plan.adjusted", "effective": None}, None, "2026-10")
