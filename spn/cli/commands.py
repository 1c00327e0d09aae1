"""What each ``spn`` subcommand does. Each returns the process exit code."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from contracts import alerts as al
from contracts import asyncapi
from contracts import plan_commands as cmd
from contracts import status as st
from contracts.export import SCHEMA_DIR, export, file_name, render, versioned_contracts
from contracts.rollup import (
    GetRollup,
    ListFlags,
    ListSupportCases,
    PerformanceMeasureReported,
    ProvideSupport,
)
from services.shared.credentials import CredentialError, read_credential
from spn.cli import output, reports
from spn.cli.client import SpnClient
from spn.cli.errors import CliError, InvalidInputError, NotFoundError
from spn.cli.files import check_plan, load_network, load_plan
from spn.stack.credentials import organization_of
from spn.stack.settings import StackSettings

Handler = Callable[[argparse.Namespace, StackSettings], int]


def default_person() -> str:
    return os.environ.get("SPN_USER") or _login_name()


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "spn-cli"


def with_client(settings: StackSettings, work: Callable[[SpnClient], Awaitable[int]]) -> int:
    async def run() -> int:
        async with SpnClient(settings.client_nats_url, settings.namespace,
                             credentials=settings.client_credentials) as client:  # fmt: skip
            return await work(client)

    return asyncio.run(run())


# -- organizations ---------------------------------------------------------------------------


def org_import(args: argparse.Namespace, settings: StackSettings) -> int:
    network = load_network(Path(args.file))

    async def work(client: SpnClient) -> int:
        results = []
        for i, org in enumerate(network.organizations, 1):
            result = await client.request(cmd.RegisterOrganization(organization=org))
            results.append(result)
            if not args.json:
                print(f"[{i}/{len(network.organizations)}] {org.code:<24} {result['result']}")
        if args.json:
            output.emit_json({"organizations": results})
        else:
            print(_tally(results, "organizations"))
        return 0

    return with_client(settings, work)


def org_list(args: argparse.Namespace, settings: StackSettings) -> int:
    async def work(client: SpnClient) -> int:
        result = await client.request(cmd.ListOrganizations(kind=args.kind))
        if args.json:
            output.emit_json(result)
        else:
            for line in output.organization_tree(result["organizations"]):
                print(line)
        return 0

    return with_client(settings, work)


# -- plans -----------------------------------------------------------------------------------


def plan_validate(args: argparse.Namespace, settings: StackSettings) -> int:
    """Every file, every problem of each (not only the first); exit 2 if any is invalid."""
    checked = [check_plan(Path(path)) for path in args.files]
    if args.json:
        output.emit_json([c.to_json() for c in checked])
    else:
        for line in output.validation_lines(checked):
            print(line)
    return 0 if all(c.valid for c in checked) else InvalidInputError.exit_code


def plan_import(args: argparse.Namespace, settings: StackSettings) -> int:
    if (args.cause is None) != (args.justification is None):
        raise InvalidInputError("an adjustment needs both --cause and --justification")
    plans = [load_plan(Path(path)) for path in args.files]  # all valid before anything is sent
    adjustment = (
        cmd.Adjustment(cause=args.cause, justification=args.justification)
        if args.cause is not None
        else None
    )
    requests = [cmd.ImportPlan(plan=plan, by=args.by, adjustment=adjustment) for plan in plans]
    return send_each(settings, list(zip(args.files, requests, strict=True)), "plans", args.json)


def send_each(settings: StackSettings, requests: Sequence[tuple[str, cmd.Command]], noun: str,
              as_json: bool) -> int:  # fmt: skip
    """Send an import's commands in order, once every one is known to be small enough
    (each named by the file it came from); a line each, and how many did what."""

    async def work(client: SpnClient) -> int:
        for path, request in requests:
            try:  # every one small enough before the first is sent
                client.check_size(request)
            except InvalidInputError as error:
                raise InvalidInputError(f"{path}: {error}") from None
        results = []
        for i, (_, request) in enumerate(requests, 1):
            result = await client.request(request)
            results.append(result)
            if not as_json:
                print(f"[{i}/{len(requests)}] {result['key']:<40} {result['result']}")
        if as_json:
            output.emit_json({noun: results})
        elif len(results) > 1:
            print(_tally(results, noun))
        return 0

    return with_client(settings, work)


def plan_show(args: argparse.Namespace, settings: StackSettings) -> int:
    return _query(settings, cmd.GetPlan(plan=args.plan), args.json, output.plan_lines)


def plan_history(args: argparse.Namespace, settings: StackSettings) -> int:
    return _query(settings, cmd.GetPlanHistory(plan=args.plan), args.json, output.history_lines)


def plan_list(args: argparse.Namespace, settings: StackSettings) -> int:
    def lines(result: dict[str, Any]) -> list[str]:
        return [
            f"{p['key']:<36} {p['status']:<10} v{p['version']:<4} {p['id']}"
            for p in result["plans"]
        ] or ["no plans"]

    query = cmd.ListPlans(organization=args.org, plan_year=args.year)
    return _query(settings, query, args.json, lines)


def acting_organization(settings: StackSettings, asked: str | None) -> str | None:
    """The organization a command is done as: an organization's credential acts only as
    itself (``--as`` may name only it); the operator's as ``--as`` says."""
    path = settings.client_credentials
    try:
        own = organization_of(read_credential(path).user) if path else None
    except CredentialError as error:
        raise InvalidInputError(str(error)) from None
    if own is not None and asked not in (None, own):
        raise InvalidInputError(f"this credential is {own}'s: it acts only as {own}, not "
                                f"as {asked}")  # fmt: skip
    return asked or own


