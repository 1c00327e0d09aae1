"""No dual write: stored events reach the events stream from the notification log, exactly
once, across crashes of the plans service."""

from __future__ import annotations

import signal
from pathlib import Path

import nats
import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import plan_commands as cmd
from contracts.organizations import Organization
from contracts.subjects import events_stream
from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.shared.relay import RelayPositionError
from spn.cli.client import SpnClient
from tests.factories import organization, plan_document
from tests.integration.helpers import wait_for_stream_count
from tests.integration.processes import start_plans_process
from tests.integration.test_plans_service import import_request, register_network

KEY = "oak-school/2026-27"


def stored_event_count(settings: PlansSettings) -> int:
    with psycopg.connect(settings.database_url or "") as conn:
        query = sql.SQL("SELECT count(*) FROM {}.plans_events").format(
            sql.Identifier(settings.db_schema)
        )
        row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


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
