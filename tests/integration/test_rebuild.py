"""Rebuilds on a real PostgreSQL and NATS: after October closes and its alerts are
delivered (plans, status, rollup and alerts running), every read model of every service
equals what its store (or the events stream) gives; a row changed by hand is found,
named, and written again; rows dropped from a stream-fed table come back from
``SPN_EVENTS``; a stream that lost its first messages is named and nothing is written;
a rebuild raced by ingest loses nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import psycopg
import pytest
from psycopg import sql

from contracts import alerts as al
from contracts import rebuild as rb
from contracts import status as st
from contracts.assessments import RecordAssessment, SelfAssessment
from contracts.rollup import GetRollup, ListSupportCases
from contracts.subjects import events_stream
from spn.cli.client import SpnClient
from tests.factories import assessment_document
from tests.integration.test_alerts_service import (  # noqa: F401 (fixtures)
    alerts_service,
    alerts_settings,
    smtp,
    smtp_port,
)
from tests.integration.test_rollup_service import october_closed
from tests.integration.test_status_service import publish, until

OWN = {"plans": {"organizations", "plans", "assessments"},
       "status": {"plans", "period_figures", "action_reports"},
       "rollup": {"support_cases", "waning", "measure_values", "judged_periods"},
       "alerts": {"alerts", "alert_targets", "messages"}}  # fmt: skip
FED = {"rollup": {"organizations", "plan_periods", "strategy_periods", "action_overdue",
                  "milestone_slips", "missing_reports", "measures", "assessments"},
       "alerts": {"contacts", "strategies", "figures", "cases"},
       "status": {"organizations"}}  # fmt: skip


async def rebuilt(client: SpnClient, service: str, verify: bool = True, **more: Any) -> dict:
    return await client.request(rb.RebuildReadModels(verify=verify, **more), service,
                                timeout=60)  # fmt: skip


async def assessed(client: SpnClient) -> list | None:
    """river-lea's Tool C levels, once the rollup has them."""
    return (await client.request(GetRollup(organization="river-lea")))["self_assessed"]


async def delivered(client: SpnClient) -> list | None:
    """October's alerts, once the rollup has judged it and every alert is delivered."""
    cases = (await client.request(ListSupportCases()))["cases"]
    alerts = (await client.request(al.ListAlerts()))["alerts"]
    done = cases and alerts and all(a["status"] == "delivered" for a in alerts)
    return alerts if done else None


@pytest.mark.usefixtures("alerts_service", "smtp")
async def test_every_read_model_of_every_service_equals_its_store_and_is_written_again(
    client, plans_service, status_service, rollup_service, nats_url, namespace, database_url,
    db_schema,
):  # fmt: skip
    await october_closed(client, nats_url, namespace)
    await client.request(RecordAssessment(
        assessment=SelfAssessment.model_validate(assessment_document("river-lea")), by="Pat"))
    assert await until(lambda: delivered(client), timeout=30)
    assert await until(lambda: assessed(client))
    for service, own in OWN.items():
        found = await rebuilt(client, service)
        assert found["equal"] and not found["problems"], found
        assert {t["table"] for t in found["tables"]} == own | FED.get(service, set())
        assert all(t["rebuilt"] == t["live"] for t in found["tables"]), found
        assert sum(t["rebuilt"] for t in found["tables"]) > 0, found
    for service, table in (("rollup", "plan_periods"), ("rollup", "support_cases"),
                           ("alerts", "messages"), ("alerts", "contacts"),
                           ("status", "organizations")):  # fmt: skip
        assert [t["rebuilt"] for t in (await rebuilt(client, service))["tables"]
                if t["table"] == table] > [0]  # fmt: skip
    assert set((await rebuilt(client, "status"))["not_covered"]) == {
        "report_outcomes", "parked_reports"}  # a record of replies and a queue

    with psycopg.connect(database_url, autocommit=True) as conn:
        def change(statement: str, table: str) -> None:
            conn.execute(sql.SQL(statement).format(sql.Identifier(db_schema, table)))

        change("UPDATE {} SET status = 'resolved'", "rollup_support_cases")
        change("DELETE FROM {} WHERE period = '2026-10'", "status_period_figures")
        change("DELETE FROM {} WHERE period = '2026-10'", "rollup_strategy_periods")
        change("UPDATE {} SET liaison_email = 'mallory@example.org'", "alerts_contacts")
        change("UPDATE {} SET status = 'failed'", "alerts_messages")
    rollup = {t["table"]: t for t in (await rebuilt(client, "rollup"))["tables"]}
    assert rollup["support_cases"]["different"] == 1
    assert rollup["support_cases"]["examples"][0]["columns"] == ["status"]
    assert rollup["strategy_periods"]["missing"] > 0 and rollup["strategy_periods"]["live"] == 0
    alerts = {t["table"]: t for t in (await rebuilt(client, "alerts"))["tables"]}
    assert alerts["contacts"]["different"] > 0 and alerts["messages"]["different"] > 0
    assert alerts["messages"]["examples"][0]["columns"] == ["status"]
    status = await rebuilt(client, "status")
    [figures] = [t for t in status["tables"] if t["table"] == "period_figures"]
    assert figures["missing"] >= 1 and not status["equal"]

    for service in ("rollup", "status", "alerts"):
        assert (await rebuilt(client, service, verify=False))["rewritten"]
        assert (await rebuilt(client, service))["equal"]
    only = await rebuilt(client, "rollup", table="plan_periods")
    assert [t["table"] for t in only["tables"]] == ["plan_periods"] and only["equal"]


