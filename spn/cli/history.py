"""``spn history PLAN``: the plan's whole timeline, each service answering for its own
events (request/reply), joined here in the order they were recorded."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from contracts import timeline as tl
from contracts.status import PERIOD_RE
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import CliError, InvalidInputError, RefusedError
from spn.stack.settings import StackSettings

QUERIES = (tl.GetPlanDocumentTimeline, tl.GetPlanStatusTimeline, tl.GetPlanRollupTimeline,
           tl.GetPlanAlertsTimeline)  # fmt: skip


async def timeline(client: SpnClient, plan: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Every service's entries, oldest first, and what each service that did not answer
    said instead (the plans service must know the plan)."""
    answers = await asyncio.gather(*(client.request(q(plan=plan)) for q in QUERIES),
                                   return_exceptions=True)  # fmt: skip
    entries: list[dict[str, Any]] = []
    missing = []
    for query, answer in zip(QUERIES, answers, strict=True):
        service = query.SUBJECT.split(".")[1]
        if isinstance(answer, BaseException):
            if service == "plans" or not isinstance(answer, CliError):
                raise answer
            if not _knows_nothing(answer):
                missing.append(f"{service}: {answer}")
            continue
        entries += answer["entries"]
    return sorted(entries, key=lambda e: (e["at"], e["service"], e["version"] or 0)), missing


def _knows_nothing(error: CliError) -> bool:
    """The service has recorded nothing about the plan (status never adopted a draft)."""
    return isinstance(error, RefusedError) and (
        error.code.startswith("unknown") or error.code.endswith("not_found"))


def history(args: argparse.Namespace, settings: StackSettings) -> int:
    if args.period and not PERIOD_RE.match(args.period):
        raise InvalidInputError(f"--period {args.period!r} is not a month YYYY-MM")

    async def work(client: SpnClient) -> int:
        entries, missing = await timeline(client, args.plan)
        shown = [e for e in entries if _wanted(e, args.kind, args.period)]
        if args.json:
            output.emit_json({"plan": args.plan, "entries": shown, "unanswered": missing})
        else:
            for line in output.timeline_lines(args.plan, shown, missing):
                print(line)
        return 1 if missing else 0

    return with_client(settings, work)


def _wanted(entry: dict[str, Any], kinds: list[str] | None, period: str | None) -> bool:
    kind = entry["kind"]
    if kinds and not any(kind == k or kind.startswith(f"{k}.") or kind.endswith(f".{k}")
                         for k in kinds):  # fmt: skip
        return False
    return period is None or entry["effective"] == period


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    found = sub.add_parser(
        "history", help="a plan's whole timeline across the services",
        description="Drafts, submissions, approvals and returns, adjustments with cause and "
        "justification, every monthly report with what it says, slips and missing reports, "
        "period closes with their figures, waning flags, support cases, supports and their "
        "judgments, alerts and their delivery: each with when it was recorded, the period "
        "it is about (a report for October recorded in December shows [2026-10]) and who.",
    )  # fmt: skip
    found.add_argument("plan", help="plan key <organization>/<plan year>")
    found.add_argument("--kind", action="append", metavar="KIND",
                       help="only these (repeatable): a service (plan, status, rollup, "
                       "alerts) or a kind (adjusted, status.reported, flag_raised)")  # fmt: skip
    found.add_argument("--period", help="only what is about this month YYYY-MM")
    found.add_argument("--json", action="store_true", help="print JSON for scripts")
    found.set_defaults(handler=history)
