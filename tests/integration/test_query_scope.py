"""Queries asked as an organization (``<subject>.<organization>``) on real NATS and
PostgreSQL: the status service answers from its own directory, fed by the plans
service's events; a directory left empty by an upgrade (events taken before the service
kept one) is rebuilt from the stream when the service starts."""

from __future__ import annotations

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.organizations import Organization
from services.status.bootstrap import StatusService
from services.status.settings import StatusSettings
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.factories import organization
from tests.integration.test_plans_service import register_network
from tests.integration.test_status_service import (
    KEY,
    adopted,
    approved_plan,
    publish,
    report,
    until,
)


def asking(client: SpnClient, org: str | None) -> SpnClient:
    client.asker = org  # as the CLI does with an organization's credential
    return client


async def sees_plan_progress(client: SpnClient, org: str) -> bool:
    """Whether ``org`` is answered about KEY (oak-school's plan) by the status service."""
    try:
        await asking(client, org).request(st.GetPlanProgress(plan=KEY))
        return True
    except RefusedError as error:
        assert error.code == "not_authorized", error
        return False
    finally:
        asking(client, None)


async def test_the_status_service_answers_each_organization_what_is_its_own(
    client: SpnClient, status_settings: StatusSettings, database_url: str, db_schema: str,
):  # fmt: skip
    await approved_plan(client)  # state-sea > river-lea > oak-school
    await client.request(cmd.RegisterOrganization(
        organization=Organization(**organization("elm-school", "SCHOOL", "river-lea"))))
    first = StatusService(status_settings, CollectorRegistry())
    await first.start()
    try:
        assert await until(lambda: adopted(client))
        assert await until(lambda: sees_plan_progress(client, "river-lea"))  # directory known
        assert await sees_plan_progress(client, "oak-school")
        assert await sees_plan_progress(client, "state-sea")
        assert not await sees_plan_progress(client, "elm-school")  # a sibling school
        assert not await sees_plan_progress(client, "other-lea")
    finally:
        await first.stop()

    with psycopg.connect(database_url, autocommit=True) as conn:  # as after an upgrade, one
        conn.execute(sql.SQL("DELETE FROM {} WHERE code <> 'oak-school'").format(  # event
            sql.Identifier(db_schema, "status_organizations")))  # taken since: not empty
    second = StatusService(status_settings, CollectorRegistry())
    await second.start()
    try:
        directory = second.directory()  # filled before its consumers started
        assert directory.lineage("oak-school") == ["oak-school", "river-lea", "state-sea"]
        assert await until(lambda: sees_plan_progress(client, "river-lea"))
        assert not await sees_plan_progress(client, "elm-school")
    finally:
        await second.stop()


@pytest.mark.usefixtures("status_service")
async def test_a_report_outcome_is_seen_by_its_sender_and_those_above_it(
    client: SpnClient, nats_url: str, namespace: str,
):  # fmt: skip
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    await publish(nats_url, namespace, [report("r-scope", "1.1.1.1", "2026-10", "in_progress")],
                  msg_ids=False)  # fmt: skip
    asked = st.GetReportOutcomes(report_ids=["r-scope"])

    async def outcome(org: str | None) -> str:
        try:
            return str((await asking(client, org).request(asked))["outcomes"][0]["outcome"])
        finally:
            asking(client, None)

    assert await until(lambda: _recorded(outcome, None))
    assert await until(lambda: _recorded(outcome, "river-lea"))  # its school's
    assert await outcome("oak-school") == "recorded"
    assert await outcome("elm-school") == "pending"  # as an id never sent
    of_oak = st.GetReportOutcomes(report_ids=["r-scope"], sender="oak-school")
    of_elm = st.GetReportOutcomes(report_ids=["r-scope"], sender="elm-school")
    assert (await client.request(of_oak))["outcomes"][0]["outcome"] == "recorded"
    assert (await client.request(of_elm))["outcomes"][0]["outcome"] == "pending"
    with pytest.raises(RefusedError, match="not_authorized"):
        await asking(client, "elm-school").request(of_oak)
    asking(client, None)


async def _recorded(outcome, org: str | None) -> bool:
    return await outcome(org) == "recorded"


@pytest.mark.usefixtures("status_service")
async def test_a_report_for_another_organizations_plan_is_refused_at_once(
    client: SpnClient, nats_url: str, namespace: str,
):  # fmt: skip
    """Not parked until that plan comes (where its outcome would tell which ids the plan's
    own reports have): refused as it arrives."""
    await register_network(client)  # oak-school's plan is not even imported
    foreign = report("r-for-oak", "1.1.1.1", "2026-10", "in_progress", organization="elm-school")
    await publish(nats_url, namespace, [foreign], msg_ids=False, organization="elm-school")

    async def decided() -> dict | None:
        found = (await client.request(st.GetReportOutcomes(report_ids=["r-for-oak"])))
        outcome = found["outcomes"][0]
        return outcome if outcome["outcome"] != "pending" else None

    outcome = await until(decided)
    assert outcome and outcome["outcome"] == "rejected", outcome
    assert outcome["reason"] == "reporter_not_of_plan_organization"
