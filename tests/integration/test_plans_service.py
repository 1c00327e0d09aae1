"""The plans service on a real NATS server and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import nats
import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import plan_commands as cmd
from contracts.organizations import Organization
from contracts.plans import ImprovementPlan
from contracts.replies import Reply
from contracts.subjects import subject
from services.plans.bootstrap import PlansService
from services.shared.runtime import DatabaseUnreachableError
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.conftest import free_port
from tests.factories import organization, plan_document, with_change
from tests.integration.helpers import stream_messages, wait_for_stream_count


async def register_network(client: SpnClient) -> None:
    for org in (
        organization("state-sea", "SEA"),
        organization("river-lea", "LEA", "state-sea"),
        organization("oak-school", "SCHOOL", "river-lea"),
    ):
        await client.request(cmd.RegisterOrganization(organization=Organization(**org)))


def import_request(document: dict, **extra) -> cmd.ImportPlan:
    return cmd.ImportPlan(plan=ImprovementPlan.model_validate(document), by="Pat", **extra)


async def test_plan_is_stored_relayed_and_shown(client, plans_service, nats_url, namespace):
    await register_network(client)
    result = await client.request(import_request(plan_document("oak-school")))
    assert result["result"] == "drafted"
    detail = await client.request(cmd.GetPlan(plan="oak-school/2026-27"))
    assert detail["summary"]["status"] == "draft"
    assert detail["plan"] == plan_document("oak-school") | {"schema_version": 1}
    messages = await wait_for_stream_count(nats_url, namespace, 4)
    assert [s for s, _ in messages] == [
        f"{namespace}.evt.plans.organization.registered",
        f"{namespace}.evt.plans.organization.registered",
        f"{namespace}.evt.plans.organization.registered",
        f"{namespace}.evt.plans.plan.drafted",
    ]
    assert [i for _, i in messages] == ["plans:1", "plans:2", "plans:3", "plans:4"]


async def test_importing_the_same_plan_twice_changes_nothing(
    client, plans_service, nats_url, namespace
):
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    again = await client.request(import_request(plan_document("oak-school")))
    assert (again["result"], again["changed"]) == ("unchanged", False)
    await wait_for_stream_count(nats_url, namespace, 4)
    assert plans_service.app.recorder.max_notification_id() == 4
    assert len(await stream_messages(nats_url, namespace)) == 4


async def test_a_malformed_command_names_the_field_and_stores_nothing(
    client, plans_service, nats_url, namespace
):
    await register_network(client)
    before = plans_service.app.recorder.max_notification_id()
    document = plan_document("oak-school")
    document["priority_areas"][0]["strategies"][0]["practice"] = "9Z"
    payload = json.dumps({"plan": document, "by": "Pat"}).encode()
    nc = await nats.connect(nats_url)
    try:
        message = await nc.request(subject(namespace, f"{cmd.ImportPlan.SUBJECT}.oak-school"),
                                   payload, timeout=10)  # fmt: skip
    finally:
        await nc.close()
    reply = Reply.model_validate_json(message.data)
    assert not reply.ok and reply.error is not None
    assert reply.error.code == "validation_error"
    assert reply.error.field == "plan.priority_areas[0].strategies[0].practice"
    assert plans_service.app.recorder.max_notification_id() == before


async def test_a_rule_breaking_plan_is_refused_with_the_location(client, plans_service):
    await register_network(client)
    doc = with_change(
        plan_document("oak-school"),
        ["priority_areas", 1, "strategies", 0, "milestones", 0, "actions", 0, "number"],
        "2.1.1.1",
    )
    doc["priority_areas"][1]["strategies"][0]["number"] = "1.7"
    with pytest.raises(RefusedError) as caught:
        await client.request(import_request(doc))
    assert caught.value.code == "plan_rules"
    assert caught.value.details[0]["field"] == "priority_areas[1].strategies[0].number"
    with pytest.raises(RefusedError, match="plan_not_found"):
        await client.request(cmd.GetPlan(plan="oak-school/2026-27"))


async def test_a_school_cannot_approve_its_own_plan(client, plans_service, nats_url, namespace):
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    key = "oak-school/2026-27"
    await client.request(cmd.SubmitPlan(plan=key, organization="oak-school", by="Pat"))
    with pytest.raises(RefusedError, match=r"not_authorized.*only by river-lea, not by oak-school"):
        await client.request(cmd.ApprovePlan(plan=key, organization="oak-school", by="Pat"))
    approved = await client.request(cmd.ApprovePlan(plan=key, organization="river-lea", by="Sam"))
    assert approved["result"] == "approved"
    again = await client.request(cmd.ApprovePlan(plan=key, organization="river-lea", by="Sam"))
    assert (again["result"], again["changed"]) == ("unchanged", False)  # approvals are idempotent
    messages = await wait_for_stream_count(nats_url, namespace, 6)
    assert [s.rsplit(".", 1)[-1] for s, _ in messages[3:]] == ["drafted", "submitted", "approved"]
    assert plans_service.app.recorder.max_notification_id() == 6


async def test_approved_plan_adjustment_needs_cause_and_is_in_history(client, plans_service):
    await register_network(client)
    doc = plan_document("oak-school")
    await client.request(import_request(doc))
    key = "oak-school/2026-27"
    await client.request(cmd.SubmitPlan(plan=key, organization="oak-school", by="Pat"))
    await client.request(cmd.ApprovePlan(plan=key, organization="river-lea", by="Sam"))
    changed = with_change(doc, ["direction", "mission"], "A sharper mission.")
    with pytest.raises(RefusedError, match="adjustment_required"):
        await client.request(import_request(changed))
    adjustment = cmd.Adjustment(cause="Staff survey", justification="Names the students")
    result = await client.request(import_request(changed, adjustment=adjustment))
    assert result["result"] == "adjusted"
    history = await client.request(cmd.GetPlanHistory(plan=key))
    last = history["entries"][-1]
    assert last["event"] == "Adjusted"
    assert last["details"] == {
        "cause": "Staff survey",
        "justification": "Names the students",
        "changes": ["direction changed"],
    }


async def test_lists_answer_from_the_read_model(client, plans_service):
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    listing = await client.request(cmd.ListOrganizations())
    assert [o["code"] for o in listing["organizations"]] == ["state-sea", "river-lea", "oak-school"]
    school = listing["organizations"][2]
    assert school["liaison_email"] == "liaison@oak-school.example.org"
    assert [p["status"] for p in school["plans"]] == ["draft"]
    plans = await client.request(cmd.ListPlans(organization="oak-school"))
    assert [p["key"] for p in plans["plans"]] == ["oak-school/2026-27"]


async def test_health_reports_each_dependency(plans_service: PlansService):
    assert await plans_service.health() == {
        "nats": "ok", "database": "ok", "requests": "ok", "relay": "ok", "probe": "ok",
        "gauges": "ok", "audit": "ok",
    }  # fmt: skip


async def test_the_read_model_recovers_from_a_database_outage(client, plans_service, database_url):
    """Every backend but ours is terminated, as in a PostgreSQL restart."""
    await register_network(client)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
    listing = await client.request(cmd.ListOrganizations())
    assert [o["code"] for o in listing["organizations"]] == ["state-sea", "river-lea", "oak-school"]


def test_examples_dir_exists():
    assert (Path(__file__).resolve().parents[2] / "examples" / "network").is_dir()


async def test_the_read_model_is_rebuilt_from_the_event_store(plans_settings, nats_url, namespace):
    first = PlansService(plans_settings, registry=CollectorRegistry())
    await first.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            await register_network(client)
            await client.request(import_request(plan_document("oak-school")))
            before = await client.request(cmd.ListOrganizations())
    finally:
        await first.stop()
    with psycopg.connect(plans_settings.database_url, autocommit=True) as conn:
        for table in ("plans_organizations", "plans_plans"):
            conn.execute(
                sql.SQL("DROP TABLE {}.{}").format(
                    sql.Identifier(plans_settings.db_schema), sql.Identifier(table)
                )
            )
    second = PlansService(plans_settings, registry=CollectorRegistry())
    await second.start()
    try:
        async with SpnClient(nats_url, namespace, timeout=10) as client:
            assert await client.request(cmd.ListOrganizations()) == before
    finally:
        await second.stop()


async def test_a_stopped_service_leaves_no_database_connection(plans_settings, database_url):
    def connections() -> int:
        with psycopg.connect(database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).fetchone()
        assert row is not None
        return int(row[0])

    before = connections()
    service = PlansService(plans_settings, registry=CollectorRegistry())
    await service.start()
    assert connections() > before
    await service.stop()
    deadline = time.monotonic() + 5  # a closed backend leaves pg_stat_activity promptly
    while connections() > before and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert connections() == before


async def test_an_unreachable_database_is_named_without_its_password(plans_settings):
    port = free_port()  # nothing listens there
    settings = plans_settings.model_copy(
        update={"database_url": f"postgresql://spn:s3cret@127.0.0.1:{port}/spn"})
    service = PlansService(settings, registry=CollectorRegistry())
    with pytest.raises(DatabaseUnreachableError) as failed:
        await service.start()
    message = str(failed.value)
    assert f"PostgreSQL at postgresql://spn:***@127.0.0.1:{port}/spn is unreachable" in message
    assert "s3cret" not in message and "refused" in message.lower()