def plan_transition(command: type[cmd.PlanCommand]) -> Handler:
    """submit / approve / return / close: the plan, the organization acting, the person."""

    def run(args: argparse.Namespace, settings: StackSettings) -> int:
        acting = acting_organization(settings, args.as_org) or _owner_of(args.plan)
        extra = {"reason": args.reason} if command is cmd.ReturnPlan else {}
        request = command(plan=args.plan, organization=acting, by=args.by, **extra)

        async def work(client: SpnClient) -> int:
            result = await client.request(request)
            if args.json:
                output.emit_json(result)
            else:
                done = result["result"]
                if done == "unchanged":
                    done = "unchanged (it was so already; nothing stored)"
                print(f"{result['key']}: {done} (by {args.by} for {acting})")
            return 0

        return with_client(settings, work)

    return run


def _owner_of(plan_ref: str) -> str:
    if "/" not in plan_ref:
        raise InvalidInputError("give --as ORG (the organization acting) when naming a plan by id")
    return plan_ref.split("/", 1)[0]


# -- contracts -------------------------------------------------------------------------------


def contracts_export(args: argparse.Namespace, settings: StackSettings) -> int:
    if args.check:
        stale = [
            file_name(c)
            for c in versioned_contracts()
            if not (SCHEMA_DIR / file_name(c)).exists()
            or (SCHEMA_DIR / file_name(c)).read_text() != render(c)
        ]
        path = asyncapi.ASYNCAPI_PATH
        if not path.exists() or path.read_text() != asyncapi.render():
            stale.append(path.name)
        if stale:
            print(f"stale contracts: {', '.join(stale)}; run `make schemas`")
            return 1
        print(f"{len(versioned_contracts())} JSON Schemas and {path.name} are up to date")
        return 0
    written = export()
    print(f"wrote {len(written)} JSON Schemas to {SCHEMA_DIR}")
    print(f"wrote the AsyncAPI document {asyncapi.write()}")
    return 0


# -- helpers ---------------------------------------------------------------------------------


def _query(
    settings: StackSettings,
    query: cmd.Command,
    as_json: bool,
    render_lines: Callable[[dict[str, Any]], Any],
    check: Callable[[dict[str, Any]], None] = lambda result: None,
) -> int:
    """Send the query; ``check`` may refuse its answer (raising a CliError) before output."""

    async def work(client: SpnClient) -> int:
        result = await client.request(query)
        check(result)
        if as_json:
            output.emit_json(result)
        else:
            for line in render_lines(result):
                print(line)
        return 0

    return with_client(settings, work)


