"""``spn report plan``: the Tool A progress report of one plan for a quarter, a semester or
the plan year, asked of the services and written as PDF, HTML or Markdown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.periods import plan_year_of_term, term_kind
from contracts.rollup import GetRollup, ListSupportCases
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import InvalidInputError
from spn.reports.document import plan_report
from spn.reports.render import render
from spn.stack.settings import StackSettings


async def gather_plan_report(client: SpnClient, plan: str, term: str) -> dict[str, Any]:
    """The report's data, asked of the plans, status and rollup services."""
    detail = await client.request(cmd.GetPlan(plan=plan))
    key = detail["summary"]["key"]
    if plan_year_of_term(term) != detail["plan"]["plan_year"]:
        raise InvalidInputError(f"{term} is not of plan year {detail['plan']['plan_year']} of "
                                f"plan {key}")  # fmt: skip
    progress = await client.request(st.GetPlanProgress(plan=key))
    organization = detail["plan"]["organization"]
    through = next((t["through"] for t in progress["terms"] if t["term"] == term), None)
    rollup = await client.request(GetRollup(organization=organization, period=through))
    cases = await client.request(ListSupportCases(organization=organization))
    mine = [c for c in cases["cases"] if c["recipient"] == organization]
    return plan_report(term, detail, progress, rollup, mine)


def term_of(args: argparse.Namespace) -> str:
    return str(args.quarter or args.semester or args.year)


def default_path(settings: StackSettings, report: dict[str, Any], form: str) -> Path:
    return settings.data_dir / "reports" / f"{report['organization']}-{report['term']}.{form}"


def write(report: dict[str, Any], form: str, out: Path) -> Path:
    """The report written whole or not at all (a temporary file renamed)."""
    body = render(report, form)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(body)
    partial.replace(out)
    return out


def report_plan(args: argparse.Namespace, settings: StackSettings) -> int:
    check_term(args)

    async def work(client: SpnClient) -> int:
        report = await gather_plan_report(client, args.plan, term_of(args))
        if args.out == "-":
            sys.stdout.buffer.write(render(report, args.format))
            return 0
        out = Path(args.out) if args.out else default_path(settings, report, args.format)
        written = write(report, args.format, out)
        if args.json:
            output.emit_json({"plan": report["plan"], "term": report["term"],
                              "format": args.format, "path": str(written)})  # fmt: skip
        else:
            print(f"{report['term_label']} report of {report['plan']}: {written}")
        return 0

    return with_client(settings, work)


def add_parser(report_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``spn report plan`` (beside ``spn report submit``)."""
    plan = report_sub.add_parser(
        "plan", help="one plan's Tool A progress report for a quarter, semester or year: "
        "implementation (strategy x semester, milestone x quarter), performance data and "
        "supports, as PDF, HTML or Markdown",
        description="The quarters and semesters of the plan year (July-June) up to the one "
        "asked are shown side by side; figures are as of the term's last closed month.")
    plan.add_argument("plan", help="plan key <organization>/<plan year>, or plan id")
    term = plan.add_mutually_exclusive_group(required=True)
    term.add_argument("--quarter", help="2026-Q2 (Oct-Dec 2026); Q1 Jul-Sep, Q3 Jan-Mar, Q4 "
                      "Apr-Jun of the plan year 2026-27")  # fmt: skip
    term.add_argument("--semester", help="2026-S1 (Jul-Dec 2026) or 2026-S2 (Jan-Jun 2027)")
    term.add_argument("--year", help="the plan year, 2026-27: the annual report to "
                      "stakeholders")  # fmt: skip
    plan.add_argument("--format", choices=("pdf", "html", "md"), default="pdf")
    plan.add_argument("--out", help="the file to write ('-': standard output; default: "
                      "<data dir>/reports/<organization>-<term>.<format>)")  # fmt: skip
    plan.add_argument("--json", action="store_true", help="print what was written as JSON")
    plan.set_defaults(handler=report_plan)


def check_term(args: argparse.Namespace) -> None:
    """A term in the form its flag asks for, else a clear error."""
    asked = "quarter" if args.quarter else "semester" if args.semester else "year"
    try:
        found = term_kind(term_of(args))
    except ValueError as error:
        raise InvalidInputError(str(error)) from None
    if found != asked:
        raise InvalidInputError(f"--{asked} {term_of(args)} is a {found}")

