"""The rollup on real NATS and PostgreSQL: school figures summed up the chain and across
practices, from the events stream; and rebuilt from it."""

from __future__ import annotations

import asyncio
import json

import nats
import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from contracts import status as st
from contracts.rollup import GetRollup, ListFlags, ListSupportCases, PerformanceMeasureReported
from contracts.subjects import events_stream
from services.rollup.bootstrap import RollupService
from services.rollup.recorder import TABLES
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.factories import plan_document
from tests.integration import network
from tests.integration.helpers import events_tracking_name, stream_bodies
from tests.integration.test_status_service import all_decided, publish, until

SCHOOLS = ("oak-school", "elm-school")


async def network_with_two_school_plans(client: SpnClient) -> None:
    await network.register(client, SCHOOLS)
    for code in SCHOOLS:
        await network.approve(client, plan_document(code), "river-lea")


def report(school: str, action: str, done: str) -> dict:
    return {
        "report_id": f"{school}-{action}", "plan": f"{school}/2026-27", "action": action,
        "period": "2026-10", "status": "complete", "completed_on": done,
        "reporter": {"name": "Pat", "organization": school},
    }  # fmt: skip


async def october_closed(client: SpnClient, nats_url: str, namespace: str) -> None:
    """oak completes its four October actions on time; elm only 1.1.1.1."""
    await network_with_two_school_plans(client)
    for school in SCHOOLS:
        assert await until(lambda s=school: client.request(st.GetPlanProgress(plan=f"{s}/2026-27")))
    october = [report("oak-school", f"{s}.1.1", "2026-10-20") for s in ("1.1", "1.2", "2.1", "2.2")]
    october.append(report("elm-school", "1.1.1.1", "2026-10-25"))
    for school in SCHOOLS:
        await publish(nats_url, namespace, [r for r in october if r["plan"].startswith(school)],
                      organization=school)  # fmt: skip
    assert await until(lambda: all_decided(client, *[r["report_id"] for r in october]))
    await client.request(st.ClosePeriod(period="2026-10"))


async def lea_rollup(client: SpnClient) -> dict | None:
    """The LEA's rollup once both schools' figures are in and the period is judged (its
    flags raised: the judgment follows the figures)."""
    result = await client.request(GetRollup(organization="river-lea"))
    return result if result["organization"]["school_plans"] == 2 and result["judged"] else None


async def test_school_figures_sum_up_to_the_lea_and_across_practices(
    client, plans_service, status_service, rollup_service, nats_url, namespace
):
    """By hand, as of 2026-10-31 (each plan: 8 actions, 4 due by then):
    oak 4 completed, 4 on time, 0 behind; elm 1 completed, 1 on time, 3 behind.
    river-lea: 16 actions, 8 due, 5 completed, 5 on time (62.5%), 3 behind (37.5%).
    4C (strategy 2.2 in both): 2 due, 1 on time -> 50%; 3B (1.1 in both): 2 on time -> 100%.
    Domain 1 (1A, 1.2): oak on time, elm behind -> 50%."""
    await october_closed(client, nats_url, namespace)
    lea = await until(lambda: lea_rollup(client))
    assert lea["period"] == "2026-10"
    figures = lea["organization"]["figures"]
    counts = [figures[k] for k in ("actions_total", "actions_due", "actions_completed",
                                   "actions_on_time", "actions_behind")]  # fmt: skip
    assert counts == [16, 8, 5, 5, 3]
    assert (figures["actions_on_time_pct"], figures["actions_behind_pct"]) == (62.5, 37.5)
    rows = {r["code"]: r["figures"] for r in lea["rows"]}
    assert rows["oak-school"]["actions_on_time_pct"] == 100.0
    assert rows["elm-school"]["actions_on_time_pct"] == 25.0
    practices = {p["practice"]: p for p in lea["practices"]}
    assert practices["4C"]["organizations"] == 2
    assert practices["4C"]["figures"]["actions_on_time_pct"] == 50.0
    assert practices["3B"]["figures"]["actions_on_time_pct"] == 100.0
    assert practices["4C"]["title"] == "Engage students and families in pursuing education goals"
    domains = {d["domain"]: d for d in lea["domains"]}
    assert domains[1]["figures"]["actions_behind_pct"] == 50.0
    sea = await client.request(GetRollup())
    assert [r["code"] for r in sea["rows"]] == ["river-lea"]
    assert sea["rows"][0]["figures"] == figures

    waning = await until(lambda: waning_events(nats_url, namespace))
    assert [(w["organization"], w["rule"], w["period"]) for w in waning] == [
        ("elm-school", "behind", "2026-10")
    ]
    assert waning[0]["evidence"] == {
        "actions_due": 4,
        "actions_behind": 3,
        "actions_behind_pct": 75.0,
    }
    assert waning[0]["strategies"] == [
        {"number": "1.2", "practice": "1A"}, {"number": "2.1", "practice": "2B"},
        {"number": "2.2", "practice": "4C"},
    ]  # fmt: skip