def _tally(results: list[dict[str, Any]], noun: str) -> str:
    counts: dict[str, int] = {}
    for result in results:
        counts[result["result"]] = counts.get(result["result"], 0) + 1
    return f"{len(results)} {noun}: " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))


# -- status ----------------------------------------------------------------------------------


def report_submit(args: argparse.Namespace, settings: StackSettings) -> int:
    rows = reports.read_rows(Path(args.file), args.reporter)
    first_row: dict[str, int] = {}
    repeated: list[dict[str, int]] = []
    for row in rows:  # the same row twice is one report: sent once
        if row.report is not None:
            first = first_row.setdefault(row.report.report_id, row.number)
            if first != row.number:
                repeated.append({"row": row.number, "same_as": first})
    valid = [row.report for row in rows
             if row.report is not None and first_row[row.report.report_id] == row.number]
    rejected: list[dict[str, Any]] = [
        {"row": r.number, "report_id": None, "reason": "invalid_row", "message": r.problem}
        for r in rows
        if r.report is None
    ]
    if valid:
        asyncio.run(reports.publish_reports(settings.client_nats_url, settings.namespace, valid,
                                            settings.client_credentials))

    async def work(client: SpnClient) -> dict[str, dict[str, Any]]:
        return await reports.wait_for_outcomes(client, valid, args.timeout, not args.json)

    outcomes = with_client_result(settings, work) if valid and not args.no_wait else {}
    numbers = first_row
    for report_id, outcome in outcomes.items():
        if outcome["outcome"] == "rejected":
            rejected.append(
                {"row": numbers[report_id], "report_id": report_id,
                 "reason": outcome["reason"], "message": outcome["message"]}
            )  # fmt: skip
    counts = {
        "rows": len(rows),
        "published": len(valid),
        "accepted": sum(o["outcome"] == "recorded" for o in outcomes.values()),
        "pending": len(valid) if args.no_wait else sum(
            o["outcome"] == "pending" for o in outcomes.values()),
        "parked": sum(o["outcome"] == "parked" for o in outcomes.values()),
        "rejected": sorted(rejected, key=lambda r: r["row"]),
        "repeated": repeated,
    }  # fmt: skip
    if args.json:
        output.emit_json(counts)
    else:
        for line in output.submit_lines(counts):
            print(line)
    return 1 if rejected else 0


def period_close(args: argparse.Namespace, settings: StackSettings) -> int:
    """Close the month; with ``--wait`` (the default in a terminal) return only when the
    rollup has judged it: every flag raised and every case opened."""
    wait = args.wait if args.wait is not None else sys.stdout.isatty()

    async def work(client: SpnClient) -> int:
        result = await client.request(st.ClosePeriod(period=args.period, early=args.early))
        if wait:
            result |= await _judgment(client, args.period, args.timeout, not args.json)
        if args.json:
            output.emit_json(result)
            return 0
        if result["result"] == "unchanged":
            print(f"period {result['period']} was already closed ({result['plans_evaluated']} "
                  "plans evaluated then); nothing changed")  # fmt: skip
        else:
            print(f"closed {result['period']}: {result['plans_evaluated']} plans evaluated")
        if wait:
            print(f"judged: {result['flags']} flags, {result['cases_opened']} support cases "
                  "opened")  # fmt: skip
        return 0

    return with_client(settings, work)


async def _judgment(
    client: SpnClient, period: str, timeout: float, progress: bool
) -> dict[str, Any]:
    """Wait until the rollup has judged the period; its flags and the cases it opened."""
    deadline = time.monotonic() + timeout
    if progress:
        print("  waiting for the rollup to judge the period ...", file=sys.stderr)
    while not (rollup := await client.request(GetRollup(period=period)))["judged"]:
        if time.monotonic() > deadline:
            raise CliError(f"the rollup has not judged {period} after {timeout:.0f}s (is it "
                           "running? `spn up` shows each service's health)")  # fmt: skip
        await asyncio.sleep(0.5)
    cases = (await client.request(ListSupportCases()))["cases"]
    return {"judged": True, "flags": len(rollup["flags"]),
            "cases_opened": sum(1 for case in cases if case["opened"] == period)}  # fmt: skip


