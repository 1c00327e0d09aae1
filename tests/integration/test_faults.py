"""Faults injected with real processes: each test ends with a reconciliation (every report
sent is recorded exactly once or dead-lettered with its reason) and the service still
working without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from prometheus_client import CollectorRegistry

from contracts import plan_commands as cmd
from contracts import rollup as ru
from contracts import status as st
from contracts.subjects import PREVIOUS_HEADER, event_source, events_stream, subject
from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.rollup.bootstrap import RollupService
from services.rollup.settings import RollupSettings
from services.shared.runtime import ServiceRuntime
from services.status.bootstrap import StatusService
from services.status.settings import StatusSettings
from spn.cli.client import SpnClient
from spn.stack.nats_server import NatsServer, free_port
from spn.stack.postgres import EmbeddedPostgres
from tests.factories import plan_document
from tests.integration.helpers import stream_messages
from tests.integration.processes import kill, start_service_process
from tests.integration.reconcile import account, dead_letters, status_outcomes
from tests.integration.test_plans_service import import_request, register_network
from tests.integration.test_status_service import (
    KEY,
    adopted,
    approved_plan,
    outcomes,
    publish,
    report,
    until,
)

pytestmark = pytest.mark.slow
ACTIONS = [f"{s}.1.{a}" for s in ("1.1", "1.2", "2.1", "2.2") for a in (1, 2)]


def reports(prefix: str, count: int) -> list[dict]:
    return [
        report(f"{prefix}-{i}", ACTIONS[i % len(ACTIONS)], "2026-10", "in_progress")
        for i in range(count)
    ]


async def wait_for_outcomes(database_url: str, schema: str, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        found = len(await asyncio.to_thread(status_outcomes, database_url, schema))
        if found >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.01)


async def test_status_killed_mid_ingest_then_restarted_records_every_report_once(
    client: SpnClient, status_settings: StatusSettings, nats_url: str, namespace: str,
    database_url: str, tmp_path: Path,
):  # fmt: skip
    """4,000 reports wait in the inbox; the status process is SIGKILLed once its first
    batches have committed (others fetched, not yet committed), then restarted."""
    await approved_plan(client)
    log = tmp_path / "status.log"
    env = {"SPN_STATUS_AUTO_CLOSE_DAYS": "0"}
    process = start_service_process("status", status_settings, log, **env)
    assert await until(lambda: adopted(client))
    kill(process)
    sent = reports("crash", 4000)
    await publish(nats_url, namespace, sent)

    process = start_service_process("status", status_settings, log, **env)
    await wait_for_outcomes(database_url, namespace, 1000, timeout=30)
    await asyncio.sleep(0.05)  # two batches committed: the kill lands inside the third
    kill(process)
    taken = len(await asyncio.to_thread(status_outcomes, database_url, namespace))
    assert 1000 <= taken < len(sent), f"killed too late to test anything: {taken} taken"

    process = start_service_process("status", status_settings, log, **env)
    try:
        await wait_for_outcomes(database_url, namespace, len(sent), timeout=30)
        books = await account(nats_url, namespace, database_url)
        assert books.problems([r["report_id"] for r in sent]) == []
        # and it goes on working, without another restart
        more = reports("after", 10)
        await publish(nats_url, namespace, more)
        await wait_for_outcomes(database_url, namespace, len(sent) + 10, timeout=15)
        books = await account(nats_url, namespace, database_url)
        assert books.problems([r["report_id"] for r in sent + more]) == []
    finally:
        kill(process)


# -- the stack in this process, on servers a test may take down -------------------------------


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "pg" / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(tmp_path / "nats", free_port())
    server.start()
    yield server
    server.stop()


@contextlib.asynccontextmanager
async def running_stack(
    nats_url: str, database_url: str, namespace: str, **status_env: Any
) -> AsyncIterator[list[ServiceRuntime]]:
    common = {"nats_url": nats_url, "database_url": database_url, "namespace": namespace}
    services: list[ServiceRuntime] = [
        PlansService(PlansSettings(**common, SPN_PLANS_HTTP_PORT=free_port()), CollectorRegistry()),
        StatusService(
            StatusSettings(**common, SPN_STATUS_AUTO_CLOSE_DAYS=0, **status_env),
            CollectorRegistry(),
        ),
        RollupService(RollupSettings(**common), CollectorRegistry()),
    ]
    started: list[ServiceRuntime] = []
    try:
        for service in services:
            await service.start()
            started.append(service)
        yield services
    finally:
        for service in reversed(started):
            await service.stop()


def stop_abruptly(server: EmbeddedPostgres) -> None:
    """A fast shutdown (every connection cut), as in a database server's restart."""
    assert server.pid is not None
    os.kill(server.pid, signal.SIGINT)
    deadline = time.monotonic() + 30
    while server.running():
        assert time.monotonic() < deadline, "PostgreSQL did not stop"
        time.sleep(0.05)


