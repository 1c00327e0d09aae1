"""Recovery of the events stream (real NATS, PostgreSQL and services): purged, deleted or
cut short, it is refilled by the relays from the event stores; the consumers take each
event once (a refilled one they had taken is a repeat), lose none published meanwhile,
and the read models fed by the stream rebuild the same from the refilled stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import nats
import pytest
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry

from contracts.rollup import GetRollup
from contracts.subjects import EPOCH_KEY, event_mark, event_source, events_stream
from services.rollup.bootstrap import RollupService
from spn.cli.client import SpnClient
from tests.integration.helpers import events_tracking_name, stream_messages
from tests.integration.test_rebuild import rebuilt
from tests.integration.test_rollup_service import october_closed, report
from tests.integration.test_status_service import dead_letters, outcomes, publish, until

CONSUMERS = {"rollup": ["rollup"], "status": ["status-plans"]}
"""The events stream's consumers of each service under test."""


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Relays compare the stream with their stores every half second while idle."""
    monkeypatch.setenv("SPN_RELAY_CHECK_SECONDS", "0.5")
    yield


def ids_by_service(messages: list[tuple[str, str]]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for _, msg_id in messages:
        source = event_source(msg_id)
        assert source is not None, msg_id
        found.setdefault(source[0], []).append(source[1])
    return found


def counted(service: Any, name: str, consumer: str, **labels: str) -> float:
    value = service.registry.get_sample_value(
        name, {"service": service.name, "consumer": consumer, **labels}
    )
    return float(value or 0)


async def settled(nats_url: str, namespace: str, services: list[Any]) -> bool:
    """Every relay has published what its store holds, every consumer taken what it got."""
    for service in services:
        stored = await asyncio.to_thread(service.app.recorder.max_notification_id) or 0
        if service.relay is None or service.relay.position != stored:
            return False
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for service in services:
            for durable in CONSUMERS.get(service.name, []):
                try:
                    info = await js.consumer_info(events_stream(namespace), durable)
                except NotFoundError:  # not subscribed (again) yet
                    return False
                if info.num_pending or info.num_ack_pending:
                    return False
    finally:
        await nc.close()
    return True


async def october_settled(client: SpnClient, nats_url: str, namespace: str,
                          services: list[Any]) -> dict[str, Any]:  # fmt: skip
    """October closed and judged; everything taken; the LEA's October rollup."""
    await october_closed(client, nats_url, namespace)
    assert await until(lambda: lea_october(client), timeout=30)
    assert await until(lambda: settled(nats_url, namespace, services), timeout=30)
    found = await lea_october(client)
    assert found is not None
    return found


async def settled_then(client: SpnClient, nats_url: str, namespace: str, services: list[Any],
                       lose: Callable[[Any, str], Awaitable[Any]],
                       ) -> tuple[dict[str, Any], list[tuple[str, str]], dict[str, float], str]:
    """October settled, then the stream loses events (``lose(js, stream)``, as an operator
    might); the October rollup, the stream's messages and the consumers' counts before,
    and the name consumers tracked the stream under."""
    october = await october_settled(client, nats_url, namespace, services)
    before = await stream_messages(nats_url, namespace)
    counts, name = taken(services), await events_tracking_name(nats_url, namespace)
    nc = await nats.connect(nats_url)
    try:
        await lose(nc.jetstream(), events_stream(namespace))
    finally:
        await nc.close()
    return october, before, counts, name


async def lea_october(client: SpnClient) -> dict[str, Any] | None:
    result = await client.request(GetRollup(organization="river-lea", period="2026-10"))
    return result if result["judged"] else None


async def refilled(nats_url: str, namespace: str, before: dict[str, list[int]]) -> bool:
    """The stream holds again every event it held before."""
    try:
        after = ids_by_service(await stream_messages(nats_url, namespace))
    except NotFoundError:  # not made again yet
        return False
    return all(set(ids) <= set(after.get(s, [])) for s, ids in before.items())


def taken(services: list[Any]) -> dict[str, float]:
    return {durable: counted(s, "spn_consumer_processed_total", durable)
            for s in services for durable in CONSUMERS.get(s.name, [])}  # fmt: skip


