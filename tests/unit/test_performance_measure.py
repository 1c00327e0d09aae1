"""PerformanceMeasure: each value reported is an event; the same value again is not."""

from __future__ import annotations

from services.rollup.domain.performance_measure import PerformanceMeasure


def test_each_new_value_is_one_event_and_a_repeat_is_none():
    measure = PerformanceMeasure(plan="oak/2026-27", measure="goal:1:1", organization="oak")
    assert measure.report(period="2026-10", value=20, by="Pat")
    assert measure.report(period="2026-10", value=21, by="Pat")  # a correction replaces it
    assert not measure.report(period="2026-10", value=21, by="Lee")  # nothing new
    assert measure.report(period="year:2026-27", value=30, by="Pat")
    events = measure.collect_events()
    assert [type(e).__name__ for e in events] == ["Started"] + ["ValueReported"] * 3
    assert measure.values == {"2026-10": 21, "year:2026-27": 30}


def test_one_measure_of_one_plan_has_one_id():
    one = PerformanceMeasure.create_id("oak/2026-27", "goal:1:1")
    assert one == PerformanceMeasure.create_id("oak/2026-27", "goal:1:1")
    assert one != PerformanceMeasure.create_id("oak/2027-28", "goal:1:1")
    assert one != PerformanceMeasure.create_id("oak/2026-27", "goal:1:2")
