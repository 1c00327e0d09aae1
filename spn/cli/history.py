"""``spn history PLAN``: the plan's whole timeline, each service answering for its own
events (request/reply), joined here in the order they were recorded."""

from __future__ import annotations

import argparse
import asyncio
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from typing import Any

from contracts import replay as rp
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


SERVICE_KINDS = {"plans": "plan"}  # a service's name as its kinds begin


def _wanted(entry: dict[str, Any], kinds: list[str] | None, period: str | None) -> bool:
    kind = entry["kind"]
    kinds = [SERVICE_KINDS.get(k, k) for k in kinds] if kinds else kinds
    if kinds and not any(kind == k or kind.startswith(f"{k}.") or kind.endswith(f".{k}")
                         for k in kinds):  # fmt: skip
        return False
    return period is None or entry["effective"] == period


def moment(text: str) -> datetime:
    """A date is the end of that day (UTC); a date and time without a zone is UTC."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        found = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInputError(f"{text!r} is not a date (2027-03-31) or a date and time "
                                "(2027-03-31T12:00)") from None  # fmt: skip
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def replay(args: argparse.Namespace, settings: StackSettings) -> int:
    if (args.as_of is None) == (args.version is None):
        raise InvalidInputError("give --as-of DATE or --version N")
    at = moment(args.as_of) if args.as_of else None

    async def work(client: SpnClient) -> int:
        return _show(await replayed(client, args.plan, at, args.version), args.json,
                     output.replay_lines)  # fmt: skip

    return with_client(settings, work)


async def replayed(client: SpnClient, plan: str, at: datetime | None,
                   version: int | None = None) -> dict[str, Any]:  # fmt: skip
    """The plan then from its three services: asked at once for a moment; for a version,
    its document first (its recorded time is the moment for the others)."""
    document: Any = None
    if at is None:
        document = await client.request(rp.ReplayPlanDocument(plan=plan, version=version))
        at = datetime.fromisoformat(document["recorded_at"])
    asked = [client.request(rp.ReplayPlanStatus(plan=plan, as_of=at)),
             client.request(rp.ReplayPlanRollup(plan=plan, as_of=at))]  # fmt: skip
    if document is None:
        asked.append(client.request(rp.ReplayPlanDocument(plan=plan, as_of=at)))
    answers: list[Any] = await asyncio.gather(*asked, return_exceptions=True)
    if document is None:
        document = answers.pop()
        if isinstance(document, BaseException):
            raise document
    return {"plan": plan, "as_of": at.isoformat(), "document": document,
            "progress": _or_none(answers[0]), "rollup": _or_none(answers[1])}


def _or_none(answer: Any) -> Any:
    """A service's part, or None when it knows nothing of the plan; other errors raise."""
    if isinstance(answer, BaseException):
        if isinstance(answer, CliError) and _knows_nothing(answer):
            return None
        raise answer
    return answer


def diff(args: argparse.Namespace, settings: StackSettings) -> int:
    start, end = _point(args.from_), _point(args.to) if args.to else {}
    query = rp.DiffPlanDocument(plan=args.plan, from_version=start.get("version"),
                                from_time=start.get("time"), to_version=end.get("version"),
                                to_time=end.get("time"))  # fmt: skip

    async def work(client: SpnClient) -> int:
        return _show(await client.request(query), args.json, output.diff_lines)

    return with_client(settings, work)


def _show(found: dict[str, Any], as_json: bool,
          lines: Callable[[dict[str, Any]], Iterable[str]]) -> int:  # fmt: skip
    if as_json:
        output.emit_json(found)
    else:
        for line in lines(found):
            print(line)
    return 0


def _point(text: str) -> dict[str, Any]:
    """A version (a number) or a moment (a date, or a date and time)."""
    if text.isdigit() and len(text) < 8:
        return {"version": int(text)}
    return {"time": moment(text)}


Parsers = argparse._SubParsersAction  # type: ignore[type-arg]


def add_parser(sub: Parsers) -> None:
    _history_parser(sub)
    _replay_parser(sub)
    _diff_parser(sub)


def _replay_parser(sub: Parsers) -> None:
    again = sub.add_parser(
        "replay", help="a plan as it stood at a moment or a version, from events only",
        description="The plan's document, status and approvals (plans), its figures as "
        "known then (status: each period closed by then), its open waning flags and support "
        "cases then (rollup), each rebuilt from the services' events. Times are recorded "
        "times: a report for October recorded in December counts from December.",
    )  # fmt: skip
    again.add_argument("plan", help="plan key <organization>/<plan year>")
    again.add_argument("--as-of", metavar="DATE", help="a date (its end, UTC) or date and time")
    again.add_argument("--version", type=int, help="the plan's version (spn plan history)")
    again.add_argument("--json", action="store_true", help="print JSON for scripts")
    again.set_defaults(handler=replay)


def _diff_parser(sub: Parsers) -> None:
    changed = sub.add_parser(
        "diff", help="what changed in a plan between two versions or moments",
        description="Field by field, by item in Tool A numbering (action 1.1.1.2: due).",
    )  # fmt: skip
    changed.add_argument("plan", help="plan key <organization>/<plan year>")
    changed.add_argument("--from", dest="from_", required=True, metavar="A",
                         help="a version number, a date or a date and time")  # fmt: skip
    changed.add_argument("--to", metavar="B", help="the same (default: the plan as it is)")
    changed.add_argument("--json", action="store_true", help="print JSON for scripts")
    changed.set_defaults(handler=diff)


def _history_parser(sub: Parsers) -> None:
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