def repeats(services: list[Any]) -> dict[str, float]:
    return {durable: counted(s, "spn_consumer_skipped_total", durable, reason="repeat")
            for s in services for durable in CONSUMERS.get(s.name, [])}  # fmt: skip


async def a_november_report(nats_url: str, namespace: str, client: SpnClient,
                            school: str = "oak-school", day: str = "2026-11-05") -> None:
    """A report (while the stream is being refilled): recorded."""
    late = {**report(school, "1.1.1.2", day), "period": "2026-11"}
    await publish(nats_url, namespace, [late], organization=school)

    async def recorded() -> bool:
        found = await outcomes(client, late["report_id"])
        return found[late["report_id"]] == "recorded"

    assert await until(recorded, timeout=30)


async def check_recovered(client: SpnClient, nats_url: str, namespace: str, services: list[Any],
                          before: list[tuple[str, str]], counts: dict[str, float],
                          october: dict[str, Any], lost: int | None = None,
                          ) -> list[tuple[str, str]]:  # fmt: skip
    """Refilled; each consumer took exactly the events that are new (not one again), and
    skipped as repeats at least those it had taken that were lost (the ``lost`` last of
    ``before``; all if None); the same October rollup; the stream-fed read models rebuild
    the same from the refilled stream."""
    earlier = ids_by_service(before)
    assert await until(lambda: refilled(nats_url, namespace, earlier), timeout=60)
    assert await until(lambda: settled(nats_url, namespace, services), timeout=60)
    after = await stream_messages(nats_url, namespace)
    new = {s: set(ids) - set(earlier.get(s, [])) for s, ids in ids_by_service(after).items()}
    now, skipped = taken(services), repeats(services)
    assert now["rollup"] - counts["rollup"] == sum(len(ids) for ids in new.values())
    assert now["status-plans"] - counts["status-plans"] == len(new.get("plans", ()))
    gone = before[-lost:] if lost else before
    assert skipped["rollup"] >= len(gone), skipped
    assert skipped["status-plans"] >= len(ids_by_service(gone).get("plans", [])), skipped
    assert await lea_october(client) == october
    for service in ("rollup", "status"):
        found = await rebuilt(client, service)
        assert found["equal"] and not found["problems"], found
    return after


async def test_a_purged_events_stream_is_refilled_and_nothing_is_taken_twice(
    client, plans_service, status_service, rollup_service, nats_url, namespace,
):  # fmt: skip
    services = [plans_service, status_service, rollup_service]
    october, before, counts, _ = await settled_then(
        client, nats_url, namespace, services, lambda js, stream: js.purge_stream(stream))
    await a_november_report(nats_url, namespace, client)  # published as the refill begins
    after = await check_recovered(client, nats_url, namespace, services, before, counts,
                                  october)  # fmt: skip
    marked = {event_source(msg_id) for _, msg_id in after if event_mark(msg_id)}
    assert {event_source(msg_id) for _, msg_id in before} <= marked, "refilled under ids " \
        "JetStream does not remember (it keeps the purged plain ones a while)"  # fmt: skip
    for service in ("plans", "status", "rollup"):
        refills = service_of(services, service).registry.get_sample_value(
            "spn_relay_refills_total", {"service": service})
        assert refills and refills >= 1, service


async def test_a_deleted_events_stream_is_made_again_and_refilled(
    client, plans_service, status_service, rollup_service, nats_url, namespace,
):  # fmt: skip
    services = [plans_service, status_service, rollup_service]
    october, before, counts, old_name = await settled_then(
        client, nats_url, namespace, services, lambda js, stream: js.delete_stream(stream))
    await check_recovered(client, nats_url, namespace, services, before, counts, october)
    name = await events_tracking_name(nats_url, namespace)
    assert name != old_name and name.startswith(f"{events_stream(namespace)}@")
    last = await last_sequence(nats_url, namespace)
    assert await asyncio.to_thread(rollup_service.app.position, name) <= last
    await a_november_report(nats_url, namespace, client)  # and the new stream goes on
    assert await until(lambda: settled(nats_url, namespace, services), timeout=30)


