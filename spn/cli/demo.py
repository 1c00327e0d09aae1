"""``spn up`` and ``spn demo``: the stack, and the sample network run through it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.organizations import OrgKind
from contracts.plans import ImprovementPlan
from contracts.rollup import GetRollup
from spn.cli import output, reports
from spn.cli.client import SpnClient
from spn.cli.files import load_network, load_plan
from spn.cli.simulation import monthly_reports
from spn.stack.settings import StackSettings
from spn.stack.supervisor import Stack

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "network"
SHOWN_PLAN = "harbor-view-elementary/2026-27"
REPORTED_PERIODS = ("2026-09", "2026-10", "2026-11")
SLIPPING = ("lakeview-high", "north-shore-middle")
PROGRESS_SHOWN = "lakeview-high/2026-27"
KIND_ORDER = {OrgKind.SEA: 0, OrgKind.LEA: 1, OrgKind.SCHOOL: 2}


def up(args: argparse.Namespace, settings: StackSettings) -> int:
    with Stack(settings) as stack:
        print("Ctrl-C stops everything.", flush=True)
        return stack.wait()


def demo(args: argparse.Namespace, settings: StackSettings) -> int:
    examples = Path(args.examples)
    # the demo closes its periods itself; an automatic close would race its reports
    os.environ.setdefault("SPN_STATUS_AUTO_CLOSE_DAYS", "0")
    with Stack(settings) as stack:
        asyncio.run(run_demo(settings, examples, args.plan))
        if args.keep_running:
            print(
                f"\nThe stack keeps running; try `spn org list` or `spn plan show {args.plan}` "
                f"(with SPN_NATS_URL={stack.nats_url}). Ctrl-C stops everything.",
                flush=True,
            )
            return stack.wait()
    return 0


async def run_demo(settings: StackSettings, examples: Path, shown_plan: str) -> None:
    network = load_network(examples / "organizations.yaml")
    plans = [load_plan(path) for path in sorted((examples / "plans").glob("*.y*ml"))]
    kinds = {org.code: org.kind for org in network.organizations}
    parents = {org.code: org.parent or org.code for org in network.organizations}
    plans.sort(key=lambda plan: (KIND_ORDER[kinds[plan.organization]], plan.organization))
    async with SpnClient(settings.client_nats_url, settings.namespace) as client:
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
        say(output.heading("The network"))
        listing = await client.request(cmd.ListOrganizations())
        for line in output.organization_tree(listing["organizations"]):
            say("  " + line)
        say(output.heading(f"Plan {shown_plan}"))
        detail = await client.request(cmd.GetPlan(plan=shown_plan))
        for line in output.plan_lines(detail):
            say(line)
        await _report_months(settings, client, plans, kinds)


async def _report_months(
    settings: StackSettings, client: SpnClient, plans: list[ImprovementPlan], kinds: dict
) -> None:
    schools = [p for p in plans if kinds[p.organization] is OrgKind.SCHOOL]
    say(output.heading(
        f"Monthly status reports {REPORTED_PERIODS[0]} .. {REPORTED_PERIODS[-1]} "
        f"({', '.join(SLIPPING)} slipping; the others on track)"
    ))  # fmt: skip
    for period in REPORTED_PERIODS:
        batch = [
            report
            for plan in schools
            for report in monthly_reports(
                plan, period, slipping=plan.organization in SLIPPING, reporter="demo team"
            )
        ]
        await reports.publish_reports(settings.client_nats_url, settings.namespace, batch)
        ids = [r.report_id for r in batch]
        outcomes = await reports.wait_for_outcomes(client, ids, timeout=120, progress=False)
        recorded = sum(o["outcome"] == "recorded" for o in outcomes.values())
        closed = await client.request(st.ClosePeriod(period=period))
        say(
            f"  {period}: {len(batch)} reports ({recorded} recorded); period close "
            f"{closed['result']}, {closed['plans_evaluated']} plans evaluated"
        )
    say(output.heading(f"Schools as of {REPORTED_PERIODS[-1]}"))
    say("  " + output.figures_header("school", width=26))
    for plan in schools:
        progress = await client.request(st.GetPlanProgress(plan=plan.key))
        latest = progress["periods"][-1]["figures"]
        say("  " + output.figures_row(plan.organization, latest, width=26))
    say(output.heading(f"Tool A implementation data: {PROGRESS_SHOWN}"))
    progress = await client.request(st.GetPlanProgress(plan=PROGRESS_SHOWN))
    for line in output.progress_lines(progress):
        say(line)
    say(output.heading(f"Rollup up the chain, {REPORTED_PERIODS[-1]}"))
    for line in output.rollup_lines(await _rollup_when_ready(client, len(schools))):
        say("  " + line)


async def _rollup_when_ready(client: SpnClient, schools: int) -> dict:
    """The rollup reads the events stream; wait until it has every school's last period."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        report = await client.request(GetRollup(period=REPORTED_PERIODS[-1]))
        ready = report["organization"]["school_plans"] == schools
        if ready or asyncio.get_running_loop().time() > deadline:
            return report
        await asyncio.sleep(0.2)


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


def say(line: str) -> None:
    print(line, flush=True)
    sys.stdout.flush()
