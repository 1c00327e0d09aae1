"""The rollup service layer: integration events in (with tracking), rollup queries out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.postgres import PostgresFactory

from services.rollup.domain.errors import UnknownOrganizationError
from services.rollup.domain.figures import combine, domain_of
from services.rollup.domain.waning import PeriodFacts, PlanPeriod, WaningRules, evaluate
from services.rollup.domain.waning_flags import OrganizationWaning
from services.rollup.recorder import RollupRecorder, Row


class RollupApplication(Application[UUID]):
    name = "rollup"

    def construct_recorder(self) -> ProcessRecorder:
        factory = self.factory
        assert isinstance(factory, PostgresFactory), "the rollup read models need PostgreSQL"
        recorder = RollupRecorder(
            factory.datastore,
            events_table_name=f"{self.name}_events",
            tracking_table_name=f"{self.name}_tracking",
        )
        recorder.create_table()
        return recorder

    @property
    def view(self) -> RollupRecorder:
        assert isinstance(self.recorder, RollupRecorder)
        return self.recorder

    def position(self, source: str) -> int:
        return self.view.max_tracking_id(source) or 0

    def take(self, source: str, last_sequence: int, rows: Iterable[Row]) -> None:
        """Store a batch's read-model rows with the tracking record of its last message."""
        processing = ProcessingEvent[UUID](tracking=Tracking(source, last_sequence))
        processing.collect_events(view_rows=list(rows))
        self._record(processing)

    def judge_period(self, source: str, sequence: int, period: str, rules: WaningRules) -> int:
        """At a period's close (its figures already stored): raise each waning flag once,
        clear the ones that no longer hold. Returns how many flags hold."""
        facts, _ = period_facts(self.view, period)
        flags = evaluate(facts, rules)
        by_org: dict[str, list[Any]] = {}
        for flag in flags:
            by_org.setdefault(flag.organization, []).append(flag)
        judged = []
        for org in sorted(set(facts.plans) | facts.silent):
            waning = self._waning(org)
            waning.judge(period, by_org.get(org, []))
            judged.append(waning)
        processing = ProcessingEvent[UUID](tracking=Tracking(source, sequence))
        processing.collect_events(*judged)
        self._notify(self._record(processing))
        return len(flags)

    def _waning(self, organization: str) -> OrganizationWaning:
        try:
            return self.repository.get(OrganizationWaning.create_id(organization))
        except AggregateNotFoundError:
            return OrganizationWaning(organization=organization)

    # -- queries ---------------------------------------------------------------------------

    def rollup(self, code: str | None, period: str | None) -> dict[str, Any]:
        """Figures of an organization, its children and its practices, for one period."""
        orgs = {o["code"]: o for o in self.view.select("organizations")}
        root = code or next((c for c, o in orgs.items() if o["parent"] is None), None)
        if root is None or root not in orgs:
            raise UnknownOrganizationError(f"organization {code or '(SEA)'} is not known to rollup")
        schools = _schools_beneath(root, orgs)
        periods = sorted({r["period"] for r in self.view.select(
            "plan_periods", "organization = ANY(%(codes)s)", codes=[*schools, root])})  # fmt: skip
        period = period or (periods[-1] if periods else None)
        plans = self.view.select("plan_periods", "period = %(p)s", p=period)
        by_org = {p["organization"]: p["figures"] for p in plans}
        strategies = self.view.select(
            "strategy_periods", "period = %(p)s AND organization = ANY(%(codes)s)",
            p=period, codes=list(schools),
        )  # fmt: skip
        children = [c for c, o in orgs.items() if o["parent"] == root]
        return {
            "organization": _figures_of(root, orgs, schools, by_org),
            "period": period,
            "periods": periods,
            "own_plan": by_org.get(root),
            "rows": [_figures_of(c, orgs, _schools_beneath(c, orgs), by_org) for c in children],
            "practices": _by_practice(strategies),
            "domains": _by_domain(strategies),
        }


def _schools_beneath(code: str, orgs: dict[str, dict[str, Any]]) -> set[str]:
    """The schools in the subtree of ``code`` (a school: itself)."""
    if orgs[code]["kind"] == "SCHOOL":
        return {code}
    found: set[str] = set()
    for child, org in orgs.items():
        if org["parent"] == code:
            found |= _schools_beneath(child, orgs)
    return found


def _figures_of(
    code: str, orgs: dict[str, dict[str, Any]], schools: set[str], by_org: dict[str, Any]
) -> dict[str, Any]:
    figures = [by_org[s] for s in schools if s in by_org]
    org = orgs[code]
    return {
        "code": code, "name": org["name"], "kind": org["kind"],
        "school_plans": len(figures), "figures": combine(figures),
    }  # fmt: skip


def _by_practice(strategies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    practices: dict[str, list[dict[str, Any]]] = {}
    for row in strategies:
        practices.setdefault(row["practice"], []).append(row)
    return [
        {
            "practice": practice,
            "domain": domain_of(practice),
            "strategies": len(rows),
            "organizations": len({r["organization"] for r in rows}),
            "figures": combine(r["figures"] for r in rows),
        }
        for practice, rows in sorted(practices.items())
    ]


def _by_domain(strategies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    domains: dict[int, list[dict[str, Any]]] = {}
    for row in strategies:
        domains.setdefault(domain_of(row["practice"]), []).append(row)
    return [
        {"domain": d, "strategies": len(rows), "figures": combine(r["figures"] for r in rows)}
        for d, rows in sorted(domains.items())
    ]


def period_facts(
    view: RollupRecorder, period: str
) -> tuple[PeriodFacts, dict[str, dict[str, Any]]]:
    """Everything the waning rules need at a period's close, from the read models."""
    orgs = {o["code"]: o for o in view.select("organizations")}
    periods = sorted(
        {r["period"] for r in view.select("plan_periods", "period <= %(p)s", p=period)}
    )
    previous = [p for p in reversed(periods) if p < period]
    strategies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in view.select("strategy_periods", "period <= %(p)s", p=period):
        strategies.setdefault((row["organization"], row["period"]), []).append(
            {"number": row["strategy"], "practice": row["practice"], "figures": row["figures"]}
        )
    plans: dict[str, dict[str, PlanPeriod]] = {}
    for row in view.select("plan_periods", "period <= %(p)s", p=period):
        org, at = row["organization"], row["period"]
        plans.setdefault(org, {})[at] = PlanPeriod(
            org, at, row["figures"], tuple(sorted(strategies.get((org, at), []),
                                                  key=lambda s: s["number"])),
        )  # fmt: skip
    slipped: dict[str, list[dict[str, str]]] = {}
    for row in view.select("milestone_slips", "period = %(p)s", p=period):
        slipped.setdefault(row["organization"], []).append(
            {
                "strategy": row["strategy"],
                "practice": row["practice"],
                "milestone": row["milestone"],
            }
        )
    with_plans = set(plans)
    peers = {
        code: sorted(
            other for other in with_plans - {code}
            if orgs.get(other, {}).get("parent") == orgs.get(code, {}).get("parent")
            and orgs.get(other, {}).get("kind") == orgs.get(code, {}).get("kind")
        )
        for code in with_plans
    }  # fmt: skip
    silent = {r["organization"] for r in view.select("missing_reports", "period = %(p)s", p=period)}
    facts = PeriodFacts(period, previous, plans, peers, silent, slipped)
    return facts, orgs