async def test_a_stream_cut_short_is_refilled_from_its_last_event(
    client, plans_service, status_service, rollup_service, nats_url, namespace,
):  # fmt: skip
    services = [plans_service, status_service, rollup_service]

    async def cut(js: Any, stream: str) -> None:
        last = (await js.stream_info(stream)).state.last_seq
        for seq in range(last - 2, last + 1):
            await js.delete_msg(stream, seq)

    october, before, counts, _ = await settled_then(client, nats_url, namespace, services, cut)
    after = await check_recovered(client, nats_url, namespace, services, before, counts,
                                  october, lost=3)  # fmt: skip
    refill = [msg_id for _, msg_id in after[len(before) - 3:]]
    assert refill and all(event_mark(m) for m in refill), refill
    # a service whose last events were cut goes on from the last it still has (its chain
    # goes on: ``<chain>.<n>``); one with none left in the stream is refilled whole
    assert any("." in (event_mark(m) or "") for m in refill), refill
    assert len(after) == len(before), "only what was cut is published again"


async def test_an_event_whose_id_names_another_service_is_dead_lettered(
    client, plans_service, status_service, rollup_service, nats_url, namespace,
):  # fmt: skip
    services = [plans_service, status_service, rollup_service]
    await october_settled(client, nats_url, namespace, services)
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().publish(
            f"{namespace}.evt.plans.plan.approved", b"{}", stream=events_stream(namespace),
            headers={"Nats-Msg-Id": "status:1"},
        )  # fmt: skip
    finally:
        await nc.close()

    letters = await dead_letters(nats_url, namespace, 2)
    assert sorted((d["service"], d["reason"]) for d in letters) == [
        ("rollup", "source_mismatch"), ("status", "source_mismatch")]  # fmt: skip


def service_of(services: list[Any], name: str) -> Any:
    return next(s for s in services if s.name == name)


async def last_sequence(nats_url: str, namespace: str) -> int:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info(events_stream(namespace))
        assert (info.config.metadata or {}).get(EPOCH_KEY)
        return int(info.state.last_seq)
    finally:
        await nc.close()



async def test_an_event_lost_from_the_middle_is_asked_for_by_the_consumer_that_lacks_it(
    client, plans_service, status_service, rollup_service, rollup_settings, nats_url, namespace,
):  # fmt: skip
    """The rollup stopped; the status service publishes a November report's events; one of
    them is deleted from the stream (the ones around it stay, so the relay's comparison of
    the stream's ends sees nothing). The rollup, started again, meets the gap, asks the
    status relay for a refill after the last status event it took, and takes them all."""
    services = [plans_service, status_service, rollup_service]
    await october_settled(client, nats_url, namespace, services)
    await rollup_service.stop()
    first_new = await last_sequence(nats_url, namespace) + 1
    await a_november_report(nats_url, namespace, client)
    assert await until(lambda: settled(nats_url, namespace, services[:2]), timeout=30)
    await a_november_report(nats_url, namespace, client, "elm-school", "2026-11-06")
    assert await until(lambda: settled(nats_url, namespace, services[:2]), timeout=30)
    messages = await stream_messages(nats_url, namespace)
    status_new = [seq for seq, (_, msg_id) in enumerate(messages, start=1)
                  if seq >= first_new and msg_id.startswith("status:")]  # fmt: skip
    assert len(status_new) >= 2, messages[first_new - 1:]
    nc = await nats.connect(nats_url)
    try:
        await nc.jetstream().delete_msg(events_stream(namespace), status_new[0])
    finally:
        await nc.close()
    rollup = RollupService(rollup_settings, CollectorRegistry())
    await rollup.start()
    try:
        published = ids_by_service(messages)["status"][-1]

        async def caught_up() -> bool:
            name = f"{events_stream(namespace)}/status"
            return await asyncio.to_thread(rollup.app.position, name) == published

        assert await until(caught_up, timeout=30)
        gaps = counted(rollup, "spn_consumer_skipped_total", "rollup", reason="gap")
        assert gaps >= 1
    finally:
        await rollup.stop()

