"""The Tool A progress report of one plan for a term, as data every format renders alike:
implementation data (strategy x semester, milestone x quarter), performance data (the
measures beside their targets) and supports (from the plan and its support cases).

A pure function of the answers of the services (the plan, its progress, its rollup, its
support cases): the same answers give the same report, on any day it is made. Each cell
is text already (``66.7%``, ``n/a``), so HTML, Markdown and PDF show the same words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.instruments import instrument
from contracts.periods import (
    first_day,
    plan_year_of,
    plan_year_of_term,
    plan_year_periods,
    term_kind,
    term_label,
    term_periods,
    terms_of_plan_year,
)
from contracts.practices import PRACTICES, PracticeCode

NONE = "—"  # a cell with nothing in it (no close yet, nothing reported)
EXPLANATIONS = {
    "on_track": "On track: actions on time and measures on target.",
    "not_implemented": "Actions behind schedule: not yet implemented as planned.",
    "implemented_not_working": "Actions on time but a measure is off target: adjust the "
    "strategy.",
    "no_data": "No data yet.",
}
IMPLEMENTATION_COLUMNS = {
    "semester": ("Milestones Completed (%)", "Milestones Behind Schedule",
                 "Cause & Adjustments Made"),
    "quarter": ("Actions Completed (%)", "Outputs Completed (list)", "Actions on Time (%)",
                "Actions Behind Schedule (%)", "Cause & Adjustments Made",
                "Resources/Budget Used", "Additional Information/Comments"),
    "performance": ("Strategy Indicator", "Target", "Annual Progress",
                    "Explanation & Needed Adjustments"),
    "supports": ("Supports Needed", "Supports Provided", "Provider", "How were supports used?",
                 "How effective were the supports?"),
}  # fmt: skip
"""Tool A's reporting tables, their columns as the template names them."""


def pct(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}%"


def month_name(period: str) -> str:
    return f"{first_day(period):%b %Y}"


def shown_terms(term: str) -> list[str]:
    """The plan year's quarters and semesters up to the end of ``term`` (the year: all)."""
    end = term_periods(term)[-1]
    year = terms_of_plan_year(plan_year_of_term(term))[:-1]
    return [t for t in year if term_periods(t)[-1] <= end]


