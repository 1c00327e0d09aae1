"""``spn backup --to DIR`` of a running stack and ``spn restore DIR`` into a fresh one: the
database (every service's store, one snapshot) and the JetStream streams; for an embedded
stack also its audit signing keys and NATS credentials (README, Backups)."""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import nats.errors
import psycopg
from nats.aio.client import Client

from contracts.status import dead_letter_stream
from contracts.subjects import events_stream
from services.shared.credentials import CredentialError, connect_options
from services.shared.secrets import redact
from spn.cli import output
from spn.cli.errors import CliError, InvalidInputError, StackUnreachableError
from spn.stack import backup as bk
from spn.stack.credentials import Credentials, operator_path
from spn.stack.nats_server import NatsServer, StackError
from spn.stack.postgres import EmbeddedPostgres
from spn.stack.settings import StackSettings
from spn.stack.supervisor import SERVICES

NATS_TIMEOUT = 10.0


def spn_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spn")
    except PackageNotFoundError:
        return "unknown"


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def counted(stream: str) -> Callable[[int], None]:
    """Progress of a long stream: how many messages so far."""
    return lambda n: say(f"  {stream}: {n:,} messages")


@asynccontextmanager
async def connected(url: str, credentials: Path | None) -> AsyncIterator[Client]:
    try:
        options = connect_options(credentials)
    except CredentialError as error:
        raise CliError(str(error)) from None
    try:
        nc = await nats.connect(url, connect_timeout=NATS_TIMEOUT, max_reconnect_attempts=0,
                                allow_reconnect=False, **options)  # fmt: skip
    except (nats.errors.Error, OSError) as error:
        raise StackUnreachableError(f"NATS at {url} is unreachable ({error})") from None
    try:
        yield nc
    finally:
        await nc.close()


def database_url(settings: StackSettings) -> str:
    """The database of the running stack: the external one, or the embedded one."""
    if settings.database_url:
        return settings.database_url
    server = EmbeddedPostgres(settings.data_dir / "postgres")
    if not server.running():
        raise StackUnreachableError(f"the stack of {settings.data_dir} is not running: "
                                    "start it (spn up), then back it up")  # fmt: skip
    return server.start()


# -- spn backup ------------------------------------------------------------------------------


def backup(args: argparse.Namespace, settings: StackSettings) -> int:
    to: Path = args.to.resolve()
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise InvalidInputError(f"{to} exists and is not an empty directory")
    url = database_url(settings)
    try:
        summary = asyncio.run(_backup(settings, url, to))
    except bk.BackupError as error:
        raise CliError(str(error)) from None
    except nats.errors.Error as error:
        raise CliError(f"NATS refused the backup: {error}") from None
    if args.json:
        output.emit_json(summary)
    else:
        streams = ", ".join(f"{s['name']} {s['messages']:,}" for s in summary["streams"])
        print(f"backed up to {to}: the database ({summary['postgres']['bytes']:,} bytes), "
              f"streams {streams}" + (f", {' and '.join(summary['kept'])}"
                                      if summary["kept"] else ""))  # fmt: skip
    return 0


async def _backup(settings: StackSettings, url: str, to: Path) -> dict[str, Any]:
    to.mkdir(parents=True, exist_ok=True)
    os.chmod(to, 0o700)
    say("dumping the database ...")
    dump = to / "postgres.dump"
    await asyncio.to_thread(bk.dump_database, url, dump)
    files = []
    async with connected(settings.client_nats_url, settings.client_credentials) as nc:
        js = nc.jetstream(timeout=NATS_TIMEOUT)
        for name in await bk.namespace_streams(js, settings.namespace):
            say(f"reading stream {name} ...")
            files.append(await bk.dump_stream(js, name, to / f"{name}.jsonl", counted(name)))
    kept = bk.keep_directories(settings.data_dir, to)  # what spn up keeps there, if any
    manifest = {
        "format": bk.FORMAT, "spn": spn_version(), "namespace": settings.namespace,
        "db_schema": os.environ.get("SPN_DB_SCHEMA", "public"),
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "postgres": {"file": dump.name, "sha256": bk.sha256(dump), "bytes": dump.stat().st_size},
        "streams": [asdict(f) for f in files], "kept": kept,
    }  # fmt: skip
    bk.write_manifest(to, manifest)
    return manifest


# -- spn restore -----------------------------------------------------------------------------


