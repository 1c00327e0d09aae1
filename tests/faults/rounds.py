"""One round of the fault suite: a month's reports sent while the month before is closed,
a fault injected in the middle, the stack waited on until it has settled."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import nats.errors
import nats.js.errors
import psycopg
from nats.js import JetStreamContext

from contracts import assessments as asm
from contracts import plan_commands as cmd
from contracts import rollup as ru
from contracts import status as st
from contracts.base import Command
from contracts.organizations import Organization
from contracts.plans import ImprovementPlan
from contracts.subjects import events_stream
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError, StackUnreachableError
from tests.faults import scenario
from tests.faults.scenario import Report
from tests.faults.stack import FaultStack

NAMESPACE = "spn"
CHUNK, PACE = 15, 0.05  # reports per publish burst, seconds between bursts
SETTLE_TIMEOUT = 120.0
TRANSIENT = (StackUnreachableError, nats.errors.Error, OSError, asyncio.TimeoutError)


async def retried(stack: FaultStack, call: Callable[[SpnClient], Awaitable[Any]],
                  what: str, timeout: float = SETTLE_TIMEOUT) -> Any:  # fmt: skip
    """``call`` on a fresh client until it answers (a service or NATS may be down)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            async with stack.client(timeout=5) as client:
                return await call(client)
        except TRANSIENT as error:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: no answer within {timeout:.0f} s ({error})") from error
            await asyncio.sleep(0.3)


async def until(stack: FaultStack, check: Callable[[SpnClient], Awaitable[Any]], what: str,
                timeout: float = SETTLE_TIMEOUT) -> Any:  # fmt: skip
    """Until ``check`` returns something truthy, through outages."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await retried(stack, check, what, timeout)
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"not within {timeout:.0f} s: {what} (last: {last!r})")


# -- the network -----------------------------------------------------------------------------


async def register_network(stack: FaultStack) -> None:
    async def register(client: SpnClient) -> None:
        for org in scenario.organizations():
            await client.request(cmd.RegisterOrganization(organization=Organization(**org)))

    await retried(stack, register, "registering the network")


async def ensure_approved(stack: FaultStack, school: str) -> None:
    """Import, submit and approve the school's plan, step by step, whatever was done before
    an outage cut a step short (each step is asked again only if its state says so)."""
    key, document = scenario.plan_key(school), scenario.plan(school)

    async def status(client: SpnClient) -> str | None:
        plans = await client.request(cmd.ListPlans(organization=school))
        return next((p["status"] for p in plans["plans"] if p["key"] == key), None)

    steps: dict[str | None, Command] = {
        None: cmd.ImportPlan(plan=ImprovementPlan.model_validate(document), by="Pat"),
        "draft": cmd.SubmitPlan(plan=key, organization=school, by="Pat"),
        "submitted": cmd.ApprovePlan(plan=key, organization=scenario.LEA, by="Sam"),
    }
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while (found := await retried(stack, status, f"the plan of {school}")) != "approved":
        assert time.monotonic() < deadline, f"{key} not approved: {found}"
        step = steps[found]

        async def ask(client: SpnClient, step: Any = step) -> Any:
            return await client.request(step)

        try:
            await retried(stack, ask, f"{found} {key}")
        except RefusedError:  # a step that had landed before the outage: look again
            await asyncio.sleep(0.2)


async def ensure_assessed(stack: FaultStack, organization: str) -> tuple[int, int]:
    """Record the organization's self-assessments one after another, each asked again
    until it is answered (a repeat of one that landed before an outage is "unchanged",
    never a second): how many times one was asked again, and how many answers were
    "unchanged" (stored, its first answer lost)."""
    asked, unchanged = 0, 0
    for document in scenario.assessments(organization):
        command = asm.RecordAssessment(assessment=asm.SelfAssessment.model_validate(document),
                                       by="Alex")  # fmt: skip

        async def ask(client: SpnClient, command: Command = command) -> Any:
            nonlocal asked
            asked += 1
            return await client.request(command)

        result = await retried(stack, ask, f"assessing {organization}")
        assert result["result"] in ("recorded", "unchanged"), result
        unchanged += result["result"] == "unchanged"
    return asked - len(scenario.ASSESSED_ON), unchanged


# -- sending ---------------------------------------------------------------------------------


@dataclass
class Sender:
    """Publishes to the inbox as a client that retries would: each message until JetStream
    acknowledges it, through NATS restarts, under a random Nats-Msg-Id of its own (the same
    for each retry of one message; never the report id, which another school could take
    up first), so a publish that landed but whose acknowledgement was lost is stored once."""

    js: JetStreamContext
    sent: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, organization: str, body: bytes, msg_id: str | None) -> int:
        """The message's sequence in the inbox."""
        headers = {"Nats-Msg-Id": msg_id} if msg_id else None
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            try:
                ack = await self.js.publish(
                    st.inbox_subject(NAMESPACE, organization), body,
                    stream=st.inbox_stream(NAMESPACE), headers=headers, timeout=2,
                )  # fmt: skip
                return ack.seq
            except (TimeoutError, nats.errors.Error, OSError):
                assert time.monotonic() < deadline, "the inbox took no message for 2 min"
                await asyncio.sleep(0.2)

    async def send(self, reports: list[Report], poison: bytes, copies: int = 1,
                   shuffle: bool = False) -> None:  # fmt: skip
        """The reports (each ``copies`` times), and the poison halfway through."""
        messages = [(r, n) for r in reports for n in range(copies)]
        if shuffle:
            random.Random(len(reports)).shuffle(messages)
        if not messages:
            self.started.set()
        for i, (report, _) in enumerate(messages):
            if i == len(messages) // 3:
                self.started.set()  # the fault lands now
            if i == len(messages) // 2:
                await self.publish(report.organization, poison, None)
            await self.publish(report.organization, json.dumps(report.body).encode(),
                               uuid4().hex)  # fmt: skip
            self.sent += 1
            if i % CHUNK == CHUNK - 1:
                await asyncio.sleep(PACE)
        self.started.set()


