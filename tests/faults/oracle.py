"""What the rules say of the reports sent: figures, waning flags and support cases worked
out in this process from the reports alone (the domain's pure functions, fed by the test,
not by any service), to compare with what the services hold after a fault."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.assessment_rules import area_levels
from services.rollup.domain.case_rules import CaseRules, cases_to_open
from services.rollup.domain.waning import Flag, PeriodFacts, PlanPeriod, evaluate
from services.status.domain.figures import milestone_counts, milestone_states, total
from tests.faults import scenario

CaseKey = tuple[str, str, str | None, str]  # recipient, addressed to, practice, opened


@dataclass
class Year:
    """The reports recorded and the periods closed so far, and what follows from them."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # school -> document
    assessments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # oldest first

    def self_assessed(self) -> dict[str, dict[str, int]]:
        """Per practice, how many organizations rated it at each level in their latest."""
        counts: dict[str, dict[str, int]] = {}
        for documents in self.assessments.values():
            for area in area_levels(documents[-1]):
                levels = counts.setdefault(area["area"], {str(n): 0 for n in range(1, 5)})
                levels[str(area["level"])] += 1
        return counts

    def figures(self, school: str, period: str) -> dict[str, Any]:
        """The plan's figures at the period's close, and its strategies' (number -> figures)."""
        structure = _structure(self.plans[school])
        as_of = scenario.last_day(period)
        states = milestone_states(structure, self._completions(school, period))
        counts = {s: [milestone_counts(m, as_of) for m in ms] for s, ms in states.items()}
        return {
            "figures": total(c for cs in counts.values() for c in cs).figures(),
            "strategies": {s: total(cs).figures() for s, cs in counts.items()},
        }

    def holding(self, period: str) -> set[tuple[str, str]]:
        """(organization, rule) of every flag that holds at the period's close."""
        return {(f.organization, f.rule) for f in self._flags(period)}

    def cases(self) -> set[CaseKey]:
        """Every case opened up to the last close (no support is given in the suite, so a
        case stays active and none opens twice)."""
        orgs = {o["code"]: o for o in scenario.organizations()}
        opened: set[CaseKey] = set()
        for period in self.closed:
            by_org: dict[str, list[Flag]] = {}
            for flag in self._flags(period):
                by_org.setdefault(flag.organization, []).append(flag)
            active = {(r, a, p) for r, a, p, _ in opened}
            for case in cases_to_open(by_org, orgs, active, CaseRules()):
                opened.add((case.recipient, case.addressed_to, case.practice, period))
        return opened

    def slips(self) -> set[tuple[str, str, str]]:
        """(school, milestone, period) of each milestone at the first close it slipped."""
        found: dict[tuple[str, str], str] = {}
        for school in self.plans:
            structure = _structure(self.plans[school])
            for at in self.closed:
                states = milestone_states(structure, self._completions(school, at))
                for m in (m for ms in states.values() for m in ms):
                    if m.slip_reason(scenario.last_day(at)):
                        found.setdefault((school, m.number), at)
        return {(school, milestone, at) for (school, milestone), at in found.items()}

    def _flags(self, period: str) -> list[Flag]:
        previous = [p for p in reversed(self.closed) if p < period]
        plans: dict[str, dict[str, PlanPeriod]] = {}
        for school in self._with_plans(period):
            for at in [period, *previous[:2]]:
                found = self.figures(school, at)
                strategies = tuple(
                    {"number": n, "practice": _practices(self.plans[school])[n], "figures": f}
                    for n, f in sorted(found["strategies"].items())
                )
                plans.setdefault(school, {})[at] = PlanPeriod(
                    school, at, found["figures"], strategies
                )
        schools = sorted(plans)
        peers = {s: [o for o in schools if o != s] for s in schools}
        reported = {r["reporter"]["organization"] for r in self.reports if r["period"] == period}
        silent = set(schools) - reported
        slipped = {s: self._slipped(s, period) for s in schools}
        parents = {o["code"]: o.get("parent") for o in scenario.organizations()}
        facts = PeriodFacts(period, previous, plans, peers, silent, slipped, parents)
        return evaluate(facts)

    def _with_plans(self, period: str) -> list[str]:
        """Schools whose plan the status service knew at the close (every one approved)."""
        return sorted(self.plans)

    def _slipped(self, school: str, period: str) -> list[dict[str, str]]:
        """Milestones reported slipped at a close up to ``period`` and not yet complete."""
        structure = _structure(self.plans[school])
        practice = _practices(self.plans[school])
        found: dict[str, dict[str, str]] = {}
        for at in (p for p in self.closed if p <= period):
            states = milestone_states(structure, self._completions(school, at))
            for strategy, milestones in states.items():
                for m in milestones:
                    if m.slip_reason(scenario.last_day(at)):
                        found.setdefault(m.number, {
                            "strategy": strategy, "practice": practice[strategy],
                            "milestone": m.number})  # fmt: skip
        now = milestone_states(structure, self._completions(school, period))
        done = {m.number for ms in now.values() for m in ms if m.complete}
        return [v for k, v in sorted(found.items()) if k not in done]

    def _completions(self, school: str, period: str) -> dict[str, date | None]:
        """Each action's completion date per its latest report up to ``period``."""
        latest: dict[str, tuple[str, date | None]] = {}
        for r in self.reports:
            if r["reporter"]["organization"] != school or r["period"] > period:
                continue
            done = date.fromisoformat(r["completed_on"]) if r["completed_on"] else None
            if r["action"] not in latest or r["period"] >= latest[r["action"]][0]:
                latest[r["action"]] = (r["period"], done)
        return {action: done for action, (_, done) in latest.items()}


def _strategies(document: dict[str, Any]) -> Iterable[dict[str, Any]]:
    return (s for area in document["priority_areas"] for s in area["strategies"])


def _structure(document: dict[str, Any]) -> dict[str, Any]:
    return {"strategies": list(_strategies(document))}


def _practices(document: dict[str, Any]) -> dict[str, str]:
    return {s["number"]: s["practice"] for s in _strategies(document)}
