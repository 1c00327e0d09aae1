"""After a fault: every report sent against the status service's outcomes and events, every
figure against a recomputation from the reports, every flag, case and alert against what
the rules say, every poison message in dead letters with its reason."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg

from contracts import assessments as asm
from contracts import rollup as ru
from contracts import status as st
from services.shared.credentials import connect_options
from spn.cli.client import SpnClient
from tests.faults import scenario
from tests.faults.oracle import Year
from tests.faults.rounds import NAMESPACE, retried
from tests.faults.stack import FaultStack
from tests.integration.helpers import stream_headers, walk
from tests.integration.reconcile import account, dead_letters

BROKEN_REASON = "invalid_payload"  # a report that breaks its contract
CHECKS = ("settled", "reports", "dead letters", "events", "figures", "flags", "cases", "alerts",
          "assessments")


@dataclass
class Sent:
    """Everything sent so far: valid reports, broken ones, and bytes that are no JSON."""

    reports: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # one entry per copy sent
    garbage: int = 0


@dataclass
class Row:
    fault: str
    seconds: float
    sent: int
    evidence: str  # what shows the fault hit (restarts, retried deliveries)
    problems: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())


async def reconcile(stack: FaultStack, year: Year, sent: Sent) -> dict[str, list[str]]:
    options = connect_options(stack.credentials)
    url = await asyncio.to_thread(stack.database_url)
    books = await account(stack.nats_url, NAMESPACE, url, schema="public", **options)
    problems: dict[str, list[str]] = {}
    problems["reports"] = books.problems(sent.reports, {})
    problems["reports"] += [
        f"{r}: recorded {books.recorded[r]}x" for r in set(sent.broken) if books.recorded[r]]
    problems["dead letters"] = await _dead_letters(stack, sent, options)
    problems["events"] = await _relayed_once(stack, options)
    problems["figures"] = await retried(stack, lambda c: _figures(c, year), "figures")
    problems["flags"] = await retried(stack, lambda c: _flags(c, year), "flags")
    problems["cases"] = await retried(stack, lambda c: _cases(c, year), "cases")
    problems["alerts"] = await asyncio.to_thread(_alerts, stack, url, year)
    problems["assessments"] = await retried(stack, lambda c: _assessments(c, year),
                                            "assessments")  # fmt: skip
    return problems


async def _dead_letters(stack: FaultStack, sent: Sent, options: dict[str, Any]) -> list[str]:
    """Only the poison: each garbage message once, each broken report once."""
    letters = await dead_letters(stack.nats_url, NAMESPACE, **options)
    garbage = [d for d in letters
               if d.get("reason") == "invalid_payload" and not d.get("report_id")]  # fmt: skip
    broken = Counter((d["report_id"], d["reason"]) for d in letters if d.get("report_id"))
    want = Counter((r, BROKEN_REASON) for r in sent.broken)
    found = []
    if len(garbage) != sent.garbage:
        found.append(f"{len(garbage)} garbage messages dead-lettered, {sent.garbage} sent")
    if broken != want:
        difference = _sets(set(broken.items()), set(want.items()))
        found.append(f"broken reports dead-lettered: {difference}")
    others = [d for d in letters if d not in garbage and not d.get("report_id")]
    found += [f"unexpected dead letter: {d.get('service')} {d.get('reason')}" for d in others]
    return found


async def _relayed_once(stack: FaultStack, options: dict[str, Any]) -> list[str]:
    """Each service's events in SPN_EVENTS once, in the order it stored them, as the
    consumers take them: none twice but a refill's repeat, none missing (an event skipped
    because the stream lacked the one before it is brought again by the refill)."""
    found = walk(NAMESPACE, await stream_headers(stack.nats_url, NAMESPACE, **options))
    problems = [f"{service}: {n} events published twice (not by a refill)"
                for service, n in sorted(found.plain_repeats.items())]  # fmt: skip
    problems += [f"{service}: events {sorted(ids)[:5]} missing from the stream"
                 for service, ids in sorted(found.missing().items())]  # fmt: skip
    if found.unsourced:
        problems.append(f"{found.unsourced} events without a source naming their subject's")
    return problems


async def _figures(client: SpnClient, year: Year) -> list[str]:
    """The status service's and the rollup's figures of each plan and closed period."""
    found = []
    for school in sorted(year.plans):
        progress = await client.request(st.GetPlanProgress(plan=scenario.plan_key(school)))
        held = {p["period"]: p for p in progress["periods"]}
        for period in year.closed:
            want = year.figures(school, period)
            have = held.get(period)
            if have is None:
                found.append(f"{school} {period}: no figures in status")
                continue
            if have["figures"] != want["figures"]:
                found.append(f"{school} {period}: status {_diff(have['figures'], want['figures'])}")
            strategies = {s["number"]: s["figures"] for s in have["strategies"]}
            if strategies != want["strategies"]:
                found.append(f"{school} {period}: status strategy figures differ")
            rolled = await client.request(ru.GetRollup(organization=school, period=period))
            figures = rolled["organization"]["figures"]
            if figures != want["figures"]:
                found.append(f"{school} {period}: rollup {_diff(figures, want['figures'])}")
    return found


async def _assessments(client: SpnClient, year: Year) -> list[str]:
    """Each assessment recorded once, as sent, and counted once up the chain."""
    found = []
    for org, documents in sorted(year.assessments.items()):
        listed = (await client.request(asm.ListAssessments(organization=org)))["assessments"]
        sent = [(1, asm.SelfAssessment.model_validate(d)) for d in documents]
        if [(v["version"], asm.SelfAssessment.model_validate(v["assessment"])) for v in listed
                ] != sent:  # fmt: skip
            found.append(f"{org}: {len(listed)} assessments, versions "
                         f"{[v['version'] for v in listed]}, not the {len(sent)} sent, "
                         "each once")  # fmt: skip
    if year.assessments:
        rolled = await client.request(ru.GetRollup(organization=scenario.SEA))
        have = {p["practice"]: p["levels"] for p in rolled["self_assessed"]}
        if have != (want := year.self_assessed()):
            found.append(f"{scenario.SEA} self-assessed levels {have}, not {want}")
    return found


async def _flags(client: SpnClient, year: Year) -> list[str]:
    """Flags raised in each closed period: those that hold; cleared: those that stopped."""
    found, before = [], set[tuple[str, str]]()
    for period in year.closed:
        listed = (await client.request(ru.ListFlags(period=period)))["flags"]
        raised = {(f["organization"], f["rule"]) for f in listed if f["change"] == "raised"}
        cleared = {(f["organization"], f["rule"]) for f in listed if f["change"] == "cleared"}
        holding = year.holding(period)
        if raised != holding:
            found.append(f"{period} raised: {_sets(raised, holding)}")
        if cleared != before - holding:
            found.append(f"{period} cleared: {_sets(cleared, before - holding)}")
        doubled = len(listed) - len(raised) - len(cleared)
        if doubled:
            found.append(f"{period}: {doubled} flag changes listed twice")
        before = holding
    return found


async def _cases(client: SpnClient, year: Year) -> list[str]:
    listed = (await client.request(ru.ListSupportCases()))["cases"]
    have = Counter((c["recipient"], c["addressed_to"], c["practice"], c["opened"]) for c in listed)
    want = year.cases()
    found = [f"case {k} opened {n}x" for k, n in have.items() if n > 1]
    if set(have) != want:
        found.append(f"cases: {_sets(set(have), want)}")
    return found


def _alerts(stack: FaultStack, url: str, year: Year) -> list[str]:
    """One alert per fact, as the rules say, each in a message delivered on every channel:
    the mail at the SMTP server, the webhook call at its receiver."""
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("SET statement_timeout = '10s'")
        alerts = conn.execute("SELECT key, kind FROM alerts_alerts").fetchall()
        messages = conn.execute(
            "SELECT message_id, channel, status FROM alerts_messages").fetchall()  # fmt: skip
    found = [f"alert {k} raised {n}x" for k, n in Counter(a[0] for a in alerts).items() if n > 1]
    have: dict[str, set[tuple[str, ...]]] = {}
    for key, kind in alerts:
        _, org, what, period = key.split(":")
        have.setdefault(kind, set()).add((org, period) if kind == "case_opened" else
                                         (org, what, period))  # fmt: skip
    for kind, want in expected_alerts(year).items():
        if have.get(kind, set()) != want:
            found.append(f"{kind} alerts: {_sets(have.get(kind, set()), want)}")
    undelivered = [f"{c} {m} {s}" for m, c, s in messages if s != "delivered"]
    found += [f"message not delivered: {u}" for u in undelivered[:5]]
    mail, calls = set(stack.mail()), set(stack.receiver.calls)
    for message_id, channel, status in messages:
        if status == "delivered" and channel == "email" and f"{message_id}@spn.alerts" not in mail:
            found.append(f"email {message_id}: delivered, not at the SMTP server")
        if status == "delivered" and channel == "webhook" and str(message_id) not in calls:
            found.append(f"webhook {message_id}: delivered, not at the receiver")
    return found


def expected_alerts(year: Year) -> dict[str, set[tuple[str, ...]]]:
    """Per kind, what each alert is about: a waning flag raised (the status service's own
    events tell a missing report and a slipped milestone), a flag cleared, a case opened."""
    told_by_status = {"silent", "milestone_slipped"}
    want: dict[str, set[tuple[str, ...]]] = {
        "waning": set(), "recovered": set(), "report_missing": set()}  # fmt: skip
    before: set[tuple[str, str]] = set()
    for period in year.closed:
        holding = year.holding(period)
        want["waning"] |= {(o, r, period) for o, r in holding if r not in told_by_status}
        want["report_missing"] |= {(o, "report", period) for o, r in holding if r == "silent"}
        want["recovered"] |= {(o, r, period) for o, r in before - holding}
        before = holding
    want["milestone_slipped"] = set(year.slips())
    want["case_opened"] = {(c[0], c[3]) for c in year.cases()}
    return want


def retried_deliveries(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        row = conn.execute("SELECT count(*) FROM alerts_messages WHERE attempts > 1").fetchone()
    return int(row[0]) if row else 0


def _diff(have: dict[str, Any], want: dict[str, Any]) -> str:
    keys = sorted(k for k in want if have.get(k) != want[k])
    return ", ".join(f"{k} {have.get(k)} (expected {want[k]})" for k in keys[:3])


def _sets(have: set[Any], want: set[Any]) -> str:
    missing, extra = sorted(want - have), sorted(have - want)
    return f"missing {missing[:4]}{'…' if len(missing) > 4 else ''}, " \
           f"extra {extra[:4]}{'…' if len(extra) > 4 else ''}"


def table(rows: list[Row]) -> str:
    """The faults and their outcomes, one line each."""
    head = ["fault", "s", "sent", "evidence", *CHECKS]
    lines = [[r.fault, f"{r.seconds:.0f}", str(r.sent), r.evidence,
              *("ok" if not r.problems.get(c) else f"{len(r.problems[c])} wrong" for c in CHECKS)]
             for r in rows]  # fmt: skip
    widths = [max(len(x) for x in col) for col in zip(head, *lines, strict=True)]
    out = ["  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True))
           for line in [head, *lines]]  # fmt: skip
    for r in rows:
        for check, problems in r.problems.items():
            out += [f"  {r.fault} / {check}: {p}" for p in problems[:5]]
    return "\n".join(out)
