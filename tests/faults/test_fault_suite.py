"""The fault suite (`make test-faults`): `spn up` on its own data directory, a school year of
24 schools, and in each month one fault while the month's reports are ingested and the
month before is closed. After each, a reconciliation; at the end, the table of faults and
outcomes. A second test drops one acknowledged message and shows the reconciliation
catches it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from contracts import status as st
from contracts.subjects import event_mark
from services.shared.credentials import connect_options
from tests.faults import scenario
from tests.faults.faults import FAULTS, Fault, nothing
from tests.faults.oracle import Year
from tests.faults.reconciliation import Row, Sent, reconcile, retried_deliveries, table
from tests.faults.rounds import (
    NAMESPACE,
    Sender,
    close,
    ensure_approved,
    ensure_assessed,
    register_network,
    settle,
)
from tests.faults.stack import FaultStack, Receiver
from tests.integration.helpers import stream_messages

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@dataclass
class Suite:
    stack: FaultStack
    year: Year = field(default_factory=Year)
    sent: Sent = field(default_factory=Sent)
    rows: list[Row] = field(default_factory=list)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    receiver = Receiver()
    receiver.up()
    stack = FaultStack(tmp_path_factory.mktemp("faults") / "data", receiver)
    stack.start()
    try:
        found = Suite(stack)
        asyncio.run(prepare(found))
        yield found
    finally:
        stack.stop()
        receiver.down()
        log = Path(stack.data_dir) / "up.log"
        log.write_text("".join(stack.output))


async def prepare(suite: Suite) -> None:
    await register_network(suite.stack)
    await asyncio.gather(*(ensure_approved(suite.stack, s) for s in scenario.SCHOOLS))
    for school in scenario.SCHOOLS:
        suite.year.plans[school] = scenario.plan(school)


async def refill_marks(stack: FaultStack) -> Counter[str]:
    """How many events of the stream carry each refill mark."""
    options = connect_options(stack.credentials)
    found = await stream_messages(stack.nats_url, NAMESPACE, **options)
    return Counter(mark for _, msg_id in found if (mark := event_mark(msg_id)))


async def run_round(suite: Suite, month: str | None, fault: Fault, previous: str | None,
                    sender_type: type[Sender] = Sender,
                    settle_timeout: float = 120) -> Row:  # fmt: skip
    stack, started = suite.stack, time.monotonic()
    restarts_before, url = len(stack.restarts()), await asyncio.to_thread(stack.database_url)
    retried_before = await asyncio.to_thread(retried_deliveries, url)
    marks_before = await refill_marks(stack)
    stack.evidence.clear()
    reports = [r for s in scenario.schools_reporting(month)
               for r in scenario.month_reports(s, month)] if month else []  # fmt: skip
    garbage, broken = scenario.poison(month) if month else (b"", None)
    nc = await stack.connect()
    try:
        sender = sender_type(nc.jetstream())
        poison = [broken] if broken else []
        sending = asyncio.create_task(
            sender.send([*reports, *poison], garbage, fault.copies, fault.shuffle))
        closing = asyncio.create_task(close(stack, previous)) if previous else None
        work = [sending, *([closing] if closing else [])]
        assessing: list[asyncio.Task[tuple[int, int]]] = []
        if fault.name.startswith("plans"):  # a plan approved meanwhile
            work.append(asyncio.create_task(ensure_approved(stack, scenario.LATE_SCHOOL)))
        await sender.started.wait()
        if fault.name.startswith("plans"):  # and self-assessments asked as the kill lands
            assessing = [asyncio.create_task(ensure_assessed(stack, org))
                         for org in scenario.ASSESSED]  # fmt: skip
        await fault.inject(stack)
        await asyncio.gather(*work, *assessing)
    finally:
        await nc.close()
    suite.year.reports += [r.body for r in reports]
    if scenario.LATE_SCHOOL not in suite.year.plans and fault.name.startswith("plans"):
        suite.year.plans[scenario.LATE_SCHOOL] = scenario.plan(scenario.LATE_SCHOOL)
    if assessing:
        suite.year.assessments |= {org: scenario.assessments(org) for org in scenario.ASSESSED}
    if previous:
        suite.year.closed.append(previous)
    suite.sent.reports += [r.report_id for r in reports]
    if broken:
        suite.sent.broken += [broken.report_id] * fault.copies
        suite.sent.garbage += 1
    unsettled = await settle(stack, suite.sent.reports + suite.sent.broken, suite.year.closed,
                             settle_timeout)  # fmt: skip
    await asyncio.to_thread(wait_delivered, stack, url, settle_timeout)
    restarts = len(stack.restarts()) - restarts_before
    retried = await asyncio.to_thread(retried_deliveries, url) - retried_before
    refilled = sum(n for mark, n in (await refill_marks(stack)).items()
                   if mark not in marks_before)  # fmt: skip
    asked_again = sum(t.result()[0] for t in assessing)
    unchanged = sum(t.result()[1] for t in assessing)
    evidence = ", ".join([f"{restarts} restarts", f"{retried} retried deliveries",
                          f"{refilled} refilled events", *stack.evidence,
                          *([f"{asked_again} assessments asked again ({unchanged} unchanged)"]
                            if assessing else [])])
    if assessing and not asked_again:
        unsettled.append("no assessment was asked again: the kill missed them all")
    if fault.holds_unacked and any(e.startswith("held 0 ") for e in stack.evidence):
        unsettled.append("the service held no unacknowledged message when paused")
    if fault.hits_deliveries and not retried:
        unsettled.append("the fault made no delivery fail: it tested nothing")
    if fault.hits_stream and not refilled:
        unsettled.append("no relay refilled the stream: it tested nothing")
    problems = {"settled": unsettled, **await reconcile(stack, suite.year, suite.sent)}
    return Row(fault.name, time.monotonic() - started, sender.sent, evidence, problems)


PENDING = """SELECT (SELECT count(*) FROM alerts_messages WHERE status = 'pending')
                + (SELECT count(*) FROM alerts_alerts WHERE completed_at IS NULL)"""


def wait_delivered(stack: FaultStack, url: str, timeout: float = 120) -> None:
    """Until no alert is waiting to be sent (the reconciliation names any that still is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute(PENDING).fetchone()
        if row and row[0] == 0:
            return
        time.sleep(0.3)


def test_every_fault_leaves_nothing_lost_nothing_doubled(suite: Suite, capsys) -> None:
    months = scenario.MONTHS[: len(FAULTS)]
    for index, (month, fault) in enumerate(zip(months, FAULTS, strict=True)):
        previous = months[index - 1] if index else None
        suite.rows.append(asyncio.run(run_round(suite, month, fault, previous)))
    last = Fault("(none: the last month's close)", nothing)
    suite.rows.append(asyncio.run(run_round(suite, None, last, months[-1])))
    report = table(suite.rows)
    with capsys.disabled():
        print("\n" + report)
    (suite.stack.data_dir / "faults.txt").write_text(report + "\n")
    assert all(row.ok for row in suite.rows), report


class LossyInbox(Sender):
    """A test double of the message path that loses one message JetStream had acknowledged:
    once the status service is paused (``armed``), the next complete report is deleted from
    the inbox stream before it can be taken."""

    armed = False
    lost: str | None = None

    async def publish(self, organization: str, body: bytes, msg_id: str | None) -> int:
        seq = await super().publish(organization, body, msg_id)
        report = json.loads(body) if body.startswith(b"{") else {}
        if LossyInbox.armed and LossyInbox.lost is None and report.get("status") == "complete":
            inbox = st.inbox_stream(NAMESPACE)
            taken = await self.js.consumer_info(inbox, "status-inbox")
            if taken.delivered.stream_seq < seq:  # not handed to the paused service yet
                await self.js.delete_msg(inbox, seq)
                LossyInbox.lost = report["report_id"]
        return seq


def test_an_acknowledged_message_lost_is_caught_by_the_reconciliation(suite: Suite, capsys):
    stack = suite.stack

    async def status_paused_meanwhile(_: FaultStack) -> None:
        pid = await asyncio.to_thread(stack.signal, "status", signal.SIGSTOP)
        LossyInbox.armed = True
        try:
            deadline = time.monotonic() + 30  # the month's complete reports are sent by then
            while LossyInbox.lost is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        finally:
            os.kill(pid, signal.SIGCONT)

    fault = Fault("one acknowledged message lost (test double)", status_paused_meanwhile)
    month = scenario.MONTHS[len(FAULTS)]  # a month the suite sends nothing for
    row = asyncio.run(run_round(suite, month, fault, None, LossyInbox, settle_timeout=20))
    with capsys.disabled():
        print("\n" + table([row]))
    assert LossyInbox.lost is not None
    assert not row.ok
    assert f"{LossyInbox.lost}: recorded 0x, dead letters []" in row.problems["reports"]
