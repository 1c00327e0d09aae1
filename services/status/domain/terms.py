"""Tool A figures of a quarter, a semester or the year, and what the monthly reports of a
span said. Pure functions of the monthly closes and the reports.

- A term's figures are those of the close of its last closed month (``through``): the
  state as of that month's last day. Percentages are worked out again from the counts
  (never averaged), and a term is ``closed`` when its last month is.
- What was reported (outputs completed, cause & adjustments made, resources and budget
  used, comments) comes from the latest report of each action for each month of the span
  (a later report for the same month corrects an earlier one): the budget used is their
  sum, each text is listed once per action, with the month it was first reported.

What was reported is given per milestone only (a strategy's or the plan's is the union
of its milestones'), and only for what was asked: a reply carries each text about twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from contracts.periods import term_kind, term_periods
from services.status.domain.figures import Counts

NOTES = ("outputs_completed", "cause_and_adjustments", "resources_used", "comments")


def counted(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Figures worked out again from their counts."""
    return Counts(**{name: figures[name] for name in Counts._fields}).figures()


def latest_reports(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The latest report (by version) of each action for each month, in report order."""
    latest: dict[tuple[str, str], Mapping[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["version"]):
        latest[(row["action"], row["period"])] = row
    return sorted(latest.values(), key=lambda r: (r["period"], r["version"]))


def reported(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What the reports say, from the latest report of each action and month."""
    chosen = latest_reports(rows)
    notes: dict[str, list[dict[str, str]]] = {name: [] for name in NOTES}
    seen: set[tuple[str, str, str]] = set()
    for row in chosen:
        for name in NOTES:
            texts = row[name] if name == "outputs_completed" else [row[name]]
            for text in texts or []:
                if text and (name, row["action"], text) not in seen:
                    seen.add((name, row["action"], text))
                    notes[name].append({"action": row["action"], "period": row["period"],
                                        "text": text})  # fmt: skip
    budgets = [Decimal(row["budget_used"]) for row in chosen if row["budget_used"] is not None]
    return {"reports": len(chosen), **notes,
            "budget_used": str(sum(budgets, Decimal(0))) if budgets else None}  # fmt: skip


def term_figures(term: str, closes: Mapping[str, Mapping[str, Any]],
                 rows: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:  # fmt: skip
    """A term's figures per plan, strategy and milestone, and what the reports said of
    each milestone in it (``rows`` None: not asked, ``reported`` None)."""
    months = term_periods(term)
    closed = [m for m in months if m in closes]
    through = closed[-1] if closed else None
    close = closes[through] if through else None
    spanned = None if rows is None else [r for r in rows if r["period"] in months]
    return {
        "term": term,
        "kind": term_kind(term),
        "periods": months,
        "through": through,
        "closed": len(closed) == len(months),
        "as_of": close["as_of"] if close else None,
        "figures": counted(close["figures"]) if close else None,
        "strategies": _strategies(close, spanned),
    }


def _strategies(close: Mapping[str, Any] | None, rows: list[Mapping[str, Any]] | None
                ) -> list[dict[str, Any]]:  # fmt: skip
    """Each strategy of the close (and any only reported on), with its milestones."""
    closed = {s["number"]: s for s in close["strategies"]} if close else {}
    found = rows or []
    numbers = list(closed) + sorted({r["strategy"] for r in found} - set(closed))
    result = []
    for number in numbers:
        strategy = closed.get(number)
        mine = [r for r in found if r["strategy"] == number]
        milestones = {m["number"]: m for m in strategy["milestones"]} if strategy else {}
        ordered = list(milestones) + sorted({r["milestone"] for r in mine} - set(milestones))
        result.append({
            "number": number,
            "practice": strategy["practice"] if strategy else mine[0]["practice"],
            "figures": counted(strategy["figures"]) if strategy else None,
            "milestones_behind": [m for m, found in milestones.items()
                                  if found["figures"]["milestones_behind"]],
            "milestones": [
                {"number": m,
                 "figures": counted(milestones[m]["figures"]) if m in milestones else None,
                 "reported": None if rows is None else reported(
                     r for r in mine if r["milestone"] == m)}
                for m in ordered
            ],
        })  # fmt: skip
    return result


def period_reported(close: Mapping[str, Any], period: str,
                    rows: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:  # fmt: skip
    """A month's close with what was reported for each of its milestones (None: not
    asked)."""
    mine = None if rows is None else [r for r in rows if r["period"] == period]
    return {
        **close,
        "strategies": [
            {**s, "milestones": [
                {**m, "reported": None if mine is None else reported(
                    r for r in mine if r["milestone"] == m["number"])}
                for m in s["milestones"]]}
            for s in close["strategies"]
        ],
    }  # fmt: skip
