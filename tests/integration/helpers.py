"""Reading what reached JetStream, for assertions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from contracts.subjects import events_stream, events_wildcard


async def stream_messages(
    nats_url: str, namespace: str, **options: Any
) -> list[tuple[str, str]]:
    """Every (subject, Nats-Msg-Id) in the namespace's events stream, in stream order."""
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
            found.append((msg.subject, (msg.headers or {}).get("Nats-Msg-Id", "")))
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
