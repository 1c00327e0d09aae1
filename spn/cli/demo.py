"""``spn up`` and ``spn demo``: the stack, and the sample network run through it."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx

from contracts import alerts as al
from contracts import plan_commands as cmd
from contracts import status as st
from contracts.assessments import ListAssessments, RecordAssessment
from contracts.organizations import OrgKind
from contracts.periods import first_day, next_period
from contracts.plans import ImprovementPlan
from contracts.rollup import (
    GetRollup,
    ListSupportCases,
    PerformanceMeasureReported,
    ProvideSupport,
)
from services.shared.secrets import redact
from spn.boards.export import expressions
from spn.boards.queries import Prometheus, PrometheusError, evaluate
from spn.cli import documents, output, reports
from spn.cli.assess import assessment_lines, load_assessments
from spn.cli.client import SpnClient
from spn.cli.files import load_network, load_plan
from spn.cli.simulation import Slip, monthly_reports
from spn.reports.gather import gather_network_report, gather_plan_report
from spn.stack.prometheus import binary as prometheus_binary
from spn.stack.prometheus import duration_seconds
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES, Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "network"
SHOWN_PLAN = "harbor-view-elementary/2026-27"
YEAR = [f"2026-{m:02d}" for m in range(9, 13)] + [f"2027-{m:02d}" for m in range(1, 7)]
"""September to June: the sample plans' school year (the demo's is the default July-June)."""
SLIP = Slip(start="2026-10", until="2027-01", recovers="2027-02")
LAKEVIEW_SCHOOLS = ("harbor-view-elementary", "north-shore-middle", "lakeview-high")
SEA_CODE = "state-dept-ed"
SUPPORT = {
    False: "The district's family-engagement coach co-plans the school's overdue actions",
    True: "SEA professional learning on personalized learning for district and school staff",
}
PROGRESS_SHOWN = "lakeview-high/2026-27"
REPORT_TERM = "2026-Q2"  # October to December 2026, while Lakeview slips
REPORT_NETWORK = "lakeview-sd"
KIND_ORDER = {OrgKind.SEA: 0, OrgKind.LEA: 1, OrgKind.SCHOOL: 2}


def up(args: argparse.Namespace, settings: StackSettings) -> int:
    if args.prometheus:
        settings = settings.model_copy(update={"prometheus": True})
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # as Ctrl-C, from the start
    with Stack(settings) as stack:
        try:
            print("Ctrl-C stops everything.", flush=True)
            return stack.wait()
        except KeyboardInterrupt:  # before the supervision began: the same clean stop
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            print("stopping ...", flush=True)
            return 0


def demo(args: argparse.Namespace, settings: StackSettings) -> int:
    examples = Path(args.examples)
    # the demo closes its periods itself; an automatic close would race its reports
    os.environ.setdefault("SPN_STATUS_AUTO_CLOSE_DAYS", "0")
    # a close's alerts are gathered for a second, not the minutes a liaison would want
    os.environ.setdefault("SPN_ALERTS_GROUP_WAIT", "1")
    # the figures' gauges follow each close within a second
    os.environ.setdefault("SPN_ROLLUP_METRICS_SECONDS", "1")
    # each quarter's close sends the liaisons their schools' reports, attached
    os.environ.setdefault("SPN_ALERTS_REPORT_ATTACH", "1")
    wanted = args.prometheus if args.prometheus is not None else settings.prometheus
    if wanted is None:
        wanted = prometheus_binary() is not None
    settings = settings.model_copy(update={"prometheus": wanted})
    with Stack(settings) as stack:
        asyncio.run(run_demo(settings, examples, args.plan))
        if stack.prometheus is not None:
            _boards(stack.prometheus.url, settings.prometheus_interval)
        else:
            say(output.heading("Metrics"))
            say("  every service serves /metrics (above); SPN_PROMETHEUS=1 also runs a "
                "Prometheus and shows what the boards' queries answer")
        if args.keep_running:
            print(
                f"\nThe stack keeps running; try `spn org list` or `spn plan show {args.plan}` "
                f"(with SPN_NATS_URL={redact(stack.nats_url)}). Ctrl-C stops everything.",
                flush=True,
            )
            return stack.wait()
    return 0


ASSESSED = "lakeview-sd"
"""The LEA whose Tool C self-assessments (a year apart) the demo shows."""
BAR_MEASURE = "strategy:1.1:2"
"""lakeview-high's walk-through measure, whose target is the BLT's 75% bar."""


async def run_demo(settings: StackSettings, examples: Path, shown_plan: str) -> None:
    network = load_network(examples / "organizations.yaml")
    plans = [load_plan(path) for path in sorted((examples / "plans").glob("*.y*ml"))]
    kinds = {org.code: org.kind for org in network.organizations}
    parents = {org.code: org.parent or org.code for org in network.organizations}
    plans.sort(key=lambda plan: (KIND_ORDER[kinds[plan.organization]], plan.organization))
    async with SpnClient(settings.client_nats_url, settings.namespace,
                         credentials=settings.client_credentials) as client:  # fmt: skip
        before = {a["alert_id"] for a in (await _settled_alerts(client))["alerts"]}
        say(output.heading(f"Importing {len(network.organizations)} organizations"))
        for org in network.organizations:
            result = await client.request(cmd.RegisterOrganization(organization=org))
            say(f"  {org.kind.value:<6} {org.code:<24} {result['result']}")
        say(output.heading(f"Importing {len(plans)} improvement plans"))
        for plan in plans:
            result = await client.request(cmd.ImportPlan(plan=plan, by="demo"))
            say(f"  {plan.key:<32} {result['result']}")
        say(output.heading("Submitting and approving (LEA approves schools, SEA approves LEAs)"))
        for plan in plans:
            await _submit_and_approve(client, plan.key, plan.organization, parents)
        await _self_assessments(client, examples)
        say(output.heading("The network"))
        listing = await client.request(cmd.ListOrganizations())
        for line in output.organization_tree(listing["organizations"]):
            say("  " + line)
        say(output.heading(f"Plan {shown_plan}"))
        detail = await client.request(cmd.GetPlan(plan=shown_plan))
        for line in output.plan_lines(detail):
            say(line)
        await _school_year(settings, client, plans, kinds)
        await _alerts_sent(settings, client, before)


async def _self_assessments(client: SpnClient, examples: Path) -> None:
    """The sample network's self-assessments (lakeview-sd's Tool C a year apart), one
    shown; and lakeview-high's walk-throughs measured against the BLT's 75% bar."""
    found = [a for path in sorted((examples / "assessments").glob("*.y*ml"))
             for a in load_assessments(path)]  # fmt: skip
    say(output.heading(f"Recording {len(found)} self-assessments"))
    for assessment in found:
        result = await client.request(RecordAssessment(assessment=assessment, by="demo"))
        say(f"  {result['key']:<48} {result['result']}")
    say(output.heading(f"Self-assessments of {ASSESSED}"))
    for line in assessment_lines(await client.request(ListAssessments(organization=ASSESSED))):
        say("  " + line)
    measured = await client.request(PerformanceMeasureReported(
        plan=PROGRESS_SHOWN, measure=BAR_MEASURE, period="2026-10", value=62, by="demo"))
    say(f"\n  {measured['plan']} {measured['measure']} (walk-throughs recording the agreed "
        f"strategies) = {measured['value']:g}% in {measured['period']}, against the BLT's "
        "75% bar")  # fmt: skip


async def _school_year(
    settings: StackSettings, client: SpnClient, plans: list[ImprovementPlan], kinds: dict
) -> None:
    """A year of monthly reports: the Lakeview schools slip from October to January, get
    support from their LEA and then the SEA, and recover."""
    slipping = {p.organization for p in plans if p.organization in LAKEVIEW_SCHOOLS}
    say(output.heading(
        f"A school year, {YEAR[0]} .. {YEAR[-1]}: {', '.join(sorted(slipping))} slip "
        f"{SLIP.start} .. {SLIP.until}; everyone else on track"
    ))  # fmt: skip
    seen: dict[str, dict] = {}
    for period in YEAR:
        batch = [
            report
            for plan in plans
            for report in monthly_reports(
                plan, period, slip=SLIP if plan.organization in slipping else None,
                reporter="demo team",
            )
        ]  # fmt: skip
        await reports.publish_reports(settings.client_nats_url, settings.namespace, batch,
                                      settings.client_credentials)
        await reports.wait_for_outcomes(client, batch, 120, False)
        await client.request(st.ClosePeriod(period=period, early=True))
        rollup = await _judged(client, period)
        on_time = {r["code"]: (r["figures"] or {}).get("actions_on_time_pct", "n/a")
                   for r in rollup["rows"]}  # a row without figures: said, not a TypeError
        say(f"\n{period}: {len(batch)} reports; actions on time: " + ", ".join(
            f"{code} {pct}%" for code, pct in on_time.items()))  # fmt: skip
        for flag in rollup["flags"]:
            say("  " + output.flag_line(flag))
        for line in await _case_changes(client, seen, period):
            say("  " + line)
    say(output.heading("Support cases at the end of the year"))
    for line in output.case_lines(await client.request(ListSupportCases())):
        say("  " + line)
    say(output.heading(f"Tool A implementation data: {PROGRESS_SHOWN}"))
    for line in output.progress_lines(
        await client.request(st.GetPlanProgress(plan=PROGRESS_SHOWN))
    ):
        say(line)
    say(output.heading(f"Reports of {REPORT_TERM}: {PROGRESS_SHOWN} and {REPORT_NETWORK}"))
    for report in (await gather_plan_report(client, PROGRESS_SHOWN, REPORT_TERM),
                   await gather_network_report(client, REPORT_NETWORK, REPORT_TERM)):
        for form in ("pdf", "html"):
            path = documents.write(report, form, documents.default_path(settings, report, form))
            say(f"  {report['document']} {form}: {path}")
    say(output.heading(f"Rollup up the chain, {YEAR[-1]}"))
    for line in output.rollup_lines(await _judged(client, YEAR[-1])):
        say("  " + line)


async def _settled_alerts(client: SpnClient, timeout: float = 60) -> dict:
    """Every alert, once none is still gathering or being sent and none came for two
    seconds (the alerts service reads the events stream on its own)."""
    loop = asyncio.get_running_loop()
    deadline, previous, quiet_since = loop.time() + timeout, None, loop.time()
    while True:
        listing = await client.request(al.ListAlerts())
        if listing != previous:
            previous, quiet_since = listing, loop.time()
        settled = all(a["status"] in ("delivered", "failed") for a in listing["alerts"])
        if (settled and loop.time() - quiet_since >= 2) or loop.time() > deadline:
            return listing
        await asyncio.sleep(0.2)


async def _alerts_sent(settings: StackSettings, client: SpnClient, before: set[str]) -> None:
    """Who was told what this year: messages per liaison and their subjects, and where
    one rendered HTML message is."""
    listing = await _settled_alerts(client)
    new = [a for a in listing["alerts"] if a["alert_id"] not in before]
    say(output.heading(f"Alerts: {len(new)} raised by this run"))
    by_message: dict[str, dict] = {}
    for alert in listing["alerts"]:
        if alert["message_id"] and alert["message_id"] not in by_message:
            by_message[alert["message_id"]] = await client.request(
                al.ShowMessage(id=alert["message_id"]))  # fmt: skip
    by_liaison: dict[str, list[dict]] = {}
    for message in by_message.values():
        by_liaison.setdefault(message["target"], []).append(message)
    for liaison, messages in sorted(by_liaison.items()):
        alerts = sum(len(m["alerts"]) for m in messages)
        say(f"  {liaison}: {len(messages)} messages, {alerts} alerts")
        for message in sorted(messages, key=lambda m: m["composed_at"]):
            say(f"    {message['status']:<9} {message['subject']}")
    if by_message:
        emails = [m for m in by_message.values() if m["channel"] == "email"] or [
            *by_message.values()]  # fmt: skip
        shown = max(emails, key=lambda m: len(m["alerts"]))
        path = settings.data_dir.resolve() / "alerts" / f"{shown['message_id']}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(shown["html"])
        say(f"  one of them, rendered: {path}")
        if not settings.smtp_host:
            say(f"  every message as received: {settings.data_dir.resolve() / 'mail'}/*.eml")


async def _judged(client: SpnClient, period: str) -> dict:
    """The SEA's rollup once the period's waning rules are judged (the rollup reads the
    events stream)."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        report = await client.request(GetRollup(period=period))
        if report["judged"] or asyncio.get_running_loop().time() > deadline:
            return report
        await asyncio.sleep(0.1)