async def all_healthy(services: list[ServiceRuntime]) -> dict[str, dict[str, Any]] | None:
    found = {s.name: await s.health() for s in services}
    return None if any(v != "ok" for c in found.values() for v in c.values()) else found


async def recorded(client: SpnClient, report_ids: list[str]) -> bool:
    found = await outcomes(client, *report_ids)
    return all(outcome == "recorded" for outcome in found.values())


async def judged(client: SpnClient, period: str) -> bool:
    found = await client.request(ru.GetRollup(period=period))
    return bool(found.get("judged"))


async def test_a_database_outage_longer_than_the_pool_timeout_loses_nothing(
    own_postgres: EmbeddedPostgres, nats_url: str, namespace: str
):
    url = own_postgres.url
    async with (
        running_stack(nats_url, url, namespace) as services,
        SpnClient(nats_url, namespace, timeout=10) as client,
    ):
        await approved_plan(client)
        assert await until(lambda: adopted(client))
        before = reports("before", 20)
        await publish(nats_url, namespace, before)
        assert await until(lambda: recorded(client, [r["report_id"] for r in before]))

        stop_abruptly(own_postgres)
        during = reports("during", 50)
        await publish(nats_url, namespace, during)  # the inbox keeps them
        await asyncio.sleep(8)  # the fault: longer than the pool's 5 s connection timeout
        for service in services:
            async with asyncio.timeout(1):  # health answers at once, and tells the truth
                checks = await service.health()
            assert checks["database"].startswith("unreachable"), (service.name, checks)
        own_postgres.start()

        sent = before + during
        assert await until(lambda: recorded(client, [r["report_id"] for r in sent]), 60)
        books = await account(nats_url, namespace, url, schema="public")
        assert books.problems([r["report_id"] for r in sent]) == []
        # every service goes on working without a restart
        assert await until(lambda: all_healthy(services), 30), [
            (s.name, await s.health()) for s in services
        ]
        await client.request(st.ClosePeriod(period="2026-10"))
        assert await until(lambda: judged(client, "2026-10"), 30)
        plans = await client.request(cmd.ListPlans())
        assert [p["key"] for p in plans["plans"]] == [KEY]


async def test_nats_killed_and_restarted_loses_nothing(
    own_nats: NatsServer, database_url: str, db_schema: str, namespace: str
):
    url = database_url
    async with running_stack(own_nats.url, url, namespace, db_schema=db_schema) as services:
        async with SpnClient(own_nats.url, namespace, timeout=10) as client:
            await approved_plan(client)
            assert await until(lambda: adopted(client))
            before = reports("before", 20)
            await publish(own_nats.url, namespace, before)
            assert await until(lambda: recorded(client, [r["report_id"] for r in before]))

        assert own_nats.process is not None
        own_nats.process.kill()
        own_nats.process.wait()

        async def nats_down() -> bool:
            async with asyncio.timeout(1):  # health answers at once, and tells the truth
                checks = await services[1].health()
            return checks["nats"] == "unreachable"

        assert await until(nats_down, 10)
        own_nats.start()

        after = reports("after", 50)
        await publish(own_nats.url, namespace, after)
        sent = before + after
        async with SpnClient(own_nats.url, namespace, timeout=10) as client:
            assert await until(lambda: recorded(client, [r["report_id"] for r in sent]), 60)
            books = await account(own_nats.url, namespace, url)
            assert books.problems([r["report_id"] for r in sent]) == []
            await client.request(st.ClosePeriod(period="2026-10"))
            assert await until(lambda: judged(client, "2026-10"), 30)
            assert await until(lambda: all_healthy(services), 30)
        assert await relayed_once_in_order(own_nats.url, namespace, "status", len(sent))


async def relayed_once_in_order(nats_url: str, namespace: str, app: str, recorded: int) -> bool:
    """The app's events in the stream: each notification once, in the order stored, and
    one ``action.recorded`` per report recorded."""
    messages = [m for m in await stream_messages(nats_url, namespace)
                if m[0].startswith(f"{namespace}.evt.{app}.")]  # fmt: skip
    numbers = [int(msg_id.removeprefix(f"{app}:")) for _, msg_id in messages]
    assert numbers == sorted(set(numbers)), "a notification twice, or out of order"
    subject = f"{namespace}.{st.ActionStatusRecorded.SUBJECT}"
    assert sum(1 for s, _ in messages if s == subject) == recorded
    return True


# -- poison ------------------------------------------------------------------------------------


async def test_an_oversized_binary_report_is_dead_lettered_and_intake_goes_on(
    client: SpnClient, status_service: StatusService, nats_url: str, namespace: str,
    database_url: str,
):  # fmt: skip
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    binary = bytes(range(256)) * 1600  # 400 kB, no JSON
    valid = reports("valid", 5)
    await publish(nats_url, namespace, [binary, *valid])
    assert await until(lambda: recorded(client, [r["report_id"] for r in valid]))
    letters = await until(lambda: dead_letters(nats_url, namespace))
    assert [(d["service"], d["reason"]) for d in letters] == [("status", "invalid_payload")]
    assert letters[0]["payload_truncated"] is True
    assert letters[0]["payload_bytes"] == len(binary)
    assert letters[0]["source_sequence"] == 1  # the original, whole, is there in the inbox
    books = await account(nats_url, namespace, database_url)
    assert books.problems([r["report_id"] for r in valid]) == []


