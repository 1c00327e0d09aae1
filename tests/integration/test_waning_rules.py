"""Every waning rule, raised and cleared, on real NATS and PostgreSQL (figures by hand).

Four schools of one LEA share a one-strategy plan: strategy 1.1 (4C), milestone 1.1.1 due
2026-11-30 with actions due 09-30, 10-31 and 11-30. Schools b, c, d finish each action on
its due date (100% on time throughout). School a:
- September: 1.1.1.1 on time -> 1/1 = 100%;
- October: 1.1.1.2 not done -> on time 1/2 = 50%, behind 1/2 = 50% -> "behind"; the
  milestone has an overdue action and is due before the end of November ->
  "milestone_slipped" (running late);
- November: 1.1.1.3 in progress -> on time 1/3 = 33.3%, behind 2/3 = 66.7% -> "behind";
  100 -> 50 -> 33.3 fell twice -> "declining"; 50 and 33.3 against the peers' median of
  100 in October and November -> "lagging"; the slipped milestone is still incomplete ->
  "milestone_slipped" holds;
- December: finishes both late -> nothing behind (behind cleared), the milestone complete
  (milestone_slipped cleared), on time stays 33.3% (declining cleared), still 66.7 points
  under its peers (lagging holds).
"""

from __future__ import annotations

import copy
import json

import nats

from contracts import status as st
from contracts.subjects import events_stream
from spn.cli.client import SpnClient
from tests.factories import plan_document
from tests.integration import network
from tests.integration.test_status_service import all_decided, publish, until

SCHOOLS = ("a-school", "b-school", "c-school", "d-school")
DUE = {"1.1.1.1": "2026-09-30", "1.1.1.2": "2026-10-31", "1.1.1.3": "2026-11-30"}


def one_strategy_plan(code: str) -> dict:
    doc = copy.deepcopy(plan_document(code))
    strategy = doc["priority_areas"][0]["strategies"][0]
    strategy["practice"] = "4C"
    milestone = strategy["milestones"][0]
    milestone["due"] = "2026-11-30"
    template = milestone["actions"][0]
    milestone["actions"] = [template | {"number": n, "start": "2026-09-01", "due": d}
                            for n, d in DUE.items()]  # fmt: skip
    doc["priority_areas"] = [doc["priority_areas"][0] | {"strategies": [strategy]}]
    return doc


def status(school: str, action: str, period: str, done_on: str | None = None) -> dict:
    return {
        "report_id": f"{school}-{action}-{period}", "plan": f"{school}/2026-27",
        "action": action, "period": period,
        "status": "complete" if done_on else "in_progress", "completed_on": done_on,
        "reporter": {"name": "Pat", "organization": school},
    }  # fmt: skip


def month(period: str) -> list[dict]:
    """b, c, d finish the action due this month on its due date; a as described above."""
    due_now = [a for a, d in DUE.items() if d.startswith(period)]
    reports = [status(s, a, period, DUE[a]) for s in SCHOOLS[1:] for a in due_now]
    if not due_now:  # nothing due in December: they still report (a silent school wanes)
        reports = [status(s, "1.1.1.3", period, "2026-11-30") for s in SCHOOLS[1:]]
    a_reports = {
        "2026-09": [status("a-school", "1.1.1.1", period, "2026-09-30")],
        "2026-10": [status("a-school", "1.1.1.2", period)],
        "2026-11": [status("a-school", "1.1.1.3", period)],
        "2026-12": [status("a-school", "1.1.1.2", period, "2026-12-05"),
                    status("a-school", "1.1.1.3", period, "2026-12-10")],
    }  # fmt: skip
    return reports + a_reports[period]


async def rollup_events(nats_url: str, namespace: str) -> list[tuple[str, str, str, str]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(events_stream(namespace))
        sub = await js.subscribe(
            f"{namespace}.evt.rollup.progress.>",
            stream=events_stream(namespace),
            ordered_consumer=True,
        )
        found = []
        try:
            for _ in range(info.state.messages):
                msg = await sub.next_msg(timeout=0.5)
                data = json.loads(msg.data)
                kind = msg.subject.rsplit(".", 1)[-1]
                found.append((kind, data["organization"], data["rule"], data["period"]))
        except nats.errors.TimeoutError:
            pass
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def test_each_rule_is_raised_once_and_cleared_on_recovery(
    client: SpnClient, plans_service, status_service, rollup_service, nats_url, namespace
):
    await network.register(client, SCHOOLS)
    for school in SCHOOLS:
        key = await network.approve(client, one_strategy_plan(school), "river-lea")
        await network.known_to_status(client, key)
    for period in ("2026-09", "2026-10", "2026-11", "2026-12"):
        reports = month(period)
        for school in SCHOOLS:
            mine = [r for r in reports if r["reporter"]["organization"] == school]
            await publish(nats_url, namespace, mine, organization=school)
        assert await until(lambda r=reports: all_decided(client, *[x["report_id"] for x in r]))
        await client.request(st.ClosePeriod(period=period, early=True))

    async def december_judged():
        found = await rollup_events(nats_url, namespace)
        return found if any(e[3] == "2026-12" for e in found) else None

    events = set(await until(december_judged, timeout=30) or [])
    assert events == {
        ("waning", "a-school", "behind", "2026-10"),
        ("waning", "a-school", "milestone_slipped", "2026-10"),
        ("waning", "a-school", "behind", "2026-11"),
        ("waning", "a-school", "declining", "2026-11"),
        ("waning", "a-school", "lagging", "2026-11"),
        ("waning", "a-school", "milestone_slipped", "2026-11"),
        ("recovered", "a-school", "behind", "2026-12"),
        ("recovered", "a-school", "declining", "2026-12"),
        ("recovered", "a-school", "milestone_slipped", "2026-12"),
        ("waning", "a-school", "lagging", "2026-12"),
    }
