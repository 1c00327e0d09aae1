"""The rebuild: the rollup stopped, its read models and tracking dropped, and started again:
it reads the whole events stream back into its tables (how an operator rebuilds them)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from psycopg import sql

from contracts.subjects import events_stream, events_wildcard
from services.rollup.recorder import TABLES
from spn.bench.connect import nats_options
from spn.stack.supervisor import Stack

STOP_SECONDS = 30.0


async def rebuild_rollup(
    stack: Stack, namespace: str, timeout: float
) -> tuple[int, float, float]:
    """(events in the stream, seconds from the rollup's start until it is ready, seconds
    from then until it has taken them all)."""
    rollup = next(s for s in stack.services if s.name == "rollup")
    rollup.interrupt()
    await asyncio.to_thread(rollup.wait_stopped, time.monotonic() + STOP_SECONDS)
    stream = events_stream(namespace)
    await asyncio.to_thread(_drop_read_models, stack.database_url)
    nc = await nats.connect(stack.nats_url, **nats_options())
    try:
        js = nc.jetstream(timeout=30)
        await js.delete_consumer(stream, "rollup")
        state = (await js.stream_info(stream)).state
    finally:
        await nc.close()
    started = time.perf_counter()
    rollup.start()
    stack.pid_files.write(rollup)
    deadline = time.monotonic() + timeout

    async def wait(done: Callable[[], bool]) -> float:
        while not await asyncio.to_thread(done):
            if time.monotonic() > deadline or not rollup.running():
                raise TimeoutError("the rollup did not rebuild its read models in time")
            await asyncio.sleep(0.05)
        return time.perf_counter()

    ready = await wait(rollup.ready)
    rebuilt = await wait(lambda: _position(stack.database_url, stream) >= state.last_seq)
    return state.messages, ready - started, rebuilt - ready


async def raw_stream_read(nats_url: str, namespace: str) -> float:
    """Events per second: the events stream pulled in batches of 500, each body decoded from
    JSON (plain nats-py), as a rebuild reads it."""
    nc = await nats.connect(nats_url, **nats_options())
    try:
        js = nc.jetstream(timeout=30)
        stream = events_stream(namespace)
        total = (await js.stream_info(stream)).state.messages
        sub = await js.pull_subscribe(
            events_wildcard(namespace), stream=stream,
            config=ConsumerConfig(ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL),
        )  # fmt: skip
        started, taken = time.perf_counter(), 0
        while taken < total:
            for message in await sub.fetch(500, timeout=10):
                json.loads(message.data)
                taken += 1
        elapsed = time.perf_counter() - started
        await sub.unsubscribe()
    finally:
        await nc.close()
    return taken / max(elapsed, 1e-9)


def _drop_read_models(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in [f"rollup_{name}" for name in TABLES] + ["rollup_tracking"]:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(table)))


def _position(database_url: str, stream: str) -> int:
    with psycopg.connect(database_url, connect_timeout=5) as conn:
        try:
            row = conn.execute(
                "SELECT max(notification_id) FROM rollup_tracking WHERE application_name = %s "
                "OR starts_with(application_name, %s)", (stream, f"{stream}@"),
            ).fetchone()
        except psycopg.errors.UndefinedTable:  # not created yet
            return 0
    return int(row[0]) if row and row[0] is not None else 0
