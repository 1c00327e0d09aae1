"""The network report of an LEA or the SEA for a term: its schools or LEAs, its practices
and domains (implementation beside outcome data), the waning flags, and the support cases
with what was given and whether it worked. A pure function of the rollup's answers for the
term's closed months, its flags and its cases, like the plan report."""

from __future__ import annotations

from typing import Any

from contracts.periods import first_day, last_day, term_kind, term_label, term_periods
from contracts.practices import PRACTICES, PracticeCode
from spn.reports.document import NONE, as_of_end, month_name, pct

NETWORK_COLUMNS = {
    "rows": ("Organization", "School plans", "Actions Completed (%)", "Actions on Time (%)",
             "Actions Behind Schedule (%)", "Milestones Completed (%)",
             "Milestones Behind Schedule", "On time, month by month"),
    "practices": ("Practice", "Strategies", "Schools", "Actions Completed (%)",
                  "Actions on Time (%)", "Actions Behind Schedule (%)", "Status",
                  "Measures on Target"),
    "domains": ("Domain", "Strategies", "Actions Completed (%)", "Actions on Time (%)",
                "Actions Behind Schedule (%)"),
    "measures": ("Practice", "School", "Strategy", "Indicator", "Target", "Value",
                 "On Target"),
    "flags": ("Month", "Organization", "Flag", "Change"),
    "cases": ("Opened", "School or LEA", "Addressed to", "Practices", "Reasons", "Status",
              "Support given", "Effectiveness"),
}  # fmt: skip


def months_shown(term: str, closed: list[str]) -> list[str]:
    """The closed months of the plan year up to the term's end (the trend's)."""
    start, end = term_periods(f"{term[:4]}-Q1")[0], term_periods(term)[-1]
    return [m for m in closed if start <= m <= end]