def restore(args: argparse.Namespace, settings: StackSettings) -> int:
    source: Path = args.source.resolve()
    try:
        manifest = bk.read_manifest(source)
    except bk.BackupError as error:
        raise InvalidInputError(str(error)) from None
    if manifest["namespace"] != settings.namespace:
        raise InvalidInputError(f"the backup is of namespace {manifest['namespace']}, this "
                                f"stack's is {settings.namespace} (SPN_NAMESPACE)")  # fmt: skip
    embedded = not (settings.nats_url or settings.database_url)
    try:
        with _servers(settings, source, manifest, embedded) as (nats_url, url):
            summary = asyncio.run(_restore(settings, source, manifest, nats_url, url))
    except bk.FreshnessError as error:
        raise CliError(str(error)) from None
    except (bk.BackupError, nats.errors.Error, psycopg.Error, KeyError, OSError) as error:
        what = str(error) if isinstance(error, bk.BackupError) else redact(
            f"{type(error).__name__}: {error}")  # fmt: skip
        raise CliError(f"the restore stopped: {what}. What was restored so far stays: make "
                       "the target fresh again (a new data directory; or drop the database "
                       "and the streams) and restore again") from None  # fmt: skip
    if args.json:
        output.emit_json(summary)
    else:
        print(f"restored {source} (taken {manifest['taken_at']}): "
              f"{summary['messages']:,} stream messages; {summary['dropped']} events relayed "
              f"after the database dump left out. Start the stack: spn up")  # fmt: skip
    return 0


@contextmanager
def _servers(settings: StackSettings, source: Path, manifest: dict[str, Any],
             embedded: bool) -> Iterator[tuple[str, str]]:  # fmt: skip
    """NATS and PostgreSQL to restore into: the external ones (the services stopped), or
    the data directory's own, started for the restore alone (with the backup's NATS users)."""
    if not embedded:
        if not (settings.nats_url and settings.database_url):
            raise CliError("restore into external servers needs both SPN_NATS_URL and "
                           "SPN_DATABASE_URL (or neither: the embedded ones)")  # fmt: skip
        yield settings.nats_url, settings.database_url
        return
    data_dir = settings.data_dir.resolve()
    with _locked(data_dir):
        bk.restore_directories(source, data_dir, manifest["kept"])
        credentials = Credentials(data_dir, settings.namespace, [s.name for s in SERVICES])
        credentials.ensure()
        nats_server = NatsServer(data_dir / "nats", settings.nats_port,
                                 authorization=credentials.authorization)  # fmt: skip
        postgres = EmbeddedPostgres(data_dir / "postgres")
        try:
            say("starting NATS and PostgreSQL of the data directory ...")
            nats_server.start()
            url = postgres.start()
            yield nats_server.url, url
        except StackError as error:
            raise CliError(str(error)) from None
        finally:
            nats_server.stop()
            postgres.stop()


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "stack.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CliError(f"a stack is running with data directory {data_dir}: stop it, "
                           "and restore into a fresh one") from None  # fmt: skip
        yield


async def _restore(settings: StackSettings, source: Path, manifest: dict[str, Any],
                   nats_url: str, url: str) -> dict[str, Any]:  # fmt: skip
    schema = manifest["db_schema"]
    credentials = settings.client_credentials if settings.nats_url else (
        operator_path(settings.data_dir.resolve()))  # fmt: skip
    async with connected(nats_url, credentials) as nc:
        js = nc.jetstream(timeout=NATS_TIMEOUT)
        await bk.check_fresh_streams(js, [s["name"] for s in manifest["streams"]])
        await asyncio.to_thread(bk.check_fresh_database, url, schema)
        say("restoring the database ...")
        await asyncio.to_thread(bk.restore_database, url, source / manifest["postgres"]["file"])
        stored = await asyncio.to_thread(bk.stored_events, url, schema)
        positions = await asyncio.to_thread(bk.tracked_positions, url, schema)
        messages = dropped = 0
        events, letters = events_stream(settings.namespace), dead_letter_stream(settings.namespace)
        for entry in manifest["streams"]:
            say(f"restoring stream {entry['name']} ...")
            messages += await bk.restore_stream(js, source, entry, counted(entry["name"]))
            if entry["name"] == events:
                dropped += await bk.drop_events_after_the_dump(js, events, source, entry, stored)
            elif entry["name"] == letters:
                await bk.drop_letters_after_the_dump(js, letters, source, entry, positions)
    return {"source": str(source), "taken_at": manifest["taken_at"], "messages": messages,
            "dropped": dropped, "stored": stored}  # fmt: skip


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    made = sub.add_parser(
        "backup", help="back up a running stack: its database and its streams",
        description="Dumps the database (every service's event store, read models and "
        "positions, one snapshot), then every stream of the namespace, message by message; "
        "for an embedded stack also its audit signing keys and NATS credentials (the "
        "directory is made 0700: it holds secrets). Restore with spn restore.",
    )  # fmt: skip
    made.add_argument("--to", type=Path, required=True, metavar="DIR",
                      help="a new or empty directory")  # fmt: skip
    made.add_argument("--json", action="store_true", help="print the manifest as JSON")
    made.set_defaults(handler=backup)
    restored = sub.add_parser(
        "restore", help="restore a backup into a fresh data directory (or fresh servers)",
        description="Into the data directory's embedded NATS and PostgreSQL (started for "
        "the restore, not running a stack), or into the external SPN_NATS_URL and "
        "SPN_DATABASE_URL with the services stopped. Both must be fresh. Events relayed "
        "after the database dump are left out, so every position is true of the dump.",
    )  # fmt: skip
    restored.add_argument("source", type=Path, metavar="DIR", help="a directory spn backup made")
    restored.add_argument("--json", action="store_true", help="print JSON for scripts")
    restored.set_defaults(handler=restore)