async def _case_changes(client: SpnClient, seen: dict[str, dict], period: str) -> list[str]:
    """What happened to the cases at this close; and the staff's answer, next month."""
    lines = []
    for case in (await client.request(ListSupportCases()))["cases"]:
        before = seen.get(case["case_id"])
        seen[case["case_id"]] = case
        if before is not None and before["status"] == case["status"]:
            continue
        lines.append(output.case_change(case))
        if case["status"] == "open":
            on = first_day(next_period(period)) + timedelta(days=9)
            what = SUPPORT[case["addressed_to"] == SEA_CODE]
            provided = await client.request(ProvideSupport(
                case_id=case["case_id"], provider=case["addressed_to"], on=on, what=what,
                by="demo staff",
            ))  # fmt: skip
            seen[case["case_id"]] = provided
            lines.append(output.case_change(provided))
    return lines


async def _submit_and_approve(
    client: SpnClient, key: str, owner: str, approvers: dict[str, str]
) -> None:
    status = (await client.request(cmd.GetPlan(plan=key)))["summary"]["status"]
    if status == "draft":
        await client.request(cmd.SubmitPlan(plan=key, organization=owner, by="demo"))
        status = "submitted"
    if status == "submitted":
        approver = approvers[owner]
        await client.request(cmd.ApprovePlan(plan=key, organization=approver, by="demo"))
        say(f"  {key:<32} submitted by {owner}, approved by {approver}")
    else:
        say(f"  {key:<32} already {status}")