async def publish_next_plans_event(nats_url: str, namespace: str, body: bytes) -> None:
    """A body on plan.approved under the id that follows the plans service's last event,
    as its relay would publish it."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        last = await js.get_last_msg(events_stream(namespace), f"{namespace}.evt.plans.>")
        found = event_source((last.headers or {})["Nats-Msg-Id"])
        assert found is not None
        await js.publish(subject(namespace, "evt.plans.plan.approved"), body,
                         stream=events_stream(namespace),
                         headers={"Nats-Msg-Id": f"plans:{found[1] + 1}",
                                  PREVIOUS_HEADER: str(found[1])})  # fmt: skip
    finally:
        await nc.close()


async def test_garbage_on_an_event_subject_is_dead_lettered_and_what_follows_is_taken(
    client: SpnClient, status_service: StatusService, rollup_service: RollupService,
    nats_url: str, namespace: str,
):  # fmt: skip
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for relative in ("evt.plans.plan.approved", "evt.status.period.closed"):
            garbage = b"\x00garbage{"
            await js.publish(subject(namespace, relative), garbage, stream=events_stream(namespace))
    finally:
        await nc.close()
    await approved_plan(client)  # a valid approval behind the garbage
    assert await until(lambda: adopted(client))
    await publish_next_plans_event(nats_url, namespace, b"{not an approval")  # a buggy relay
    valid = reports("valid", 5)
    await publish(nats_url, namespace, valid)
    assert await until(lambda: recorded(client, [r["report_id"] for r in valid]))
    await client.request(st.ClosePeriod(period="2026-10"))
    assert await until(lambda: judged(client, "2026-10"), 30)

    letters = await dead_letters(nats_url, namespace)
    found = sorted((d["service"], d["reason"], d["source_subject"]) for d in letters)
    ns = namespace
    assert found == [  # no Nats-Msg-Id naming its service: refused before it is read
        ("rollup", "invalid_event", f"{ns}.evt.plans.plan.approved"),  # its own check
        ("rollup", "source_mismatch", f"{ns}.evt.plans.plan.approved"),
        ("rollup", "source_mismatch", f"{ns}.evt.status.period.closed"),
        ("status", "invalid_payload", f"{ns}.evt.plans.plan.approved"),  # the shared path
        ("status", "source_mismatch", f"{ns}.evt.plans.plan.approved"),
    ]


# -- races -------------------------------------------------------------------------------------


async def test_reports_ahead_of_their_plans_approval_are_parked_then_recorded(
    client: SpnClient, status_service: StatusService, nats_url: str, namespace: str,
    database_url: str,
):  # fmt: skip
    """First reports sent well before the approval (parked, deterministically), then reports
    sent in the same moment as it: every one is recorded once the plan is known."""
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    await client.request(cmd.SubmitPlan(plan=KEY, organization="oak-school", by="Pat"))
    early = reports("early", 10)
    await publish(nats_url, namespace, early)

    async def all_parked() -> bool:
        found = await outcomes(client, *[r["report_id"] for r in early])
        return set(found.values()) == {"parked"}

    assert await until(all_parked)
    racing = reports("race", 30)
    await asyncio.gather(
        client.request(cmd.ApprovePlan(plan=KEY, organization="river-lea", by="Sam")),
        publish(nats_url, namespace, racing),
    )
    sent = [r["report_id"] for r in early + racing]
    assert await until(lambda: recorded(client, sent), 30)
    books = await account(nats_url, namespace, database_url)
    assert books.problems(sent) == []


async def test_a_report_whose_plan_never_comes_is_parked_then_dead_lettered(
    plans_settings: PlansSettings, status_settings: StatusSettings, client: SpnClient,
    nats_url: str, namespace: str, database_url: str,
):  # fmt: skip
    settings = status_settings.model_copy(update={"park_seconds": 1.0})
    service = StatusService(settings, CollectorRegistry())
    await service.start()
    try:
        await approved_plan(client)
        assert await until(lambda: adopted(client))
        orphan = report("orphan-1", "1.1.1.1", "2026-10", "in_progress")
        orphan["plan"] = "oak-school/2027-28"  # its own, never imported
        await publish(nats_url, namespace, [orphan])

        async def outcome() -> str | None:
            found = (await outcomes(client, "orphan-1"))["orphan-1"]
            return found if found == "rejected" else None

        assert await until(outcome, 30)
        books = await account(nats_url, namespace, database_url)
        assert books.problems(["orphan-1"], rejected={"orphan-1": "unknown_plan"}) == []
    finally:
        await service.stop()
