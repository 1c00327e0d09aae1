"""The rollup's domain metrics on the in-memory read models, worked out by hand: the LEA's
figures from its schools' counts, the watch list (open flag or case), flags and cases
counted up the chain, and a bounded series count."""

from __future__ import annotations

from datetime import date

from eventsourcing.persistence import Tracking
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.rollup.application import RollupApplication
from services.rollup.exporter import DomainCollector, DomainExporter, month_end
from tests.unit.test_rollup_application import EVENTS, closed, figures, memory_app


def samples(exporter: DomainExporter) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry()
    collector = DomainCollector(registry)
    collector.families = exporter.compute()
    text = generate_latest(registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for f in text_string_to_metric_families(text) for s in f.samples}  # fmt: skip


def exporter(app, watch_limit: int = 10) -> DomainExporter:
    return DomainExporter(app.view, DomainCollector(CollectorRegistry()), 25.0, watch_limit,
                          periods_kept=12, interval=1)  # fmt: skip


def org(code: str, parent: str, level: str, **more: str) -> frozenset:
    return frozenset({"organization": code, "name": code.title(), "parent": parent,
                      "level": level, **more}.items())  # fmt: skip


def test_the_lea_adds_its_schools_counts_and_only_the_flagged_school_has_series():
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))  # elm 75 % behind: flagged, a case
    found = samples(exporter(app))
    # elm 4 due, 3 behind, 1 on time; oak 4 due, 0 behind, 4 on time: the LEA 8 due
    assert found[("spn_org_actions_behind_percent", org("lea", "sea", "LEA"))] == 37.5
    assert found[("spn_org_actions_on_time_percent", org("lea", "sea", "LEA"))] == 62.5
    assert found[("spn_org_actions_on_time_percent", org("sea", "", "SEA"))] == 62.5
    assert found[("spn_org_actions_behind_percent", org("elm", "lea", "SCHOOL"))] == 75.0
    assert not any(dict(labels).get("organization") == "oak" for _, labels in found)
    assert found[("spn_org_school_plans", org("lea", "sea", "LEA"))] == 2
    assert found[("spn_org_waning_flags", org("lea", "sea", "LEA", rule="behind"))] == 1
    assert found[("spn_org_waning_flags", org("sea", "", "SEA", rule="behind"))] == 1
    assert found[("spn_org_waning_flags", org("sea", "", "SEA", rule="silent"))] == 0
    assert found[("spn_org_support_cases_open", org("sea", "", "SEA"))] == 1
    assert found[("spn_support_cases", frozenset({"level": "SCHOOL", "status": "open"}.items()))
                 ] == 1  # fmt: skip
    strategy = frozenset({"organization": "elm", "parent": "lea", "strategy": "1.1",
                          "practice": "1A"}.items())  # fmt: skip
    assert found[("spn_strategy_actions_behind_percent", strategy)] == 75.0
    practice = frozenset({"practice": "1A", "domain": "1"}.items())
    assert found[("spn_practice_actions_behind_percent", practice)] == 37.5
    assert found[("spn_practice_schools", practice)] == 2
    assert found[("spn_practice_schools_waning", practice)] == 1
    period = frozenset({"period": "2026-10"}.items())
    assert found[("spn_period_plans_reporting", period)] == 2
    assert found[("spn_period_last_closed_end_timestamp_seconds", frozenset())] == (
        month_end("2026-10").timestamp())  # fmt: skip
    assert found[("spn_period_next_end_timestamp_seconds", frozenset())] == (
        month_end("2026-11").timestamp())  # fmt: skip


def test_the_watch_list_is_bounded_the_furthest_behind_first():
    app = memory_app()
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))
    assert exporter(app).compute()  # computes with elm watched
    found = samples(exporter(app, watch_limit=0))
    assert not any(dict(labels).get("organization") == "elm" for _, labels in found)
    assert found[("spn_org_waning_flags", org("lea", "sea", "LEA", rule="behind"))] == 1


