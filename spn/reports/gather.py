"""What a report is made of, asked of the services: by the CLI (``spn report``), by the
demo, and by the alerts service (a quarterly report attached to the liaison's message)."""

from __future__ import annotations

from typing import Any, Protocol

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.assessments import ListAssessments
from contracts.base import Command
from contracts.periods import (
    last_day,
    plan_year_of_term,
    plan_year_periods,
    term_kind,
    term_periods,
)
from contracts.rollup import GetRollup, ListFlags, ListSupportCases
from spn.reports.document import plan_report, shown_terms
from spn.reports.network import months_shown, network_report


class Asker(Protocol):
    async def request(self, command: Command) -> dict[str, Any]:
        """The command's result, or an error naming why it has none."""


class ReportError(ValueError):
    """A report that cannot be made of what was asked (a term of another plan year, a
    network report of a school)."""


async def gather_plan_report(client: Asker, plan: str, term: str) -> dict[str, Any]:
    """The report's data, asked of the plans, status and rollup services: the plan, its
    progress, each term shown (asked one by one: a reply stays small), its rollup as of the
    term's last closed month and its support cases of the plan year up to the term."""
    detail = await client.request(cmd.GetPlan(plan=plan))
    key, year = detail["summary"]["key"], detail["plan"]["plan_year"]
    if plan_year_of_term(term) != year:
        raise ReportError(f"{term} is not of plan year {year} of plan {key}")
    progress = await client.request(st.GetPlanProgress(plan=key))
    detailed = {}
    for shown in shown_terms(term):
        (found,) = (await client.request(st.GetPlanProgress(plan=key, term=shown)))["terms"]
        detailed[shown] = found
    organization = detail["plan"]["organization"]
    through = detailed[term]["through"] if term in detailed else next(
        (t["through"] for t in progress["terms"] if t["term"] == term), None)  # fmt: skip
    rollup = None
    if through is not None:  # none: the term has no figures yet, nor measures to show
        rollup = await client.request(GetRollup(organization=organization, period=through))
    cases = (await client.request(ListSupportCases(organization=organization)))["cases"]
    months = plan_year_periods(year)
    last = term_periods(term)[-1]
    mine = [c for c in cases if c["recipient"] == organization
            and months[0] <= c["opened"] <= last]  # fmt: skip
    assessed = None
    if term_kind(term) == "year":  # the annual report: the self-assessments' change too
        assessed = await client.request(ListAssessments(  # the latest by then, and before it
            organization=organization, up_to=last_day(last), latest=2))
    return plan_report(term, detail, progress, rollup, mine, detailed,
                       assessed["assessments"] if assessed else None)


async def gather_network_report(client: Asker, organization: str | None, term: str
                                ) -> dict[str, Any]:  # fmt: skip
    """The report's data: the rollup of each closed month of the plan year up to the
    term's end, the flags and the support cases beneath the organization."""
    latest = await client.request(GetRollup(organization=organization))
    code, kind = latest["organization"]["code"], str(latest["organization"]["kind"])
    if kind == "SCHOOL":
        raise ReportError(f"{code} is a school: a network report is of an LEA or the "
                                f"SEA (a school's: spn report plan {code}/<plan year>)")
    rollups = {m: await client.request(GetRollup(organization=code, period=m))
               for m in months_shown(term, latest["periods"])}  # fmt: skip
    if not rollups:
        raise ReportError(f"no month of plan year {plan_year_of_term(term)} up to the end of "
                          f"{term} is closed beneath {code} (closed: "
                          f"{', '.join(latest['periods']) or 'none yet'})")  # fmt: skip
    through = max((m for m in rollups if m in term_periods(term)), default=None)
    schools = [await client.request(GetRollup(organization=r["code"], period=through))
               for r in latest["rows"] if str(r["kind"]) == "SCHOOL"] if through else []
    flags = [f for m in rollups if m in term_periods(term)
             for f in (await client.request(ListFlags(organization=code, period=m)))["flags"]]
    cases: dict[str, dict[str, Any]] = {}  # its own, and each child's (theirs and beneath)
    for of in (code, *(r["code"] for r in latest["rows"])):
        for case in (await client.request(ListSupportCases(organization=of)))["cases"]:
            cases[case["case_id"]] = case
    return network_report(term, rollups, flags, list(cases.values()), schools)