SERIES = {
    "from the services": '__name__=~".+", job=~"spn-.*"',
    "of the network's figures": 'job="spn-rollup", __name__=~"spn_(org|practice|strategy|'
    'milestone|period|support|supports)_.+"',
}


def _boards(url: str, interval: str) -> None:
    """What every board panel and rule answers from the Prometheus scraping this stack,
    once it has scraped the year's end (and evaluated its rules after)."""
    say(output.heading(f"Boards: what Prometheus at {url} answers"))
    seconds = duration_seconds(interval)
    prometheus = Prometheus(url)
    try:
        prometheus.wait_for_scrapes(time.time(), [f"spn-{s.name}" for s in SERVICES])
        deadline = time.monotonic() + 10 * seconds + 10
        while True:
            answers = evaluate(prometheus, expressions())
            if all(a.answered for a in answers) or time.monotonic() > deadline:
                break
            time.sleep(seconds)
        series = [prometheus.query(f"count({{{which}}})") for which in SERIES.values()]
    except (PrometheusError, httpx.HTTPError) as error:
        say(f"  Prometheus did not answer: {error}")
        return
    finally:
        prometheus.close()
    counts = [int(float(found[0]["value"][1])) if found else 0 for found in series]
    say("  series: " + ", ".join(f"{n} {what}" for n, what in zip(counts, SERIES, strict=True)))
    for line in output.board_answers(answers):
        say("  " + line)


def say(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
