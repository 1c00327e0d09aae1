"""A period close at the size of a district and more: 300 approved plans of 64 actions each
(about 8 kB of close events per plan). The plans service's part is not under test here:
the plans' approvals are published on the events stream as it would publish them."""

from __future__ import annotations

import asyncio
import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import nats
import psycopg
import psycopg.errors
import pytest
from eventsourcing.persistence import Tracking
from psycopg import sql

from contracts import plan_events as pe
from contracts import rebuild as rb
from contracts import rollup as ru
from contracts import status as st
from contracts.organizations import Organization
from contracts.plans import ImprovementPlan
from contracts.subjects import events_stream, subject
from services.shared.eventstore import postgres_env
from services.status.application import CLOSE_CHUNK, Delivery, StatusApplication
from services.status.translator import plan_structure
from spn.cli.client import SpnClient
from tests.factories import organization, plan_document
from tests.integration.test_alerts_service import (  # noqa: F401 (fixtures)
    alerts_service,
    alerts_settings,
    smtp,
    smtp_port,
)
from tests.integration.test_status_service import publish, until

pytestmark = pytest.mark.slow
PLANS = 300
PERIOD = "2026-10"
IDS = UUID("6f1c7c36-7f57-4b8e-9d7e-3f4f1f0d2a10")


def large_plan(code: str) -> dict:
    """Four priority areas of four strategies, each two milestones of two actions: 64."""
    document = plan_document(code)
    template = document["priority_areas"][0]["strategies"][0]
    areas = []
    for a in range(1, 5):
        strategies = []
        for s in range(1, 5):
            strategy = copy.deepcopy(template)
            strategy["number"] = f"{a}.{s}"
            strategy["practice"] = ["1A", "2B", "3B", "4C"][s - 1]
            strategy["milestones"] = [
                {**copy.deepcopy(template["milestones"][0]), "number": f"{a}.{s}.{m}",
                 "actions": [
                     {**copy.deepcopy(template["milestones"][0]["actions"][i]),
                      "number": f"{a}.{s}.{m}.{i + 1}"}
                     for i in range(2)
                 ]}
                for m in range(1, 3)
            ]  # fmt: skip
            strategies.append(strategy)
        areas.append({"number": a, "title": f"Area {a}", "strategies": strategies})
    document["priority_areas"] = areas
    return ImprovementPlan.model_validate(document).to_jsonable()


async def publish_network(nats_url: str, namespace: str, schools: list[str]) -> None:
    """What the plans service would publish: the organizations, then each plan approved."""
    now = datetime.now(UTC)
    orgs = [organization("scale-sea", "SEA")]
    leas = [f"scale-lea-{i}" for i in range(10)]
    orgs += [organization(lea, "LEA", "scale-sea") for lea in leas]
    orgs += [organization(code, "SCHOOL", leas[i % 10]) for i, code in enumerate(schools)]
    events: list[pe.IntegrationEvent] = [
        pe.OrganizationRegistered(
            event_id=f"org-{o['code']}:1", version=1, occurred_at=now,
            organization=Organization.model_validate(o),
        )
        for o in orgs
    ]
    template = large_plan("scale-template")
    for code in schools:
        plan = ImprovementPlan.model_validate({**template, "organization": code})
        plan_id = uuid5(IDS, code)
        events.append(pe.PlanApproved(
            event_id=f"{plan_id}:3", version=3, occurred_at=now, plan_id=plan_id,
            key=f"{code}/2026-27", organization=code, plan_year="2026-27", by="Sam",
            approved_by=leas[0], plan=plan,
        ))  # fmt: skip
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = events_stream(namespace)
        for chunk in range(0, len(events), 200):
            await asyncio.gather(*(
                js.publish(subject(namespace, e.SUBJECT), e.to_json(), stream=stream,
                           headers={"Nats-Msg-Id": f"plans:{n}"})
                for n, e in enumerate(events[chunk : chunk + 200], start=chunk + 1)
            ))  # fmt: skip
    finally:
        await nc.close()


def status_events(database_url: str, schema: str, topic: str) -> list[tuple]:
    """(originator id, state) of the status store's events whose topic ends so."""
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            sql.SQL("SELECT originator_id, state FROM {} WHERE topic LIKE %s").format(
                sql.Identifier(schema, "status_events")
            ),
            (f"%{topic}",),
        ).fetchall()


def closes_stored(database_url: str, schema: str) -> Counter[str]:
    """PeriodClosed events in the status store, per plan aggregate, for PERIOD."""
    rows = status_events(database_url, schema, "PlanProgress.PeriodClosed")
    return Counter(str(o) for o, state in rows if json.loads(bytes(state))["period"] == PERIOD)