def network_report(term: str, rollups: dict[str, dict[str, Any]], flags: list[dict[str, Any]],
                   cases: list[dict[str, Any]],
                   schools: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """``rollups``: the organization's rollup of each closed month shown (the last one: the
    term's figures); ``flags`` and ``cases``: beneath it, of any month; ``schools``: an
    LEA's schools' own rollups as of the term (their measures, by practice)."""
    months, year = term_periods(term), term_periods(f"{term[:4]}-Q1")
    shown = sorted(rollups)
    through = max((m for m in shown if m in months), default=None)
    last = rollups[through] if through else None
    organization = (last or (rollups[shown[-1]] if shown else {})).get("organization") or {}
    in_term = [f for f in flags if months[0] <= f["period"] <= months[-1]]
    return {
        "document": "network",
        "title": f"Network report of {organization.get('name') or NONE}",
        "organization": organization.get("code"),
        "kind": str(organization.get("kind") or ""),
        "term": term,
        "term_kind": term_kind(term),
        "term_label": term_label(term),
        "through": month_name(through) if through else None,
        "as_of": last_day(through).isoformat() if through else None,
        "closed": through == months[-1],
        "summary": _figure_cells(organization.get("figures")),
        "school_plans": organization.get("school_plans", 0),
        "trend_months": [f"{first_day(m):%b}" for m in shown],
        "rows": [_row(r, rollups, shown) for r in (last or {}).get("rows", [])],
        "practices": [_practice(p) for p in (last or {}).get("practices", [])],
        "domains": [_domain(d) for d in (last or {}).get("domains", [])],
        "measures": _measures(schools or []),
        "flags": [_flag(f) for f in in_term],
        "cases": [_case(c, months[-1]) for c in sorted(
                      cases, key=lambda c: (c["opened"], c["recipient"], str(c["case_id"])))
                  if year[0] <= c["opened"] <= months[-1]],
        "columns": NETWORK_COLUMNS,
    }


def _figure_cells(figures: dict[str, Any] | None) -> dict[str, str]:
    if not figures:
        return {k: NONE for k in ("completed", "on_time", "behind", "milestones", "behind_n")}
    return {"completed": pct(figures["actions_completed_pct"]),
            "on_time": pct(figures["actions_on_time_pct"]),
            "behind": pct(figures["actions_behind_pct"]),
            "milestones": pct(figures["milestones_completed_pct"]),
            "behind_n": str(figures["milestones_behind"])}  # fmt: skip


def _row(row: dict[str, Any], rollups: dict[str, dict[str, Any]], shown: list[str]
         ) -> dict[str, Any]:  # fmt: skip
    trend = []
    for month in shown:
        found = next((r for r in rollups[month].get("rows", []) if r["code"] == row["code"]),
                     None)  # fmt: skip
        value = (found or {}).get("figures") or {}
        trend.append({"label": f"{first_day(month):%b}",
                      "value": value.get("actions_on_time_pct") or 0.0,
                      "text": pct(value.get("actions_on_time_pct"))})  # fmt: skip
    return {"code": row["code"], "name": row["name"], "kind": str(row["kind"]),
            "school_plans": str(row["school_plans"]), **_figure_cells(row["figures"]),
            "trend": trend}  # fmt: skip


def _practice(practice: dict[str, Any]) -> dict[str, str]:
    outcomes = practice.get("outcomes")
    cell = (f"{outcomes['on_target']} of {outcomes['reported']} reported "
            f"({outcomes['measures']} measure{'s' * (outcomes['measures'] != 1)})"
            if outcomes else NONE)  # fmt: skip
    figures = practice["figures"]
    return {"practice": practice["practice"],
            "title": PRACTICES[PracticeCode(practice["practice"])].title,
            "strategies": str(practice["strategies"]),
            "organizations": str(practice["organizations"]),
            "completed": pct(figures["actions_completed_pct"]),
            "on_time": pct(figures["actions_on_time_pct"]),
            "behind": pct(figures["actions_behind_pct"]),
            "status": practice["status"].replace("_", " "), "outcomes": cell}  # fmt: skip


def _domain(domain: dict[str, Any]) -> dict[str, str]:
    figures = domain["figures"]
    return {"domain": f"{domain['domain']} {domain['name']}",
            "strategies": str(domain["strategies"]),
            "completed": pct(figures["actions_completed_pct"]),
            "on_time": pct(figures["actions_on_time_pct"]),
            "behind": pct(figures["actions_behind_pct"])}  # fmt: skip


def _measures(schools: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Each school's strategy measures, by practice then school: the values they share."""
    rows = []
    for school in schools:
        for strategy in school.get("strategies", []):
            for m in strategy["measures"]:
                rows.append({
                    "practice": strategy["practice"], "school": school["organization"]["name"],
                    "strategy": strategy["number"], "indicator": m["indicator"],
                    "target": NONE if m["target"] is None else f"{m['target']:g}",
                    "value": NONE if m["value"] is None else f"{m['value']:g}",
                    "on_target": {True: "yes", False: "no", None: NONE}[m.get("on_target")],
                })  # fmt: skip
    return sorted(rows, key=lambda r: (r["practice"], r["school"], r["strategy"]))


def _flag(flag: dict[str, Any]) -> dict[str, str]:
    practices = sorted({s["practice"] for s in flag.get("strategies") or []})
    on = f" on {', '.join(practices)}" if practices else ""
    return {"period": month_name(flag["period"]), "organization": flag["organization"],
            "rule": flag["rule"].replace("_", " ") + on, "change": flag["change"]}  # fmt: skip


def _case(case: dict[str, Any], end: str) -> dict[str, str]:
    """A case as it stood at the end of month ``end``."""
    support, judgment = as_of_end(case, end)
    given = (f"{support['what']} ({support['provider']}, {support['on']})" if support
             else NONE)  # fmt: skip
    if judgment:
        word = "effective" if judgment["effective"] else "not effective"
        worked = (f"{word}: on time {pct(judgment.get('on_time_before'))} before, "
                  f"{pct(judgment.get('on_time_after'))} after")  # fmt: skip
    else:
        worked = NONE
    return {"opened": month_name(case["opened"]), "recipient": case["recipient"],
            "addressed_to": case["addressed_to"],
            "practices": ", ".join(case["practices"]) or NONE,
            "reasons": "; ".join(r.replace("_", " ") for r in case["reasons"]) or NONE,
            "status": _status_then(case, support, judgment), "support": given,
            "effectiveness": worked}  # fmt: skip


def _status_then(case: dict[str, Any], support: Any, judgment: Any) -> str:
    """open until its support, supported until its judgment, then as it is now."""
    if support is None:
        return "open"
    return case["status"] if judgment is not None else "supported"
