"""Reading the rollup's read models: the facts the rules judge, and query results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from services.rollup.domain.figures import combine, domain_of
from services.rollup.domain.interlace import on_target, practice_status
from services.rollup.domain.support_case import SupportCase
from services.rollup.domain.waning import PeriodFacts, PlanPeriod
from services.rollup.recorder import RollupReadModels, Row


def schools_beneath(code: str, orgs: dict[str, dict[str, Any]]) -> set[str]:
    """The schools in the subtree of ``code`` (a school: itself)."""
    if orgs[code]["kind"] == "SCHOOL":
        return {code}
    found: set[str] = set()
    for child, org in orgs.items():
        if org["parent"] == code:
            found |= schools_beneath(child, orgs)
    return found


def figures_of(
    code: str, orgs: dict[str, dict[str, Any]], schools: set[str], by_org: dict[str, Any]
) -> dict[str, Any]:
    figures = [by_org[s] for s in schools if s in by_org]
    org = orgs[code]
    return {
        "code": code,
        "name": org["name"],
        "kind": org["kind"],
        "school_plans": len(figures),
        "figures": combine(figures),
    }


def by_practice(
    strategies: list[dict[str, Any]], flags: list[dict[str, Any]], behind_pct: float,
    outcomes: dict[str, dict[str, int]] | None = None,
    assessed: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each practice's strategies taken together, labelled (``flags``: of the period), with
    their measures' ``outcomes`` and the levels it was ``assessed`` at (of each practice)."""
    waning = {s["practice"] for f in flags if f["change"] == "raised"
              for s in f["strategies"] or []}  # fmt: skip
    practices: dict[str, list[dict[str, Any]]] = {}
    for row in strategies:
        practices.setdefault(row["practice"], []).append(row)
    result = []
    for practice, rows in sorted(practices.items()):
        figures = combine(r["figures"] for r in rows)
        result.append({
            "practice": practice,
            "domain": domain_of(practice),
            "strategies": len(rows),
            "organizations": len({r["organization"] for r in rows}),
            "figures": figures,
            "status": practice_status(figures, practice in waning, behind_pct),
            "outcomes": (outcomes or {}).get(practice),
            "self_assessed": (assessed or {}).get(practice),
        })  # fmt: skip
    return result