def plan_report(term: str, plan: dict[str, Any], progress: dict[str, Any],
                rollup: dict[str, Any] | None, cases: list[dict[str, Any]],
                detailed: dict[str, dict[str, Any]],
                assessments: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """The report of ``plan`` (a plan detail) for ``term`` from its progress (every closed
    month), each shown term as asked on its own (``detailed``: with what was reported),
    its rollup (None: none yet), its support cases and (the annual report) its
    organization's self-assessments."""
    document = plan["plan"]
    terms = {t["term"]: t for t in progress["terms"]} | detailed
    shown = shown_terms(term)
    asked = terms.get(term)
    glance = document["at_a_glance"]
    liaison = glance.get("district_liaison") or {}
    name = ((rollup or {}).get("organization") or {}).get("name") or document["organization"]
    return {
        "document": "plan",
        "title": f"Progress report of {name}",
        "organization": document["organization"],
        "organization_name": name,
        "plan": progress["key"],
        "plan_year": document["plan_year"],
        "term": term,
        "kind": term_kind(term),
        "term_label": term_label(term),
        "as_of": asked["as_of"] if asked and asked["as_of"] else None,
        "through": month_name(asked["through"]) if asked and asked["through"] else None,
        "closed": bool(asked and asked["closed"]),
        "essa_status": str(glance.get("essa_status") or NONE),
        "liaison": _liaison(liaison),
        "summary": _summary(asked),
        "trend": _trend(progress["periods"], term),
        "quarters": [{"term": t, "label": t[5:]} for t in shown if term_kind(t) == "quarter"],
        "semesters": [{"term": t, "label": t[5:]} for t in shown if term_kind(t) == "semester"],
        "areas": [_area(area, terms, shown, rollup) for area in document["priority_areas"]],
        "goals": _goals(document, rollup),
        "supports": _supports(document, cases, term_periods(term)[-1]),
        "self_assessment": self_assessment_trend(assessments or []),
        "columns": IMPLEMENTATION_COLUMNS,
    }


def self_assessment_trend(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per instrument, the latest self-assessment given (``ListAssessments`` asked up to
    the term's end) beside the one before it: each area's mean then and now, and each
    element's change."""
    latest = {view["assessment"]["instrument"]: view for view in views}  # oldest first
    by_key = {v["key"]: v for v in views}
    shown = []
    for code, view in sorted(latest.items()):
        before = by_key.get(view["previous"] or "")
        earlier = {a["area"]: a["mean"] for a in (before or {}).get("areas", [])}
        changes = view["changes"] if before else []
        shown.append({
            "instrument": code, "title": instrument(code).title,
            "on": view["assessment"]["on"],
            "previous_on": before["assessment"]["on"] if before else None,
            "areas": [{"area": a["area"], "title": a["title"],
                       "before": _mean(earlier.get(a["area"])), "after": _mean(a["mean"]),
                       "level": str(a["level"])}
                      for a in sorted(view["areas"], key=lambda a: a["area"])],
            "changes": [{"element": c["element"], "before": _mean(c["before"]),
                         "after": _mean(c["after"]), "change": _change(c["change"])}
                        for c in changes],
        })  # fmt: skip
    return shown


def _mean(value: float | None) -> str:
    return NONE if value is None else f"{value:g}"


def _change(value: float | None) -> str:
    return NONE if value is None else ("0" if value == 0 else f"{value:+g}")


def fixed_moment(report: dict[str, Any]) -> date:
    """The day the report is as of (its PDF's timestamp: the same inputs, the same bytes)."""
    found = report["as_of"]
    return date.fromisoformat(found) if found else first_day(term_periods(report["term"])[0])


def _liaison(liaison: dict[str, Any]) -> str:
    if not liaison:
        return NONE
    email = f" <{liaison['email']}>" if liaison.get("email") else ""
    return f"{liaison.get('name', '')}{email}".strip() or NONE


def _summary(term: dict[str, Any] | None) -> list[dict[str, str]]:
    figures = term["figures"] if term and term["figures"] else None
    if figures is None:
        return []
    return [
        {"label": "Actions completed", "value": pct(figures["actions_completed_pct"]),
         "detail": f"{figures['actions_completed']} of {figures['actions_total']}"},
        {"label": "Actions on time", "value": pct(figures["actions_on_time_pct"]),
         "detail": f"{figures['actions_on_time']} of {figures['actions_due']} due"},
        {"label": "Actions behind schedule", "value": pct(figures["actions_behind_pct"]),
         "detail": f"{figures['actions_behind']} of {figures['actions_due']} due"},
        {"label": "Milestones completed", "value": pct(figures["milestones_completed_pct"]),
         "detail": f"{figures['milestones_completed']} of {figures['milestones_total']}"},
    ]  # fmt: skip


def _trend(periods: list[dict[str, Any]], term: str) -> list[dict[str, Any]]:
    """Each closed month of the plan year up to the term's end: the chart's bars."""
    end = term_periods(term)[-1]
    return [
        {"period": p["period"], "label": f"{first_day(p['period']):%b}",
         "completed": p["figures"]["actions_completed_pct"] or 0.0,
         "on_time": p["figures"]["actions_on_time_pct"],
         "text": pct(p["figures"]["actions_completed_pct"])}
        for p in periods if p["period"] <= end
    ]  # fmt: skip


def _area(area: dict[str, Any], terms: dict[str, Any], shown: list[str],
          rollup: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    interlaced = {s["number"]: s for s in (rollup or {}).get("strategies", [])}
    return {
        "number": area["number"],
        "title": area["title"],
        "strategies": [_strategy(s, terms, shown, interlaced.get(s["number"]))
                       for s in area["strategies"]],
    }  # fmt: skip


def _strategy(strategy: dict[str, Any], terms: dict[str, Any], shown: list[str],
              interlaced: dict[str, Any] | None) -> dict[str, Any]:  # fmt: skip
    number = strategy["number"]
    theory = strategy["theory_of_action"]
    return {
        "number": number,
        "practice": strategy["practice"],
        "practice_title": PRACTICES[PracticeCode(strategy["practice"])].title,
        "theory": {"if": theory["if"], "then": theory["then"], "and": theory["and"]},
        "semesters": [_semester(_found_strategy(terms.get(t), number), t)
                      for t in shown if term_kind(t) == "semester"],
        "milestones": [_milestone(m, number, terms, shown) for m in strategy["milestones"]],
        "measures": _measures(strategy["measures"], interlaced),
    }  # fmt: skip


def _found_strategy(term: dict[str, Any] | None, number: str) -> dict[str, Any] | None:
    if term is None:
        return None
    return next((s for s in term["strategies"] if s["number"] == number), None)


def _semester(found: dict[str, Any] | None, term: str) -> dict[str, Any]:
    figures = found["figures"] if found else None
    behind = found["milestones_behind"] if found else []
    causes = [n for m in (found or {}).get("milestones", []) if m["reported"]
              for n in m["reported"]["cause_and_adjustments"]]  # fmt: skip
    return {
        "term": term,
        "milestones_completed": pct(figures["milestones_completed_pct"]) if figures else NONE,
        "milestones_behind": (f"{len(behind)}: {', '.join(behind)}" if behind else "0")
        if figures else NONE,
        "cause": _notes(sorted(causes, key=lambda n: (n["period"], n["action"]))),
    }  # fmt: skip


def _milestone(milestone: dict[str, Any], strategy: str, terms: dict[str, Any],
               shown: list[str]) -> dict[str, Any]:  # fmt: skip
    number = milestone["number"]
    quarters = []
    for term in (t for t in shown if term_kind(t) == "quarter"):
        found = _found_strategy(terms.get(term), strategy)
        mine = next((m for m in found["milestones"] if m["number"] == number), None) if found \
            else None  # fmt: skip
        quarters.append(_quarter(mine, term))
    return {"number": number, "description": milestone["description"],
            "due": milestone["due"], "quarters": quarters}  # fmt: skip


def _quarter(found: dict[str, Any] | None, term: str) -> dict[str, Any]:
    figures = found["figures"] if found else None
    reported = found["reported"] if found else None
    budget = reported["budget_used"] if reported else None
    resources = _notes(reported["resources_used"]) if reported else []
    return {
        "term": term,
        "completed": pct(figures["actions_completed_pct"]) if figures else NONE,
        "outputs": _notes(reported["outputs_completed"]) if reported else [],
        "on_time": pct(figures["actions_on_time_pct"]) if figures else NONE,
        "behind": pct(figures["actions_behind_pct"]) if figures else NONE,
        "cause": _notes(reported["cause_and_adjustments"]) if reported else [],
        "resources": resources + ([f"Budget used: {_money(budget)}"] if budget else []),
        "comments": _notes(reported["comments"]) if reported else [],
    }


def _money(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def _notes(notes: Iterable[dict[str, Any]]) -> list[str]:
    return [f"{n['text']} ({n['action']}, {first_day(n['period']):%b})" for n in notes]


def _measures(measures: list[dict[str, Any]], interlaced: dict[str, Any] | None
              ) -> list[dict[str, str]]:  # fmt: skip
    values = {m["measure"]: m for m in (interlaced or {}).get("measures", [])}
    status = interlaced["status"] if interlaced else "no_data"
    rows = []
    for n, measure in enumerate(measures, 1):
        value = next((v for k, v in values.items() if k.endswith(f":{n}")), None)
        rows.append(_measure_row(measure, value, EXPLANATIONS.get(status, status)))
    return rows


def _measure_row(measure: dict[str, Any], value: dict[str, Any] | None, explanation: str
                 ) -> dict[str, str]:  # fmt: skip
    unit = measure.get("unit") or ""
    target = value["target"] if value and value["target"] is not None else None
    reported = value["value"] if value and value["value"] is not None else None
    on_target = value.get("on_target") if value else None
    verdict = "" if on_target is None else (" (on target)" if on_target else " (off target)")
    return {
        "indicator": measure["indicator"],
        "baseline": f"{measure['baseline']:g}{unit}",
        "target": NONE if target is None else f"{target:g}{unit}" + (
            f" ({measure['bar']} bar)" if measure.get("bar") and value
            and "bar" in (value.get("target_label") or "") else ""),
        "value": NONE if reported is None else f"{reported:g}{unit}{verdict}",
        "explanation": explanation if value else EXPLANATIONS["no_data"],
    }


def _goals(document: dict[str, Any], rollup: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = {g["number"]: g for g in (rollup or {}).get("goals", [])}
    return [
        {"number": goal["number"], "statement": goal["statement"],
         "measures": [_measure_row(m, next((v for v in found.get(str(goal["number"]), {})
                                            .get("measures", []) if v["measure"].endswith(
                                                f":{n}")), None), "")
                      for n, m in enumerate(goal["measures"], 1)]}
        for goal in document["direction"]["goals"]
    ]  # fmt: skip


def _supports(document: dict[str, Any], cases: list[dict[str, Any]], end: str
              ) -> list[dict[str, str]]:  # fmt: skip
    """The plan's supports, and its cases as they stood at the term's end (``end``)."""
    rows = [
        {"needed": s["needed"], "provided": s.get("provided") or NONE,
         "provider": " / ".join(x for x in (s.get("provider"), s.get("source")) if x) or NONE,
         "how_used": s.get("how_used") or NONE, "effectiveness": s.get("effectiveness") or NONE}
        for s in document.get("supports", [])
    ]  # fmt: skip
    start = plan_year_periods(plan_year_of(end))[0]
    for case in (c for c in cases if start <= c["opened"] <= end):  # of the year, so far
        support, judgment = as_of_end(case, end)
        practices = ", ".join(case["practices"]) or NONE
        rows.append({
            "needed": f"Support case opened {month_name(case['opened'])} on {practices}: "
                      f"{'; '.join(case['reasons']) or NONE}",
            "provided": support["what"] if support else "not yet",
            "provider": support["provider"] if support else case["addressed_to"],
            "how_used": f"given {support['on']}" if support else NONE,
            "effectiveness": _judged(judgment) if judgment else (
                "not yet judged" if support else NONE),
        })  # fmt: skip
    return rows


def as_of_end(case: dict[str, Any], end: str
              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:  # fmt: skip
    """A case's support and judgment as they stood at the end of month ``end`` (those of
    later months are not yet)."""
    support, judgment = case.get("support"), case.get("judgment")
    support = support if support and support.get("period", "") <= end else None
    judgment = judgment if support and judgment and judgment.get("period", "") <= end else None
    return support, judgment


def _judged(judgment: dict[str, Any]) -> str:
    before, after = judgment.get("on_time_before"), judgment.get("on_time_after")
    word = "Effective" if judgment["effective"] else "Not effective"
    return f"{word}: actions on time {pct(before)} before, {pct(after)} after"
