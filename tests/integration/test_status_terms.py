"""A term's figures and what its reports said, through the status service on real NATS
and PostgreSQL; the reports table filled from the event store when an upgrade left it
empty."""

from __future__ import annotations

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import status as st
from services.status.bootstrap import StatusService
from services.status.settings import StatusSettings
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.integration.test_status_service import (
    KEY,
    adopted,
    approved_plan,
    publish,
    report,
    until,
)


def _noted(report_id: str, period: str, **more: object) -> dict[str, object]:
    return report(report_id, "1.1.1.1", period, "in_progress") | more


async def _quarter(client: SpnClient) -> dict | None:
    found = await client.request(st.GetPlanProgress(plan=KEY, term="2026-Q2"))
    (term,) = found["terms"]
    return term if term["through"] == "2026-11" else None


async def test_a_quarters_reports_are_kept_shown_and_filled_again_after_an_upgrade(
    client: SpnClient, status_settings: StatusSettings, nats_url: str, namespace: str,
    database_url: str, db_schema: str,
):  # fmt: skip
    await approved_plan(client)
    first = StatusService(status_settings, CollectorRegistry())
    await first.start()
    try:
        assert await until(lambda: adopted(client))
        await publish(nats_url, namespace, [
            _noted("q-1", "2026-10", cause_and_adjustments="sub shortage", budget_used="40.5"),
            _noted("q-2", "2026-11", comments="back on track", budget_used="9.5",
                   outputs_completed=["agenda; sign-in <sheet>"]),
        ])  # fmt: skip
        assert await until(lambda: _recorded(client, 2))
        for period in ("2026-10", "2026-11"):
            await client.request(st.ClosePeriod(period=period, early=True))
        shown = await until(lambda: _quarter(client))
        assert shown is not None and not shown["closed"]  # December is still open
        assert _milestone(shown) == {
            "reports": 2, "budget_used": "50.0",
            "cause_and_adjustments": [("1.1.1.1", "2026-10", "sub shortage")],
            "comments": [("1.1.1.1", "2026-11", "back on track")],
            "outputs_completed": [("1.1.1.1", "2026-11", "agenda; sign-in <sheet>")]}
        with pytest.raises(RefusedError, match="of plan year 2027-28, not of 2026-27"):
            await client.request(st.GetPlanProgress(plan=KEY, term="2027-Q1"))
    finally:
        await first.stop()

    with psycopg.connect(database_url, autocommit=True) as conn:  # as before it was kept
        conn.execute(sql.SQL("DELETE FROM {}").format(
            sql.Identifier(db_schema, "status_action_reports")))
    second = StatusService(status_settings, CollectorRegistry())
    await second.start()
    try:
        again = await until(lambda: _quarter(client))
        assert again is not None and _milestone(again) == _milestone(shown)
    finally:
        await second.stop()


async def _recorded(client: SpnClient, count: int) -> bool:
    found = await client.request(st.GetPlanProgress(plan=KEY))
    return bool(found["reports_recorded"] >= count)


def _milestone(term: dict) -> dict:
    (milestone,) = [m for s in term["strategies"] for m in s["milestones"]
                    if m["number"] == "1.1.1"]  # fmt: skip
    told = milestone["reported"]
    notes = ("cause_and_adjustments", "comments", "outputs_completed")
    return {"reports": told["reports"], "budget_used": told["budget_used"],
            **{n: [(x["action"], x["period"], x["text"]) for x in told[n]] for n in notes}}
