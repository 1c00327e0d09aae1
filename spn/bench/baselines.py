"""What the raw parts can do on this machine, measured in the same run as SPN itself.

Ingest: the same report messages through plain nats-py and psycopg, no framework: publish
to a stream, pull in batches of 100, validate each with its pydantic contract, store the
batch and upsert one projection row per plan in one transaction, ack. Read: the status
event store read back and decoded, as a rebuild reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig
from psycopg import sql

from contracts.status import ActionStatusReported
from spn.bench.connect import nats_options

STREAM, SUBJECT = "BENCH_RAW", "bench.raw"


async def raw_ingest(nats_url: str, database_url: str, bodies: list[bytes]) -> float:
    """Messages per second from the first publish to the last commit and ack."""
    nc = await nats.connect(nats_url, **nats_options())
    js = nc.jetstream(timeout=30)
    try:
        await _fresh_stream(js)
        with psycopg.connect(database_url) as conn:
            _fresh_tables(conn)
            started = time.perf_counter()
            for start in range(0, len(bodies), 500):  # as spn report submit publishes
                chunk = enumerate(bodies[start : start + 500])
                await asyncio.gather(
                    *(js.publish(f"{SUBJECT}.{i}", body, stream=STREAM) for i, body in chunk)
                )
            sub = await js.pull_subscribe(
                f"{SUBJECT}.>", durable="raw", stream=STREAM,
                config=ConsumerConfig(ack_policy=AckPolicy.ALL, max_ack_pending=10_000),
            )  # fmt: skip
            taken = 0
            while taken < len(bodies):
                batch = await sub.fetch(100, timeout=10)
                _store(conn, batch)
                await batch[-1].ack()
                taken += len(batch)
            elapsed = time.perf_counter() - started
        await js.delete_stream(STREAM)
    finally:
        await nc.close()
    return len(bodies) / elapsed


def raw_read(database_url: str, schema: str, table: str = "status_events") -> float:
    """Stored events per second, read in order and decoded from JSON."""
    statement = sql.SQL(
        "SELECT notification_id, state FROM {} WHERE notification_id > %s "
        "ORDER BY notification_id LIMIT 5000"
    ).format(sql.Identifier(schema, table))
    started, count, last = time.perf_counter(), 0, 0
    with psycopg.connect(database_url) as conn:
        while True:
            rows = conn.execute(statement, (last,)).fetchall()
            if not rows:
                break
            for notification_id, state in rows:
                json.loads(bytes(state))
                last = notification_id
            count += len(rows)
    return count / max(time.perf_counter() - started, 1e-9)


async def _fresh_stream(js: nats.js.JetStreamContext) -> None:
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(STREAM)
    await js.add_stream(StreamConfig(name=STREAM, subjects=[f"{SUBJECT}.>"],
                                     storage=StorageType.FILE))  # fmt: skip


def _fresh_tables(conn: psycopg.Connection) -> None:
    conn.execute("DROP TABLE IF EXISTS bench_raw_events, bench_raw_projection")
    conn.execute("CREATE TABLE bench_raw_events (seq bigint PRIMARY KEY, body jsonb NOT NULL)")
    conn.execute("CREATE TABLE bench_raw_projection (plan text PRIMARY KEY, n int NOT NULL)")
    conn.commit()


def _store(conn: psycopg.Connection, batch: list) -> None:  # type: ignore[type-arg]
    reports = [ActionStatusReported.model_validate_json(m.data) for m in batch]
    per_plan = Counter(r.plan for r in reports)
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO bench_raw_events VALUES (%s, %s)",
            [(m.metadata.sequence.stream, m.data.decode()) for m in batch],
        )
        cur.executemany(
            "INSERT INTO bench_raw_projection VALUES (%s, %s) "
            "ON CONFLICT (plan) DO UPDATE SET n = bench_raw_projection.n + EXCLUDED.n",
            list(per_plan.items()),
        )