def plan_progress(args: argparse.Namespace, settings: StackSettings) -> int:
    query = st.GetPlanProgress(plan=args.plan, term=args.term)
    return _query(settings, query, args.json,
                  lambda found: output.progress_lines(found, args.term))  # fmt: skip


def rollup(args: argparse.Namespace, settings: StackSettings) -> int:
    query = GetRollup(organization=args.org, period=args.period)

    def closed(result: dict[str, Any]) -> None:
        """A period never closed has no figures: say so, not an empty table."""
        if args.period is not None and args.period not in result["periods"]:
            periods = ", ".join(result["periods"]) or "none yet"
            raise NotFoundError(f"period {args.period} has not been closed (closed: {periods})")

    return _query(settings, query, args.json, output.rollup_lines, check=closed)


def measure_report(args: argparse.Namespace, settings: StackSettings) -> int:
    request = PerformanceMeasureReported(plan=args.plan, measure=args.measure, value=args.value,
                            period=args.period, year=args.year, by=args.by)  # fmt: skip

    def lines(result: dict[str, Any]) -> list[str]:
        same = " (unchanged: already recorded)" if result["unchanged"] else ""
        return [f"{result['plan']} {result['measure']} = {result['value']:g} "
                f"({result['period']}){same}"]  # fmt: skip

    return _query(settings, request, args.json, lines)


def flags(args: argparse.Namespace, settings: StackSettings) -> int:
    query = ListFlags(organization=args.org, period=args.period)
    return _query(settings, query, args.json, output.flag_lines)


def supports_list(args: argparse.Namespace, settings: StackSettings) -> int:
    query = ListSupportCases(organization=args.org, status=args.status)
    return _query(settings, query, args.json, output.case_lines)


def support_provide(args: argparse.Namespace, settings: StackSettings) -> int:
    try:
        on = date.fromisoformat(args.on)
        case_id = UUID(args.case)
    except ValueError as error:
        raise InvalidInputError(f"invalid argument: {error}") from None
    provider = acting_organization(settings, args.as_org) or args.as_org
    request = ProvideSupport(case_id=case_id, provider=provider, on=on, what=args.what,
                             by=args.by, practice=args.practice)  # fmt: skip
    return _query(settings, request, args.json, lambda case: output.case_lines({"cases": [case]}))


def with_client_result(settings: StackSettings, work: Callable[[SpnClient], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with SpnClient(settings.client_nats_url, settings.namespace,
                             credentials=settings.client_credentials) as client:  # fmt: skip
            return await work(client)

    return asyncio.run(run())


def alerts_list(args: argparse.Namespace, settings: StackSettings) -> int:
    query = al.ListAlerts(organization=args.org, status=args.status, period=args.period,
                          limit=args.limit)  # fmt: skip
    return _query(settings, query, args.json, output.alert_lines)


def alerts_show(args: argparse.Namespace, settings: StackSettings) -> int:
    query = al.ShowMessage(id=_uuid(args.id))
    return _query(settings, query, args.json, lambda m: output.message_lines(m, args.html))


def alerts_resend(args: argparse.Namespace, settings: StackSettings) -> int:
    request = al.ResendMessage(id=_uuid(args.id), by=args.by)
    return _query(settings, request, args.json, lambda m: [
        f"message {m['message_id']} to {m['target']}: {m['status']} (sent again with the same "
        "Message-ID)"])  # fmt: skip


def alerts_test(args: argparse.Namespace, settings: StackSettings) -> int:
    request = al.SendTestMessage(to=args.to, by=args.by)

    def check(result: dict[str, Any]) -> None:
        if not result["delivered"]:
            raise CliError(f"the SMTP server did not take the test message: {result['error']}")

    return _query(settings, request, args.json, lambda r: [
        f"test message {r['message_id']} sent to {r['to']}"], check=check)  # fmt: skip


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInputError(f"{text!r} is not an alert or message id") from None