def rollup_plan_periods(database_url: str, schema: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE period = %s").format(
                sql.Identifier(schema, "rollup_plan_periods")
            ),
            (PERIOD,),
        ).fetchone()[0]


async def test_a_close_of_300_plans_completes_once_while_reports_keep_flowing(
    status_service, rollup_service, nats_url: str, namespace: str, database_url: str
):
    schools = [f"scale-school-{i:03d}" for i in range(PLANS)]
    await publish_network(nats_url, namespace, schools)
    async with SpnClient(nats_url, namespace, timeout=120) as client:
        last = f"{schools[-1]}/2026-27"
        assert await until(lambda: client.request(st.GetPlanProgress(plan=last)), 120)

        reports = [
            {"report_id": f"scale-{code}", "plan": f"{code}/2026-27", "action": "1.1.1.1",
             "period": PERIOD, "status": "in_progress", "reporter": {"name": "Pat",
             "organization": code}}
            for code in schools
        ]  # fmt: skip
        closing = asyncio.create_task(client.request(st.ClosePeriod(period=PERIOD)))
        for code, report in zip(schools, reports, strict=True):  # ingest during the close
            await publish(nats_url, namespace, [report], organization=code)
        result = await closing
        assert result == {"schema_version": 1, "period": PERIOD, "result": "closed",
                          "plans_evaluated": PLANS}  # fmt: skip
        assert PLANS > CLOSE_CHUNK * 10  # the close took many bounded steps

        stored = closes_stored(database_url, namespace)
        assert len(stored) == PLANS and set(stored.values()) == {1}
        again = await client.request(st.ClosePeriod(period=PERIOD))
        assert again["result"] == "unchanged" and again["plans_evaluated"] == PLANS
        assert closes_stored(database_url, namespace) == stored

        async def judged() -> bool:
            return bool((await client.request(ru.GetRollup(period=PERIOD))).get("judged"))

        assert await until(judged, 120)
        assert rollup_plan_periods(database_url, namespace) == PLANS


def adopt(app: StatusApplication, school: str, count: int) -> list[str]:
    """``count`` large plans of schools named ``<school>-<n>``, approved and adopted."""
    keys = [f"{school}-{i}/2026-27" for i in range(count)]
    structure = plan_structure(large_plan(f"{school}-0"))
    app.commit(app.prepare_plan_events(Tracking("T_EVENTS", count), [
        Delivery(i + 1, {"kind": "approved", "plan_id": str(uuid5(IDS, key)), "key": key,
                         "organization": key.split("/")[0], "plan_year": "2026-27",
                         "structure": structure})
        for i, key in enumerate(keys)
    ]))  # fmt: skip
    return keys


def test_a_close_cut_short_is_finished_by_closing_again_and_evaluates_no_plan_twice(
    database_url: str, db_schema: str
):
    """A crash after the first step of a close: the plans of that step are closed, the
    period is not (no ``period.closed``, so the rollup judges nothing); closing again in a
    new process finishes it."""

    env = postgres_env(database_url, db_schema)
    first = StatusApplication(env)
    keys = adopt(first, "cut-school", 7)
    step = first.close_period_step(PERIOD, chunk=3)
    assert (step.finished, step.plans_evaluated) == (False, 3)
    first.close()  # the crash

    second = StatusApplication(env)
    try:
        steps = [second.close_period_step(PERIOD, chunk=3) for _ in range(3)]
        assert [(s.finished, s.changed, s.plans_evaluated) for s in steps] == [
            (False, True, 6), (True, True, 7), (True, False, 7),
        ]  # fmt: skip
        stored = closes_stored(database_url, db_schema)
        assert len(stored) == len(keys) and set(stored.values()) == {1}
        assert len(status_events(database_url, db_schema, "ReportingPeriod.Closed")) == 1
    finally:
        second.close()


def test_a_cache_smaller_than_the_network_reads_plans_again_and_loses_nothing(
    database_url: str, db_schema: str
):
    """SPN_STATUS_CACHED_PLANS below the number of plans: each plan leaves the cache and is
    read again from the store, and its reports, duplicates and close come out the same."""

    app = StatusApplication({**postgres_env(database_url, db_schema),
                             "AGGREGATE_CACHE_MAXSIZE": "2"})  # fmt: skip
    try:
        keys = adopt(app, "lru-school", 7)

        def report(n: int, key: str) -> Delivery:
            return Delivery(n, {"report_id": f"lru-{key}", "plan": key, "action": "1.1.1.1",
                                "period": PERIOD, "status": "complete",
                                "completed_on": f"{PERIOD}-10", "reporter": {
                                    "name": "Pat", "organization": key.split("/")[0]}})  # fmt: skip

        first = app.prepare_reports("T_INBOX", [report(i + 1, k) for i, k in enumerate(keys)], [])
        app.commit(first)
        again = app.prepare_reports("T_INBOX", [report(20 + i, k) for i, k in enumerate(keys)], [])
        assert (first.recorded, again.recorded, again.duplicates) == (7, 0, 7)
        while not app.close_period_step(PERIOD, chunk=3).finished:
            pass
        for key in keys:
            close = app.period_figures(key)[PERIOD]
            assert close["figures"]["actions_completed"] == 1, key
    finally:
        app.close()