def test_month_end_is_the_first_moment_of_the_next_month():
    assert month_end("2026-12").isoformat() == "2027-01-01T00:00:00+00:00"
    assert month_end("2027-01").isoformat() == "2027-02-01T00:00:00+00:00"


def test_a_school_that_recovered_this_year_stays_watched_after_the_open_ones():
    app = memory_app()
    rows = []
    for period in ("2026-10", "2026-11"):
        for school, behind in (("elm", 0), ("oak", 1)):
            rows.append(("plan_periods", {"plan_key": f"{school}/2026-27", "organization": school,
                                          "period": period, "as_of": date(2026, 11, 30),
                                          "figures": figures(4, behind, 4 - behind)}))  # fmt: skip
    rows += [("waning", {"organization": "elm", "rule": "behind", "period": "2026-10",
                         "change": "raised", "evidence": {}, "strategies": []}),
             ("waning", {"organization": "elm", "rule": "behind", "period": "2026-11",
                         "change": "cleared", "evidence": None, "strategies": None})]  # fmt: skip
    app.take(Tracking(EVENTS, 5), rows)
    [behind] = [f for f in exporter(app).compute() if f.name == "spn_org_actions_behind_percent"]
    watched = [s.labels["organization"] for s in behind.samples if s.labels["level"] == "SCHOOL"]
    assert watched == ["elm"]  # recovered, still watched; oak never flagged


def test_the_series_are_bounded_by_the_leas_and_the_watch_list_not_the_schools():
    """300 schools in 10 LEAs, every one flagged: per-school series only for the 50 on the
    watch list; the count is the formula in the README."""
    app = RollupApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    orgs = [("sea", "SEA", None)] + [(f"lea{n}", "LEA", "sea") for n in range(10)]
    orgs += [(f"s{n:03d}", "SCHOOL", f"lea{n % 10}") for n in range(300)]
    rows: list = [("organizations", {"code": c, "kind": k, "name": c, "parent": p})
                  for c, k, p in orgs]  # fmt: skip
    milestones = [{"number": f"{s}.1:{m}", "figures": figures(4, 1, 3)} for s in (1, 2)
                  for m in (1, 2)]  # fmt: skip
    for n in range(300):
        key = {"plan_key": f"s{n:03d}/2026-27", "organization": f"s{n:03d}", "period": "2026-10"}
        rows.append(("plan_periods", key | {"as_of": date(2026, 10, 31),
                                            "figures": figures(4, n % 4, 4 - n % 4)}))  # fmt: skip
        for strategy, practice in (("1.1", "1A"), ("2.1", "2B")):
            rows.append(("strategy_periods", key | {
                "strategy": strategy, "practice": practice, "figures": figures(4, 1, 3),
                "milestones": [m for m in milestones if m["number"].startswith(strategy[0])],
            }))  # fmt: skip
        rows.append(("waning", {"organization": f"s{n:03d}", "rule": "behind",
                                "period": "2026-10", "change": "raised", "evidence": {},
                                "strategies": [{"number": "1.1", "practice": "1A"}]}))  # fmt: skip
    app.take(Tracking(EVENTS, 2), rows)
    families = {f.name: f for f in exporter(app, watch_limit=50).compute()}
    watched = {s.labels["organization"] for s in families["spn_strategy_actions_on_time_percent"]
               .samples}  # fmt: skip
    assert len(watched) == 50
    leas, shown, strategies, milestones_each = 10, 1 + 10 + 50, 2, 2
    expected = {
        "spn_org_actions_on_time_percent": shown, "spn_org_school_plans": 1 + leas,
        "spn_org_waning_flags": shown * 5, "spn_org_support_cases_open": shown,
        "spn_strategy_actions_on_time_percent": 50 * strategies,
        "spn_milestone_behind": 50 * strategies * milestones_each,
        "spn_practice_actions_on_time_percent": 2, "spn_period_plans_reporting": 1,
    }
    assert {name: len(families[name].samples) for name in expected} == expected
