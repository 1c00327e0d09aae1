"""No dual write: stored events reach the events stream from the notification log, exactly
once, across crashes of the plans service."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import nats
import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import plan_commands as cmd
from contracts.organizations import Organization
from contracts.subjects import PREVIOUS_HEADER, events_stream
from services.plans.application import PlansApplication
from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.shared.eventstore import postgres_env
from services.shared.relay import RelayPositionError
from spn.cli.client import SpnClient
from tests.factories import organization, plan_document
from tests.integration.helpers import stream_headers, wait_for_stream_count
from tests.integration.processes import start_plans_process
from tests.integration.test_plans_service import import_request, register_network
from tests.integration.test_status_service import dead_letters, until

KEY = "oak-school/2026-27"


def stored_event_count(settings: PlansSettings) -> int:
    with psycopg.connect(settings.database_url or "") as conn:
        query = sql.SQL("SELECT count(*) FROM {}.plans_events").format(
            sql.Identifier(settings.db_schema)
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


def relay_tracked(settings: PlansSettings) -> int:
    """The position the plans relay has recorded."""
    with psycopg.connect(settings.database_url or "", connect_timeout=10) as conn:
        row = conn.execute(sql.SQL("SELECT max(notification_id) FROM {}.plans_relay_tracking "
                                   "WHERE application_name = 'plans'")
                           .format(sql.Identifier(settings.db_schema))).fetchone()  # fmt: skip
    return int(row[0]) if row and row[0] is not None else 0


async def park_events_stream(nats_url: str, namespace: str) -> None:
    """JetStream stops taking the namespace's events: no stream binds their subjects."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(events_stream(namespace))
        info.config.subjects = [f"{namespace}.parked.>"]
        await js.update_stream(info.config)
    finally:
        await nc.close()


async def test_events_stored_before_a_crash_reach_the_stream_exactly_once(
    plans_settings: PlansSettings, nats_url: str, namespace: str, tmp_path: Path
):
    log = tmp_path / "plans.log"
    process = start_plans_process(plans_settings, log)
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await register_network(client)
            await client.request(import_request(plan_document("oak-school")))
            assert len(await wait_for_stream_count(nats_url, namespace, 4)) == 4

            await park_events_stream(nats_url, namespace)
            await client.request(cmd.SubmitPlan(plan=KEY, organization="oak-school", by="Pat"))
            await client.request(cmd.ApprovePlan(plan=KEY, organization="river-lea", by="Sam"))
            assert stored_event_count(plans_settings) == 6  # stored, not relayed
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    process = start_plans_process(plans_settings, log)  # restores the stream's subjects
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await client.request(cmd.ClosePlan(plan=KEY, organization="river-lea", by="Sam"))
        messages = await wait_for_stream_count(nats_url, namespace, 7)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0, log.read_text()

    assert [msg_id for _, msg_id in messages] == [f"plans:{n}" for n in range(1, 8)]
    assert [s.rsplit(".", 2)[-2:] for s, _ in messages[3:]] == [
        ["plan", "drafted"],
        ["plan", "submitted"],
        ["plan", "approved"],
        ["plan", "closed"],
    ]


async def network_relayed_then_stopped(
    settings: PlansSettings, nats_url: str, namespace: str
) -> None:
    """Three organizations stored and relayed; then the service (and its relay) stops."""
    service = PlansService(settings, registry=CollectorRegistry())
    await service.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await register_network(client)
        await wait_for_stream_count(nats_url, namespace, 3)
    finally:
        await service.stop()


async def test_relay_resumes_from_the_stream_when_its_tracking_lags(
    plans_settings: PlansSettings, nats_url: str, namespace: str
):
    """A crash between PubAck and saving the position: the stream knows better."""
    await network_relayed_then_stopped(plans_settings, nats_url, namespace)
    schema = sql.Identifier(plans_settings.db_schema)
    with psycopg.connect(plans_settings.database_url or "", autocommit=True) as conn:
        conn.execute(sql.SQL("UPDATE {}.plans_relay_tracking SET notification_id = 1 "
                             "WHERE application_name = 'plans'").format(schema))  # fmt: skip
    second = PlansService(plans_settings, registry=CollectorRegistry())
    await second.start()
    try:
        assert second.relay is not None
        assert await second.relay.resume_position() == 3
        # and records it, with nothing new to relay (a lag measured on the tracking is true)
        async def recorded() -> bool:
            return await asyncio.to_thread(relay_tracked, plans_settings) == 3

        assert await until(recorded), f"tracked {relay_tracked(plans_settings)}"
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await client.request(import_request(plan_document("oak-school")))
        messages = await wait_for_stream_count(nats_url, namespace, 4)
    finally:
        await second.stop()
    assert [msg_id for _, msg_id in messages] == ["plans:1", "plans:2", "plans:3", "plans:4"]


async def test_relay_refuses_a_stream_ahead_of_its_event_store(
    plans_settings: PlansSettings, nats_url: str, namespace: str, database_url: str
):
    """Same NATS data, a new database: publishing would silently skip the new events."""
    await network_relayed_then_stopped(plans_settings, nats_url, namespace)
    schema = sql.Identifier(plans_settings.db_schema)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    second = PlansService(plans_settings, registry=CollectorRegistry())
    await second.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await client.request(cmd.RegisterOrganization(organization=Organization(
                **organization("new-sea", "SEA"))))  # fmt: skip
        assert second.relay is not None
        with pytest.raises(RelayPositionError, match="holds plans event 3, but this event store"):
            await second.relay.resume_position()
        relay = (await second.health())["relay"]  # retried, and it says why, until fixed
        assert relay.startswith("restarting since") and "RelayPositionError" in relay, relay
    finally:
        await second.stop()


async def test_a_stored_event_its_contract_refuses_is_dead_lettered_and_the_relay_goes_on(
    plans_settings: PlansSettings, nats_url: str, namespace: str
):
    """An organization stored before its contract required a name (as plans of before
    the limits on actions and texts): the relay publishes the events around it, names it
    in a dead letter, and never stops on it; the next event names the one before it."""
    app = PlansApplication(postgres_env(plans_settings.database_url, plans_settings.db_schema))
    try:  # stored directly: the command's contract would refuse it
        app.register_organization(code="state-sea", kind="SEA", name="State", parent=None,
                                  profile={})  # fmt: skip
        app.register_organization(code="old-lea", kind="LEA", name="", parent="state-sea",
                                  profile={})  # fmt: skip
    finally:
        app.close()
    service = PlansService(plans_settings, registry=CollectorRegistry())
    await service.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            lea = Organization(**organization("oak-lea", "LEA", "state-sea"))
            await client.request(cmd.RegisterOrganization(organization=lea))
        await wait_for_stream_count(nats_url, namespace, 2)
        found = await stream_headers(nats_url, namespace)
        [letter] = await dead_letters(nats_url, namespace, 1)
    finally:
        await service.stop()
    assert [(h["Nats-Msg-Id"], h[PREVIOUS_HEADER]) for _, h in found] == [
        ("plans:1", "0"), ("plans:3", "1")]  # fmt: skip
    assert (letter["reason"], letter["source_stream"], letter["source_sequence"]) == (
        "unpublishable_event", "plans-store", 2)  # fmt: skip
    assert "name" in letter["message"], letter