async def test_flags_are_listed_and_label_the_practices_they_name(
    client, plans_service, status_service, rollup_service, nats_url, namespace
):
    """elm is flagged behind in October on 1.2 [1A], 2.1 [2B] and 2.2 [4C]: those practices
    of river-lea are waning; 3B (1.1 in both, every action on time) is on track."""
    await october_closed(client, nats_url, namespace)

    async def judged() -> dict | None:
        report = await client.request(GetRollup(organization="river-lea", period="2026-10"))
        return report if report["judged"] else None

    lea = await until(judged)
    statuses = {p["practice"]: p["status"] for p in lea["practices"]}
    assert statuses == {"1A": "waning", "2B": "waning", "3B": "on_track", "4C": "waning"}
    listed = await client.request(ListFlags(organization="river-lea"))
    assert [(f["organization"], f["rule"], f["period"], f["change"]) for f in listed["flags"]
            ] == [("elm-school", "behind", "2026-10", "raised")]  # fmt: skip
    assert listed["flags"] == lea["flags"]
    assert (await client.request(ListFlags(organization="oak-school")))["flags"] == []
    assert (await client.request(ListFlags(period="2026-09")))["flags"] == []
    assert (await client.request(ListFlags()))["flags"] == listed["flags"]
    with pytest.raises(RefusedError, match="organization_not_found"):
        await client.request(ListFlags(organization="no-such-school"))


async def waning_events(nats_url: str, namespace: str) -> list[dict]:
    subject = f"{namespace}.evt.rollup.progress.waning"
    bodies = await stream_bodies(nats_url, events_stream(namespace), subject)
    return [json.loads(body) for body in bodies]


async def test_dropped_read_models_are_rebuilt_the_same_from_the_events_stream(
    client, plans_service, status_service, rollup_settings, nats_url, namespace
):
    first = RollupService(rollup_settings, CollectorRegistry())
    await first.start()
    try:
        await october_closed(client, nats_url, namespace)
        before = await until(lambda: lea_rollup(client))
        cases_before = await client.request(ListSupportCases())
        assert [(c["recipient"], c["addressed_to"]) for c in cases_before["cases"]] == [
            ("elm-school", "river-lea")
        ]
        await report_measures(client)
        before = await lea_rollup(client)  # with the measures' outcomes by practice
        oak_before = await client.request(GetRollup(organization="oak-school", period="2026-10"))
        assert measures_shown(oak_before) == {
            "goal:1:1": 21.0, "strategy:1.1:1": 40.0, "strategy:1.2:1": None,
        }  # fmt: skip
        assert before["flags"] and before["flags"][0]["change"] == "raised"
    finally:
        await first.stop()
    schema = sql.Identifier(rollup_settings.db_schema)
    read_models = [f"rollup_{name}" for name in TABLES] + ["rollup_tracking"]  # not the events
    with psycopg.connect(rollup_settings.database_url or "", autocommit=True) as conn:
        for table in read_models:
            conn.execute(sql.SQL("DROP TABLE {}.{}").format(schema, sql.Identifier(table)))
    nc = await nats.connect(nats_url)
    await nc.jetstream().delete_consumer(events_stream(namespace), "rollup")
    await nc.close()
    flags_before = await until(lambda: waning_events(nats_url, namespace))
    second = RollupService(rollup_settings, CollectorRegistry())
    await second.start()
    try:
        assert await until(lambda: lea_rollup(client)) == before  # figures and flags
        oak = await client.request(GetRollup(organization="oak-school", period="2026-10"))
        assert oak == oak_before  # measure values, from the rollup's own events
        name = await events_tracking_name(nats_url, namespace)
        rebuilt = await asyncio.to_thread(second.app.position, name)
        assert rebuilt >= await last_status_sequence(nats_url, namespace)
        assert (await second.health())["relay"] == "ok"

        async def relayed() -> bool:  # whatever the rebuild stored has reached the stream
            assert second.relay is not None
            stored = await asyncio.to_thread(second.app.recorder.max_notification_id)
            return second.relay.position == (stored or 0)

        assert await until(relayed)
        assert await client.request(ListSupportCases()) == cases_before  # opened once only
    finally:
        await second.stop()
    assert await waning_events(nats_url, namespace) == flags_before  # raised once only
    measures = await stream_bodies(nats_url, events_stream(namespace),
                                   f"{namespace}.evt.rollup.measure.reported")  # fmt: skip
    assert [(m["measure"], m["period"], m["value"]) for m in map(json.loads, measures)] == [
        ("strategy:1.1:1", "2026-10", 40.0), ("goal:1:1", "2026-10", 20.0),
        ("goal:1:1", "2026-10", 21.0),
    ]  # each value once: the same value again is no new fact