def test_a_close_step_that_cannot_store_leaves_no_changed_plan_in_the_cache(
    database_url: str, db_schema: str, monkeypatch: pytest.MonkeyPatch
):
    """The close step changes the cached plans in place: when its transaction fails, the
    cache is forgotten, so closing again evaluates them (nothing is taken as closed)."""

    app = StatusApplication(postgres_env(database_url, db_schema))
    try:
        adopt(app, "fail-school", 3)

        def refuse(*_: object, **__: object) -> None:
            raise psycopg.errors.AdminShutdown("terminating connection")

        monkeypatch.setattr(app, "save", refuse)
        with pytest.raises(psycopg.errors.AdminShutdown):
            app.close_period_step(PERIOD)
        monkeypatch.undo()
        step = app.close_period_step(PERIOD)
        assert (step.finished, step.plans_evaluated) == (True, 3)
        assert len(closes_stored(database_url, db_schema)) == 3
    finally:
        app.close()


@pytest.mark.timeout(480)  # 300 reports made one by one: 77 s alone, twice that in CI
@pytest.mark.usefixtures("status_service", "alerts_service")
async def test_a_quarter_of_300_plans_closes_once_and_each_report_is_shared_once(
    smtp: Any, nats_url: str, namespace: str, database_url: str,  # noqa: F811 (the fixture)
):  # fmt: skip
    """Three closes of 300 plans: the quarter closes with the last, once; each school's
    liaison is sent its quarterly report once; a school's quarter says what it reported."""
    schools = [f"quarter-school-{i:03d}" for i in range(PLANS)]
    await publish_network(nats_url, namespace, schools)
    async with SpnClient(nats_url, namespace, timeout=120) as client:
        last = f"{schools[-1]}/2026-27"
        assert await until(lambda: client.request(st.GetPlanProgress(plan=last)), 120)
        for code in schools:
            await publish(nats_url, namespace, [{
                "report_id": f"q-{code}", "plan": f"{code}/2026-27", "action": "1.1.1.1",
                "period": "2026-10", "status": "in_progress", "comments": f"{code} began",
                "budget_used": "12.50", "reporter": {"name": "Pat", "organization": code},
            }], organization=code)  # fmt: skip

        async def recorded() -> bool:
            found = await client.request(st.GetPlanProgress(plan=last))
            return bool(found["reports_recorded"])

        assert await until(recorded, 120)
        for period in ("2026-10", "2026-11", "2026-12"):
            closed = await client.request(st.ClosePeriod(period=period, early=True))
            assert closed["plans_evaluated"] == PLANS
        terms = [json.loads(bytes(state))["term"] for _, state in
                 status_events(database_url, namespace, "ReportingTerm.Closed")]  # fmt: skip
        assert terms == ["2026-Q2"]  # S1 waits for July to September

        quarter = await client.request(st.GetPlanProgress(plan=last, term="2026-Q2"))
        (milestone, *_) = quarter["terms"][0]["strategies"][0]["milestones"]
        assert milestone["reported"]["budget_used"] == "12.50"
        assert [n["text"] for n in milestone["reported"]["comments"]] == [
            f"{schools[-1]} began"]

        def shared() -> list[str]:  # with the month's missing reports, in one message
            return [m["To"] for m in smtp.messages
                    if ": quarterly report" in m.get_body(("plain",)).get_content()]

        async def all_shared() -> list[str] | None:
            found = shared()
            return found if len(found) >= PLANS else None

        assert await until(all_shared, 300), f"{len(shared())} of {PLANS} reports shared"
        assert sorted(shared()) == sorted(f"liaison@{code}.example.org" for code in schools)
        checked = await client.request(rb.RebuildReadModels(verify=True), "status")
        assert checked["equal"], checked  # its tables, 300 plans' worth, as its store says
        kept = {t["table"]: t for t in checked["tables"]}["action_reports"]
        assert kept["rebuilt"] == kept["live"] == PLANS
