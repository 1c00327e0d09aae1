"""The status service on real NATS and PostgreSQL: reports in, figures and slips out."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import date
from typing import Any

import nats
import pytest
from prometheus_client import CollectorRegistry

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.subjects import events_stream
from services.status.bootstrap import StatusService
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError, StackUnreachableError
from tests.factories import plan_document
from tests.integration.helpers import stream_messages
from tests.integration.test_plans_service import import_request, register_network

KEY = "oak-school/2026-27"


def report(report_id: str, action: str, period: str, status: str, completed_on: str | None = None,
           organization: str = "oak-school") -> dict[str, Any]:  # fmt: skip
    return {
        "report_id": report_id,
        "plan": KEY,
        "action": action,
        "period": period,
        "status": status,
        "completed_on": completed_on,
        "reporter": {"name": "Pat", "organization": organization},
    }


async def approved_plan(client: SpnClient) -> None:
    await register_network(client)
    await client.request(import_request(plan_document("oak-school")))
    await client.request(cmd.SubmitPlan(plan=KEY, organization="oak-school", by="Pat"))
    await client.request(cmd.ApprovePlan(plan=KEY, organization="river-lea", by="Sam"))


async def until(condition, timeout: float = 15.0) -> Any:
    """Wait until ``condition()`` (a coroutine function) returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await condition()
        except (RefusedError, StackUnreachableError):  # not known yet / not subscribed yet
            value = None
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.05)


async def publish(
    nats_url: str,
    namespace: str,
    payloads: list[Any],
    msg_ids: bool = True,
    organization: str = "oak-school",
) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for payload in payloads:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            headers = (
                {"Nats-Msg-Id": payload["report_id"]}
                if msg_ids and isinstance(payload, dict)
                else None
            )
            await js.publish(
                st.inbox_subject(namespace, organization), body, stream=st.inbox_stream(namespace),
                headers=headers,
            )  # fmt: skip
    finally:
        await nc.close()


async def outcomes(client: SpnClient, *report_ids: str) -> dict[str, str]:
    result = await client.request(st.GetReportOutcomes(report_ids=list(report_ids)))
    return {o["report_id"]: o["outcome"] for o in result["outcomes"]}


async def all_decided(client: SpnClient, *report_ids: str) -> dict[str, str] | None:
    found = await outcomes(client, *report_ids)
    return found if "pending" not in found.values() else None


async def adopted(client: SpnClient) -> dict[str, Any]:
    return await client.request(st.GetPlanProgress(plan=KEY))


@pytest.fixture
async def plan_with_status(client, status_service) -> SpnClient:
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    return client


async def test_reports_published_while_status_is_down_are_processed_when_it_starts(
    client, plans_service, status_settings, nats_url, namespace
):
    await approved_plan(client)
    first = StatusService(status_settings, CollectorRegistry())
    await first.start()
    assert await until(lambda: adopted(client))
    await first.stop()

    await publish(nats_url, namespace, [report("r-down-1", "1.1.1.1", "2026-10", "in_progress")])
    second = StatusService(status_settings, CollectorRegistry())
    await second.start()
    try:
        assert await until(lambda: all_decided(client, "r-down-1")) == {"r-down-1": "recorded"}
    finally:
        await second.stop()


async def test_the_same_report_twice_counts_once(plan_with_status, nats_url, namespace):
    client = plan_with_status
    same = report("r-twice", "1.1.1.1", "2026-10", "complete", "2026-10-20")
    await publish(nats_url, namespace, [same])
    await publish(nats_url, namespace, [same], msg_ids=False)  # past the stream's dedup
    await publish(nats_url, namespace, [report("r-after", "1.2.1.1", "2026-10", "in_progress")])
    assert await until(lambda: all_decided(client, "r-twice", "r-after"))
    progress = await adopted(client)
    assert progress["reports_recorded"] == 2
    recorded = [s for s, _ in await stream_messages(nats_url, namespace) if s.endswith("recorded")]
    assert len(recorded) == 2


async def test_poison_reports_go_to_dead_letters_and_do_not_block(
    plan_with_status, nats_url, namespace
):
    client = plan_with_status
    await publish(nats_url, namespace, [
        b"{not json",
        report("r-unknown-action", "9.9.9.9", "2026-10", "in_progress") | {"action": "4.9.9.9"},
        report("r-other-inbox", "1.1.1.1", "2026-10", "in_progress", organization="river-lea"),
        report("r-out-of-year", "1.1.1.1", "2027-08", "in_progress"),
        report("r-valid", "1.1.1.1", "2026-10", "in_progress"),
    ])  # fmt: skip
    await publish(nats_url, namespace, [  # on its own inbox, about another's plan
        report("r-foreign", "1.1.1.1", "2026-10", "in_progress", organization="river-lea"),
    ], organization="river-lea")  # fmt: skip
    ids = ("r-unknown-action", "r-other-inbox", "r-foreign", "r-out-of-year", "r-valid")
    decided = await until(lambda: all_decided(client, *ids))
    assert decided == dict.fromkeys(ids[:-1], "rejected") | {"r-valid": "recorded"}
    letters = await dead_letters(nats_url, namespace, 5)
    assert sorted((d["reason"], str(d["report_id"])) for d in letters) == [
        ("inbox_of_another_organization", "r-other-inbox"),  # the subject is whom NATS let in
        ("invalid_payload", "None"),
        ("period_outside_plan_year", "r-out-of-year"),
        ("reporter_not_of_plan_organization", "r-foreign"),
        ("unknown_action", "r-unknown-action"),
    ]
    assert [d["payload"] for d in letters if d["reason"] == "invalid_payload"] == ["{not json"]