def by_domain(strategies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    domains: dict[int, list[dict[str, Any]]] = {}
    for row in strategies:
        domains.setdefault(domain_of(row["practice"]), []).append(row)
    return [
        {"domain": d, "strategies": len(rows), "figures": combine(r["figures"] for r in rows)}
        for d, rows in sorted(domains.items())
    ]


def period_facts(
    view: RollupReadModels, period: str, window: int, also: Iterable[str] = ()
) -> tuple[PeriodFacts, dict[str, dict[str, Any]]]:
    """What the waning rules and support judgments need at a period's close, from the read
    models: the plans' figures of the period, of the ``window`` closed periods before it
    and of the periods in ``also`` (when supports were given). Bounded by the rules, not by
    the year; strategies come apart (``with_strategies``), for the organizations that need
    them."""
    orgs = view.organizations()
    previous = [p for p in reversed(view.periods_closed(up_to=period)) if p < period]
    wanted = sorted({period, *previous[:window], *(p for p in also if p <= period)})
    done = view.milestones_completed(period)
    plans: dict[str, dict[str, PlanPeriod]] = {}
    for row in view.plan_figures(wanted):
        org, at = row["organization"], row["period"]
        plans.setdefault(org, {})[at] = PlanPeriod(org, at, row["figures"])
    # a slipped milestone keeps the rule holding until it is completed
    slipped: dict[str, list[dict[str, str]]] = {}
    for row in view.slips_up_to(period):
        if (row["plan_key"], row["milestone"]) in done:
            continue
        slipped.setdefault(row["organization"], []).append(
            {
                "strategy": row["strategy"],
                "practice": row["practice"],
                "milestone": row["milestone"],
            }
        )
    groups: dict[tuple[Any, Any], list[str]] = {}  # same parent, same kind
    for code in sorted(plans):
        org = orgs.get(code, {})
        groups.setdefault((org.get("parent"), org.get("kind")), []).append(code)
    peers = {
        code: [other for other in group if other != code]
        for group in groups.values()
        for code in group
    }
    silent = view.missing_reports(period)
    parents = {code: org["parent"] for code, org in orgs.items()}
    facts = PeriodFacts(period, previous, plans, peers, silent, slipped, parents)
    return facts, orgs


def with_strategies(
    view: RollupReadModels, facts: PeriodFacts, organizations: Iterable[str], periods: Iterable[str]
) -> PeriodFacts:
    """The facts with the strategies of these organizations' plans in these periods (the
    rules name strategies only once a plan-level figure has flagged the organization)."""
    wanted = sorted(set(organizations))
    strategies: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in view.strategy_figures(sorted(set(periods)), wanted):
        strategies.setdefault((row["organization"], row["period"]), []).append(
            {"number": row["strategy"], "practice": row["practice"], "figures": row["figures"]}
        )
    plans = {
        org: {
            at: replace(plan, strategies=tuple(
                sorted(strategies.get((org, at), []), key=lambda s: s["number"])))
            if (org, at) in strategies else plan
            for at, plan in by_period.items()
        }
        for org, by_period in facts.plans.items()
    }  # fmt: skip
    return replace(facts, plans=plans)


def on_time(facts: PeriodFacts, case: SupportCase, period: str) -> float | None:
    """The recipient's actions on time % in a period: for a practice case of an LEA, its
    schools' strategies on that practice; otherwise the recipient's own plan."""
    if case.practice is None:
        plan = facts.plans.get(case.recipient, {}).get(period)
        return plan.figures.get("actions_on_time_pct") if plan else None
    schools = [o for o, parent in facts.parents.items() if parent == case.recipient]
    strategies = [
        s["figures"]
        for org in schools
        for plan in [facts.plans.get(org, {}).get(period)]
        if plan is not None
        for s in plan.strategies
        if s["practice"] == case.practice
    ]
    combined = combine(strategies)
    return combined.get("actions_on_time_pct") if combined else None


def case_rows(aggregates: list[Any]) -> list[Row]:
    return [("support_cases", case_row(c)) for c in aggregates if isinstance(c, SupportCase)]


def case_row(case: SupportCase) -> dict[str, Any]:
    """A support case as its read-model row (and query result)."""
    return {
        "case_id": case.id,
        "recipient": case.recipient,
        "addressed_to": case.addressed_to,
        "practice": case.practice,
        "opened": case.opened,
        "status": case.status,
        "practices": case.practices,
        "reasons": case.reasons,
        "support": case.support,
        "judgment": case.judgment,
        "escalated_to": case.escalated_to,
        "escalated_from": case.escalated_from,
    }


def measure_value_row(plan: str, measure: str, period: str, value: float, by: str) -> Row:
    return "measure_values", {"plan_key": plan, "measure": measure, "period": period,
                              "value": value, "reported_by": by}  # fmt: skip


def measure_value(
    measure: dict[str, Any], values: list[dict[str, Any]], period: str | None
) -> dict[str, Any]:
    """The latest value of a measure up to ``period`` (a month, else its plan year's)."""
    mine = [
        v
        for v in values
        if (v["plan_key"], v["measure"]) == (measure["plan_key"], measure["measure"])
    ]
    months = sorted(
        (
            v
            for v in mine
            if not v["period"].startswith("year:") and (period is None or v["period"] <= period)
        ),
        key=lambda v: v["period"],
    )
    yearly = [v for v in mine if v["period"] == f"year:{measure['plan_year']}"]
    latest = months[-1] if months else (yearly[0] if yearly else None)
    aimed = next((t for t in measure["targets"] if t["year"] == measure["plan_year"]), None)
    target = aimed["value"] if aimed else None
    value = latest["value"] if latest else None
    return {
        "measure": measure["measure"],
        "indicator": measure["indicator"],
        "baseline": measure["baseline"],
        "target": target,
        "target_label": aimed.get("label") if aimed else None,
        "value": value,
        "period": latest["period"] if latest else None,
        "on_target": on_target(measure, value, measure["plan_year"]) if value is not None else None,
    }


def beneath(code: str, orgs: dict[str, dict[str, Any]]) -> list[str]:
    children = [c for c, o in orgs.items() if o["parent"] == code]
    return children + [d for c in children for d in beneath(c, orgs)]