async def close(stack: FaultStack, period: str) -> None:
    """Close the month (early: the suite's year runs ahead of the calendar), retried
    through outages; a repeat is answered "unchanged"."""
    await retried(stack, lambda c: c.request(st.ClosePeriod(period=period, early=True)),
                  f"closing {period}")  # fmt: skip


# -- settling --------------------------------------------------------------------------------


async def settle(stack: FaultStack, report_ids: list[str], judged: list[str],
                 timeout: float = SETTLE_TIMEOUT) -> list[str]:  # fmt: skip
    """Until every report has its outcome and every period closed is judged; what is still
    not so after ``timeout`` (a report lost gets no outcome: the reconciliation names it)."""

    async def outcomes_known(client: SpnClient) -> bool:
        for start in range(0, len(report_ids), 2000):
            chunk = report_ids[start:start + 2000]
            found = await client.request(st.GetReportOutcomes(report_ids=chunk))
            if any(o["outcome"] in ("pending", "parked") for o in found["outcomes"]):
                return False
        return True

    async def all_judged(client: SpnClient) -> bool:
        for period in judged:
            found = await client.request(ru.GetRollup(period=period))
            if not found.get("judged"):
                return False
        return True

    lagging: list[str] = []  # the last look's: named when it never catches up

    async def caught_up(_: SpnClient) -> bool:
        lagging[:] = await asyncio.to_thread(relays_lagging, stack)
        lagging.extend(await consumers_lagging(stack))
        return not lagging

    problems = []
    for check, what in ((outcomes_known, "an outcome for every report"),
                        (all_judged, f"every period closed judged ({', '.join(judged)})"),
                        (caught_up, "every relay and consumer caught up")):
        try:
            await until(stack, check, what, timeout)
        except AssertionError as error:
            behind = f"; behind: {', '.join(lagging)}" if check is caught_up else ""
            problems.append(f"{error}{behind}")
    return problems


CONSUMERS = [(st.inbox_stream(NAMESPACE), "status-inbox"), *(
    (events_stream(NAMESPACE), durable) for durable in ("status-plans", "rollup", "alerts"))]


SERVICES = ("plans", "status", "rollup", "alerts")


def relays_lagging(stack: FaultStack) -> list[str]:
    """Each service's relay that has not published (or passed) every event its store
    holds: ``relay <service> <relayed>/<stored>``."""
    found = []
    with psycopg.connect(stack.database_url(), connect_timeout=10) as conn:
        for service in SERVICES:
            stored, relayed = conn.execute(
                f"SELECT (SELECT coalesce(max(notification_id), 0) FROM {service}_events), "
                f"(SELECT coalesce(max(notification_id), 0) FROM {service}_relay_tracking)"
            ).fetchone() or (0, 0)  # fmt: skip
            if stored > relayed:
                found.append(f"relay {service} {relayed}/{stored}")
    return found


async def consumers_lagging(stack: FaultStack) -> list[str]:
    """Each durable consumer of the stack with something pending or unacknowledged (or
    being created again after an outage): ``<durable> pending <n> unacked <n>``."""
    nc = await stack.connect()
    try:
        js = nc.jetstream()
        found = []
        for stream, durable in CONSUMERS:
            try:
                info = await js.consumer_info(stream, durable, timeout=2)
            except nats.js.errors.NotFoundError:
                found.append(f"{durable} not there")
                continue
            if info.num_pending or info.num_ack_pending:
                found.append(f"{durable} pending {info.num_pending} unacked "
                             f"{info.num_ack_pending}")  # fmt: skip
        return found
    finally:
        await nc.close()
