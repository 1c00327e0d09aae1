"""Reading what reached JetStream, for assertions."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.subjects import event_mark, events_stream, events_wildcard
from services.shared.sources import Verdict, claimed
from services.shared.streams import tracking_name


async def stream_messages(
    nats_url: str, namespace: str, **options: Any
) -> list[tuple[str, str]]:
    """Every (subject, Nats-Msg-Id) in the namespace's events stream, in stream order."""
    return [(subject, headers.get("Nats-Msg-Id", ""))
            for subject, headers in await stream_headers(nats_url, namespace, **options)]


async def stream_headers(
    nats_url: str, namespace: str, **options: Any
) -> list[tuple[str, dict[str, str]]]:
    """Every (subject, headers) in the namespace's events stream, in stream order."""
    nc = await nats.connect(nats_url, **options)
    try:
        js = nc.jetstream()
        info = await js.stream_info(events_stream(namespace))
        count = info.state.messages
        if count == 0:
            return []
        sub = await js.subscribe(
            events_wildcard(namespace),
            stream=events_stream(namespace),
            ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )
        found = []
        for _ in range(count):
            msg = await sub.next_msg(timeout=5)
            found.append((msg.subject, dict(msg.headers or {})))
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def stream_bodies(
    nats_url: str, stream: str, subject: str, **options: Any
) -> list[bytes]:
    """The body of every message of ``stream`` on ``subject`` (wildcards allowed), in order
    (``options``: of the connection, e.g. a user and password)."""
    nc = await nats.connect(nats_url, **options)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream, subjects_filter=subject)
        count = sum((info.state.subjects or {}).values())
        if not count:
            return []
        sub = await js.subscribe(
            subject, stream=stream, ordered_consumer=True,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
        )  # fmt: skip
        found = [(await sub.next_msg(timeout=5)).data for _ in range(count)]
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def wait_for_stream_count(
    nats_url: str, namespace: str, expected: int, timeout: float = 15.0
) -> list[tuple[str, str]]:
    """Wait until the stream holds ``expected`` messages (fail fast if it holds more)."""
    deadline = time.monotonic() + timeout
    while True:
        messages = await stream_messages(nats_url, namespace)
        if len(messages) >= expected or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.1)


async def events_tracking_name(nats_url: str, namespace: str, **options: Any) -> str:
    """The name consumers track their position in the events stream under (its epoch's)."""
    nc = await nats.connect(nats_url, **options)
    try:
        return await tracking_name(nc.jetstream(), events_stream(namespace))
    finally:
        await nc.close()


@dataclass
class Walk:
    """The events stream read as its consumers read it (``services.shared.sources``)."""

    taken: dict[str, list[int]] = field(default_factory=dict)  # each service's, in order
    gaps: dict[str, set[int]] = field(default_factory=dict)  # skipped: one before missing
    plain_repeats: Counter[str] = field(default_factory=Counter)  # twice, not by a refill
    unsourced: int = 0  # no Nats-Msg-Id naming its subject's service

    def missing(self) -> dict[str, set[int]]:
        """Events skipped for a gap and never taken after (no refill brought them)."""
        return {s: left for s, gaps in self.gaps.items()
                if (left := gaps - set(self.taken.get(s, [])))}  # fmt: skip


def walk(namespace: str, messages: list[tuple[str, dict[str, str]]]) -> Walk:
    found = Walk()
    for subject, headers in messages:
        event = claimed(namespace, subject, headers)
        if event is None:
            found.unsourced += 1
            continue
        taken = found.taken.setdefault(event.service, [])
        verdict = event.verdict(taken[-1] if taken else 0)
        if verdict is Verdict.TAKE:
            taken.append(event.notification)
        elif verdict is Verdict.GAP:
            found.gaps.setdefault(event.service, set()).add(event.notification)
        elif not event_mark(headers.get("Nats-Msg-Id", "")):
            found.plain_repeats[event.service] += 1
    return found
