"""Waning progress (seed 004: "intervene swiftly if waning progress is detected"), judged at
each period close from the plans' figures. Rules, with their defaults:

- behind: 25% or more of the actions due by the period's end are not complete (the seeds'
  75% fidelity bar);
- declining: actions on time % fell in two consecutive closed periods;
- lagging: actions on time % at least 20 points below the median of the organization's
  peers (schools of the same LEA; LEAs of the SEA) in two consecutive periods;
- silent: no status report in the period;
- milestone_slipped: a milestone has slipped and is still not completed.

Each flag names the strategies (and their practice codes) involved. Pure functions: the
same figures give the same flags, whenever they are evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import median
from typing import Any

RULES = ("behind", "declining", "lagging", "silent", "milestone_slipped")


@dataclass(frozen=True)
class WaningRules:
    behind_pct: float = 25.0
    lag_points: float = 20.0
    lag_periods: int = 2
    declining_falls: int = 2


@dataclass(frozen=True)
class PlanPeriod:
    """One organization's plan figures for one closed period."""

    organization: str
    period: str
    figures: Mapping[str, Any]
    strategies: tuple[Mapping[str, Any], ...] = ()  # number, practice, figures


@dataclass(frozen=True)
class Flag:
    organization: str
    rule: str
    period: str
    evidence: dict[str, Any]
    strategies: list[dict[str, str]] = field(default_factory=list)


@dataclass
class PeriodFacts:
    """What is known at a period's close, for every organization with a plan."""

    period: str
    previous: list[str]  # earlier closed periods, latest first
    plans: dict[str, dict[str, PlanPeriod]]  # organization -> period -> figures
    peers: dict[str, list[str]]  # organization -> its peers (same parent, same kind)
    silent: set[str]
    slipped: dict[str, list[dict[str, str]]]  # organization -> strategy, practice, milestone
    parents: dict[str, str | None] = field(default_factory=dict)


def evaluate(facts: PeriodFacts, rules: WaningRules = WaningRules()) -> list[Flag]:
    flags: list[Flag] = []
    for org in sorted(facts.plans.keys() | facts.silent):
        flags += _behind(facts, org, rules) + _declining(facts, org, rules)
        flags += _lagging(facts, org, rules)
        if org in facts.silent:
            flags.append(Flag(org, "silent", facts.period, {"reports": 0}))
        if facts.slipped.get(org):
            slips = facts.slipped[org]
            flags.append(Flag(
                org, "milestone_slipped", facts.period,
                {"milestones": sorted(s["milestone"] for s in slips)},
                _unique_strategies(slips),
            ))  # fmt: skip
    return flags


def _on_time(facts: PeriodFacts, org: str, period: str) -> float | None:
    plan = facts.plans.get(org, {}).get(period)
    return plan.figures.get("actions_on_time_pct") if plan else None


def _behind(facts: PeriodFacts, org: str, rules: WaningRules) -> list[Flag]:
    plan = facts.plans.get(org, {}).get(facts.period)
    behind = plan.figures.get("actions_behind_pct") if plan else None
    if plan is None or behind is None or behind < rules.behind_pct:
        return []
    strategies = [
        {"number": s["number"], "practice": s["practice"]}
        for s in plan.strategies
        if (s["figures"].get("actions_behind_pct") or 0) >= rules.behind_pct
    ]
    evidence = {k: plan.figures[k] for k in ("actions_due", "actions_behind", "actions_behind_pct")}
    return [Flag(org, "behind", facts.period, evidence, strategies)]


def _declining(facts: PeriodFacts, org: str, rules: WaningRules) -> list[Flag]:
    periods = [facts.period, *facts.previous][: rules.declining_falls + 1]
    values = [_on_time(facts, org, p) for p in periods]
    if len(periods) <= rules.declining_falls or any(v is None for v in values):
        return []
    if not all(values[i] < values[i + 1] for i in range(rules.declining_falls)):  # type: ignore[operator]
        return []
    plan, earlier = facts.plans[org][facts.period], facts.plans[org][periods[1]]
    before = {s["number"]: s["figures"].get("actions_on_time_pct") for s in earlier.strategies}
    strategies = [
        {"number": s["number"], "practice": s["practice"]}
        for s in plan.strategies
        if (s["figures"].get("actions_on_time_pct") or 0) < (before.get(s["number"]) or 0)
    ]
    evidence = {"actions_on_time_pct": dict(zip(periods, values, strict=True))}
    return [Flag(org, "declining", facts.period, evidence, strategies)]


def _lagging(facts: PeriodFacts, org: str, rules: WaningRules) -> list[Flag]:
    periods = [facts.period, *facts.previous][: rules.lag_periods]
    if len(periods) < rules.lag_periods:
        return []
    evidence: dict[str, Any] = {}
    for period in periods:
        own = _on_time(facts, org, period)
        peers = [
            v for p in facts.peers.get(org, []) if (v := _on_time(facts, p, period)) is not None
        ]
        if own is None or not peers or own > median(peers) - rules.lag_points:
            return []
        evidence[period] = {"actions_on_time_pct": own, "peer_median": median(peers)}
    plan = facts.plans[org][facts.period]
    strategies = [
        {"number": s["number"], "practice": s["practice"]}
        for s in plan.strategies
        if (s["figures"].get("actions_behind") or 0) > 0
    ]
    return [Flag(org, "lagging", facts.period, evidence, strategies)]


def _unique_strategies(items: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item["strategy"], item["practice"])
    return [{"number": n, "practice": p} for n, p in sorted(seen.items())]