async def dead_letters(nats_url: str, namespace: str, expected: int) -> list[dict[str, Any]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        sub = await js.subscribe(f"{namespace}.dlq.>", stream=st.dead_letter_stream(namespace),
                                 ordered_consumer=True)  # fmt: skip
        letters = [json.loads((await sub.next_msg(timeout=10)).data) for _ in range(expected)]
        await sub.unsubscribe()
        return letters
    finally:
        await nc.close()


async def test_period_close_gives_the_tool_a_figures(plan_with_status, nats_url, namespace):
    """The plan: 4 strategies, one milestone each (due 2027-06-15) of two actions, due
    2026-10-31 (x.x.1.1) and 2027-03-31 (x.x.1.2). As of 2026-11-30, by hand:
    due: the four x.x.1.1 actions. 1.1.1.1 complete 10-20 (on time); 1.2.1.1 complete 11-05
    (late); 2.1.1.1 in progress, 2.2.1.1 never reported (both behind, 30 days overdue);
    1.1.1.2 complete 11-20 (early, not yet due).
    Completed 3/8 = 37.5%; on time 1/4 = 25%; behind 2/4 = 50%; milestones: 1.1.1 complete
    (1/4 = 25%); none behind (due June, not within the next period)."""
    client = plan_with_status
    reports = [
        report("f1", "1.1.1.1", "2026-10", "complete", "2026-10-20"),
        report("f2", "1.2.1.1", "2026-11", "complete", "2026-11-05"),
        report("f3", "2.1.1.1", "2026-11", "in_progress"),
        report("f4", "1.1.1.2", "2026-11", "complete", "2026-11-20"),
    ]
    await publish(nats_url, namespace, reports)
    assert await until(lambda: all_decided(client, "f1", "f2", "f3", "f4"))
    closed = await client.request(st.ClosePeriod(period="2026-11"))
    assert (closed["result"], closed["plans_evaluated"]) == ("closed", 1)
    again = await client.request(st.ClosePeriod(period="2026-11"))
    assert again["result"] == "unchanged"

    period = (await adopted(client))["periods"][0]
    assert period["as_of"] == "2026-11-30"
    assert period["figures"] == {
        "actions_total": 8, "actions_due": 4, "actions_completed": 3, "actions_on_time": 1,
        "actions_behind": 2, "actions_completed_pct": 37.5, "actions_on_time_pct": 25.0,
        "actions_behind_pct": 50.0, "milestones_total": 4, "milestones_completed": 1,
        "milestones_completed_pct": 25.0, "milestones_behind": 0,
    }  # fmt: skip
    strategy_11 = period["strategies"][0]
    assert (strategy_11["number"], strategy_11["practice"]) == ("1.1", "3B")
    assert strategy_11["figures"]["actions_on_time_pct"] == 100.0
    assert strategy_11["figures"]["actions_completed_pct"] == 100.0
    assert strategy_11["milestones"][0]["figures"]["milestones_completed"] == 1

    events = [
        s.split(".evt.", 1)[1]
        for s, _ in await until_count(nats_url, namespace, "period.figures", 1)
    ]
    assert events.count("status.action.overdue") == 2
    assert events.count("status.period.figures") == 1
    assert "status.report.missing" not in events


async def until_count(nats_url: str, namespace: str, suffix: str, count: int):
    async def enough():
        messages = await stream_messages(nats_url, namespace)
        return messages if sum(s.endswith(suffix) for s, _ in messages) >= count else None

    return await until(enough)


async def test_an_active_plan_without_reports_is_missing_them(
    plan_with_status, nats_url, namespace
):
    client = plan_with_status
    await client.request(st.ClosePeriod(period="2026-09"))
    messages = await until_count(nats_url, namespace, "report.missing", 1)
    assert sum(s.endswith("status.report.missing") for s, _ in messages) == 1


async def test_a_month_closes_itself_n_days_after_it_ends(client, plans_service, status_settings):
    settings = status_settings.model_copy(
        update={"auto_close_days": 5, "auto_close_check_seconds": 0.1}
    )
    service = StatusService(settings, CollectorRegistry(), today=lambda: date(2026, 12, 6))
    await service.start()
    try:
        await approved_plan(client)

        async def november_closed():
            return (await adopted(client))["periods"]

        periods = await until(november_closed)
        assert [p["period"] for p in periods] == ["2026-11"]
    finally:
        await service.stop()


SLIP_REPORTS = [
    report("s1", "1.1.1.1", "2026-10", "complete", "2026-10-20"),
    report("s2", "1.1.1.2", "2026-11", "in_progress"),
    report("s3", "2.1.1.1", "2026-11", "complete", "2026-11-10"),
]


@pytest.mark.parametrize(
    ("today", "close_by_hand"),
    [(date(2026, 12, 6), False), (date(2027, 9, 30), True)],
    ids=["closed-automatically-in-december", "closed-by-hand-next-september"],
)
async def test_the_same_reports_give_the_same_slips_on_any_day(
    client, plans_service, status_settings, nats_url, namespace, today, close_by_hand
):
    """November, as of 2026-11-30, whenever it is evaluated: 1.2.1.1 and 2.2.1.1 (due 10-31)
    are overdue by 30 days; 2.1.1.1 was done 10 days late; on time 1 of 4 due = 25%."""
    collecting = StatusService(status_settings, CollectorRegistry())  # no automatic close
    await collecting.start()
    try:
        await approved_plan(client)
        assert await until(lambda: adopted(client))
        await publish(nats_url, namespace, SLIP_REPORTS)
        assert await until(lambda: all_decided(client, "s1", "s2", "s3"))
    finally:
        await collecting.stop()
    settings = status_settings.model_copy(
        update={"auto_close_days": 5, "auto_close_check_seconds": 0.1}
    )
    closing = StatusService(settings, CollectorRegistry(), today=lambda: today)
    await closing.start()
    try:
        if close_by_hand:
            await until(lambda: client.request(st.ClosePeriod(period="2026-11")))
        await until_count(nats_url, namespace, "period.figures", 1)
        progress = await adopted(client)
    finally:
        await closing.stop()
    november = [e for e in await overdue_events(nats_url, namespace) if e["period"] == "2026-11"]
    assert sorted((e["action"], e["days_overdue"]) for e in november) == [
        ("1.2.1.1", 30), ("2.2.1.1", 30)
    ]  # fmt: skip
    figures = {p["period"]: p["figures"] for p in progress["periods"]}["2026-11"]
    on_time = (figures["actions_on_time"], figures["actions_due"], figures["actions_on_time_pct"])
    assert on_time == (1, 4, 25.0)


async def overdue_events(nats_url: str, namespace: str) -> list[dict[str, Any]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = events_stream(namespace)
        info = await js.stream_info(stream)
        sub = await js.subscribe(
            f"{namespace}.evt.status.action.overdue", stream=stream, ordered_consumer=True
        )
        found = []
        with contextlib.suppress(nats.errors.TimeoutError):
            for _ in range(info.state.messages):
                found.append(json.loads((await sub.next_msg(timeout=1)).data))
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def test_each_consumer_s_lag_counts_its_own_subjects_and_drains_to_zero(
    client, plans_service, status_service, nats_url, namespace
):
    """status-plans reads only plan events of the events stream, which the status
    service's own events (a report recorded) fill too: its lag is 0 once it has taken
    every plan event, not the stream's length."""
    await approved_plan(client)
    assert await until(lambda: adopted(client))
    await publish(nats_url, namespace, [report("lag-1", "1.1.1.1", "2026-10", "complete",
                                                "2026-10-20")])  # fmt: skip
    assert await until(lambda: all_decided(client, "lag-1"))
    recorded = [s for s, _ in await stream_messages(nats_url, namespace) if s.endswith("recorded")]
    assert recorded  # the events stream holds more than plan events

    def lag(consumer: str) -> float | None:
        return status_service.registry.get_sample_value(
            "spn_consumer_lag_messages", {"service": "status", "consumer": consumer})

    async def drained() -> bool:
        return lag("status-plans") == 0 and lag("status-inbox") == 0

    assert await until(drained, timeout=20), (lag("status-plans"), lag("status-inbox"))


async def test_a_month_that_has_not_ended_is_closed_only_early_on_purpose(
    client, plans_service, status_settings
):  # fmt: skip
    service = StatusService(status_settings, CollectorRegistry(), today=lambda: date(2026, 11, 30))
    await service.start()
    try:
        await approved_plan(client)
        assert await until(lambda: adopted(client))
        with pytest.raises(RefusedError) as refused:
            await client.request(st.ClosePeriod(period="2026-11"))  # its last day is today
        assert refused.value.code == "period_not_ended" and "2026-11-30" in str(refused.value)
        assert (await adopted(client))["periods"] == []  # nothing closed
        closed = await client.request(st.ClosePeriod(period="2026-11", early=True))
        assert closed["result"] == "closed"
        assert await client.request(st.ClosePeriod(period="2026-10")) != {}  # it has ended
    finally:
        await service.stop()