async def report_measures(client: SpnClient) -> None:
    """oak: strategy 1.1's measure at 40; goal 1's at 20, then 21 (a correction), then 21
    again (nothing new)."""
    for measure, value in [("strategy:1.1:1", 40), ("goal:1:1", 20), ("goal:1:1", 21),
                           ("goal:1:1", 21)]:  # fmt: skip
        await client.request(PerformanceMeasureReported(
            plan="oak-school/2026-27", measure=measure, value=value, period="2026-10", by="Pat"
        ))  # fmt: skip


def measures_shown(report: dict) -> dict[str, float | None]:
    shown = [m for g in report["goals"] for m in g["measures"]]
    shown += [m for s in report["strategies"] for m in s["measures"]]
    return {m["measure"]: m["value"] for m in shown if m["measure"] in (
        "goal:1:1", "strategy:1.1:1", "strategy:1.2:1")}


async def last_status_sequence(nats_url: str, namespace: str) -> int:
    """The stream sequence of the last status event (the rebuild must have passed it)."""
    nc = await nats.connect(nats_url)
    try:
        last = await nc.jetstream().get_last_msg(
            events_stream(namespace), f"{namespace}.evt.status.>"
        )
        return int(last.seq)
    finally:
        await nc.close()


async def test_strategies_interlace_implementation_with_outcome_data(
    client, plans_service, status_service, rollup_service, nats_url, namespace
):
    """Each strategy measure: baseline 26, target 36 for 2026-27 (tests/factories.py).
    oak is on schedule on every strategy in October: 1.1 at 40 is on track; 1.2 at 30 is
    implemented but not working; 2.1 has no value: no data. elm is behind on 1.2: not
    implemented, whatever its measure says."""
    await october_closed(client, nats_url, namespace)
    for plan, measure, value in [
        ("oak-school", "strategy:1.1:1", 40),
        ("oak-school", "strategy:1.2:1", 30),
        ("elm-school", "strategy:1.2:1", 50),
    ]:
        reported = PerformanceMeasureReported(
            plan=f"{plan}/2026-27", measure=measure, value=value, period="2026-10", by="Pat"
        )
        await client.request(reported)
    with pytest.raises(RefusedError, match="unknown_measure"):
        unknown = PerformanceMeasureReported(
            plan="oak-school/2026-27", measure="strategy:3.1:1", value=1, period="2026-10", by="P"
        )
        await client.request(unknown)

    async def statuses(school: str) -> dict[str, str] | None:
        report = await client.request(GetRollup(organization=school, period="2026-10"))
        found = {s["number"]: s["status"] for s in report["strategies"]}
        return found or None

    oak = await until(lambda: statuses("oak-school"))
    assert oak == {"1.1": "on_track", "1.2": "implemented_not_working", "2.1": "no_data",
                   "2.2": "no_data"}  # fmt: skip
    elm = await statuses("elm-school")
    assert elm is not None and elm["1.2"] == "not_implemented"


async def test_the_not_implemented_label_honours_the_behind_setting(
    client, plans_service, status_service, rollup_settings, nats_url, namespace
):
    """With SPN_WANING_BEHIND_PCT above any strategy's behind %, elm's 1.2 (behind, with a
    measure of 50 against a target of 36) is judged on its measure: on track."""
    service = RollupService(rollup_settings.model_copy(update={"behind_pct": 101.0}),
                            CollectorRegistry())  # fmt: skip
    await service.start()
    try:
        await october_closed(client, nats_url, namespace)
        await client.request(PerformanceMeasureReported(
            plan="elm-school/2026-27", measure="strategy:1.2:1", value=50, period="2026-10",
            by="Pat",
        ))  # fmt: skip

        async def elm_12() -> str | None:
            report = await client.request(GetRollup(organization="elm-school", period="2026-10"))
            return {s["number"]: s["status"] for s in report["strategies"]}.get("1.2")

        assert await until(elm_12) == "on_track"
    finally:
        await service.stop()