async def test_a_stream_that_lost_its_first_messages_is_named_and_nothing_is_written(
    client, plans_service, status_service, rollup_service, nats_url, namespace,
):  # fmt: skip
    await october_closed(client, nats_url, namespace)
    assert await until(lambda: client.request(ListSupportCases()), timeout=30)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = events_stream(namespace)
        info = await js.stream_info(stream)
        assert info.state.last_seq > 10
        await js.purge_stream(stream, seq=6)  # retention took messages 1 to 5
    finally:
        await nc.close()
    found = await rebuilt(client, "rollup", verify=False)
    assert found["problems"] and "lacks plans events the service has taken" in \
        found["problems"][0], found  # fmt: skip
    assert set(found["not_rebuilt"]) == FED["rollup"]
    assert {t["table"] for t in found["tables"]} == OWN["rollup"]  # its own are rebuilt
    assert not found["rewritten"]  # they were equal
    checked = await rebuilt(client, "rollup")
    assert checked["problems"] and checked["equal"]  # its own tables; the others not compared


async def test_a_rebuild_raced_by_ingest_loses_nothing(
    client, plans_service, status_service, rollup_service, nats_url, namespace, database_url,
    db_schema,
):  # fmt: skip
    """While a school's reports are recorded one by one, status's read models are written
    again from the store, over and over (a row deleted by hand before each rebuild, so
    each one writes); at the end the plans table counts every report."""
    await october_closed(client, nats_url, namespace)
    plan = "oak-school/2026-27"
    before = await client.request(st.GetPlanProgress(plan=plan))
    sent: list[str] = []
    rewrites = raced = 0  # rebuilds; those while reports were recorded

    async def recorded() -> int:
        return int((await client.request(st.GetPlanProgress(plan=plan)))["reports_recorded"])

    async def ingest() -> None:
        """At least 40 reports, and on until three rebuilds have run while reports were
        being recorded (under load a rebuild can take longer than 40 reports)."""
        while (len(sent) < 40 or raced < 3) and len(sent) < 1000:
            row = {"report_id": f"race-{len(sent)}", "plan": plan, "action": "1.2.1.1",
                   "period": "2026-11", "status": "in_progress", "completed_on": None,
                   "reporter": {"name": "Pat", "organization": "oak-school"}}  # fmt: skip
            await publish(nats_url, namespace, [row], organization="oak-school")
            sent.append(row["report_id"])

    figures = sql.Identifier(db_schema, "status_period_figures")
    writer = asyncio.create_task(ingest())
    with psycopg.connect(database_url, autocommit=True) as conn:
        while not writer.done() or rewrites == 0:
            conn.execute(sql.SQL("DELETE FROM {} WHERE period = '2026-10'").format(figures))
            start = await recorded()
            rewritten = bool((await rebuilt(client, "status", verify=False))["rewritten"])
            rewrites += rewritten
            raced += rewritten and await recorded() > start
    await writer
    assert raced >= 3, f"{raced} of {rewrites} rebuilds while reports were recorded, " \
        f"beside {len(sent)} reports"  # fmt: skip

    async def all_recorded() -> dict | None:
        progress = await client.request(st.GetPlanProgress(plan=plan))
        expected = before["reports_recorded"] + len(sent)
        return progress if progress["reports_recorded"] == expected else None

    assert await until(all_recorded, timeout=max(30, len(sent) / 10))
    assert (await rebuilt(client, "status"))["equal"]
