"""The one rebuild mechanism of every service: the rows its event store gives the read
models it feeds from its own events, and the rows the events stream (``SPN_EVENTS``) gives
the ones fed by other services' events, compared row by row with the tables and written
again in one transaction unless only verifying.

Nothing the service writes meanwhile is lost: the rows are worked out for one position of
the store (its last event, the last stream message it tracked), and the tables are only
written while the store still stands there (``StoreMovedError`` otherwise). If it moved,
the stream is read on from where it was and the store's own rows worked out again."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts import rebuild as rb
from contracts.subjects import PUBLISHERS
from services.shared.errors import DomainError
from services.shared.read_models import Positions, Query, ReadModelTables, Row, StoreMovedError
from services.shared.routes import Route
from services.shared.scope import DirectoryTables
from services.shared.sources import Verdict, claimed
from services.shared.stream_reader import Message, StreamGapError, StreamReader

log = logging.getLogger(__name__)

OwnRows = Callable[[], list[Row]]
"""The rows a service's store gives the tables it feeds from its own events."""
StreamRows = Callable[[str, bytes], "list[Row] | ValidationError"]
"""The rows one integration event gives (its subject below the namespace, its body)."""
Publish = Callable[[str, bytes], Awaitable[None]]
EXAMPLES = 5
ATTEMPTS = 10  # a store that moves on this often while a rebuild catches up: try later
EVERY = 0.5  # seconds between two progress messages
ALIVE = 5.0  # seconds: the longest a rebuild under way is silent


class UnknownReadModelError(DomainError):
    code = "unknown_read_model"


class RebuildBusyError(DomainError):
    code = "rebuild_busy"


@dataclass(frozen=True)
class StreamFed:
    """Read models fed by other services' events: their tables, and the rows each event
    gives them (the consumer's own translation; an event it cannot read gives none, as
    the consumer dead-letters it)."""

    tables: list[str]
    rows_of: StreamRows


@dataclass
class Folded:
    """The stream's rows as the tables would hold them, up to a stream sequence, and the
    last event of each service they took (each service's events once, in its order)."""

    upto: int = 0
    held: dict[str, dict[tuple[str, ...], dict[str, Any]]] = field(default_factory=dict)
    taken: dict[str, int] = field(default_factory=dict)

    def rows(self) -> list[Row]:
        return [(t, row) for t, rows in self.held.items() for row in rows.values()]


def fold(view: ReadModelTables, folded: Folded, rows: Sequence[Row]) -> None:
    """Upsert rows in stream order by the tables' own rules (a final row stays; a
    conditional one changes only as its rule says)."""
    for table, columns in rows:
        held = folded.held.get(table)
        if held is None:
            continue
        key = _key(columns, view.KEYS[table])
        stored = held.get(key)
        if stored is None:
            held[key] = dict(columns)
        elif view._may_update(table, stored):
            stored.update({c: columns[c] for c in view._updates(table, list(columns))})


def compare(view: ReadModelTables, table: str, rows: Sequence[dict[str, Any]]
            ) -> rb.TableCompared:  # fmt: skip
    keys = view.KEYS[table]
    live = {_key(r, keys): r for r in view._rows(Query(table))}
    rebuilt = {_key(r, keys): r for r in rows}
    examples: list[dict[str, Any]] = []
    missing = [k for k in rebuilt if k not in live]
    extra = [k for k in live if k not in rebuilt]
    different = []
    for key in rebuilt.keys() & live.keys():
        columns = [c for c in rebuilt[key] if _plain(rebuilt[key][c]) != _plain(live[key].get(c))]
        if columns:
            different.append(key)
            if len(examples) < EXAMPLES:
                examples.append({"key": list(key), "columns": columns})
    examples += [{"key": list(k), "missing": True} for k in missing[:EXAMPLES]]
    examples += [{"key": list(k), "extra": True} for k in extra[:EXAMPLES]]
    return rb.TableCompared(table=table, live=len(live), rebuilt=len(rebuilt),
                            missing=len(missing), extra=len(extra), different=len(different),
                            examples=examples)  # fmt: skip


def _key(row: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in keys)


def _plain(value: Any) -> str:
    """A value as JSON, so a date and its ISO text, a UUID and its text compare equal,
    and a moment in any time zone (PostgreSQL answers in the session's) as in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(UTC)
    return json.dumps(value, sort_keys=True, default=str)


class Progress:
    """Progress messages to the subject a request named (none if it named none)."""

    def __init__(self, service: str, subject: str | None, publish: Publish):
        self.service, self.subject, self.publish = service, subject, publish
        self._last = 0.0
        self._shown = rb.RebuildProgress(service=service, step="starting", done=0, total=0)

    async def __call__(self, step: str, done: int, total: int, force: bool = False) -> None:
        self._shown = rb.RebuildProgress(service=self.service, step=step, done=done, total=total)
        if force or time.monotonic() - self._last >= EVERY:
            await self._send()

    async def keep_alive(self) -> None:
        """The latest progress again every ``ALIVE`` seconds while a long step runs in a
        thread, so the requester can tell a slow rebuild from a service that stopped."""
        while True:
            await asyncio.sleep(ALIVE)
            await self._send()

    async def _send(self) -> None:
        if self.subject is not None:
            self._last = time.monotonic()
            await self.publish(self.subject, self._shown.model_dump_json().encode())


class RebuildEndpoints:
    def __init__(self, service: str, view: ReadModelTables, own: tuple[list[str], OwnRows],
                 publish: Publish, stream: StreamReader | None = None,
                 fed: StreamFed | None = None):  # fmt: skip
        self.service = service
        self.view = view
        self.own_tables, self.own_rows = own
        self.publish = publish
        self.stream = stream if fed is not None else None
        self.fed = fed
        self._one_at_a_time = asyncio.Lock()  # the stream is read with one named consumer

    def routes(self) -> list[Route]:
        return [(rb.RebuildReadModels, self.rebuild)]

    async def rebuild(self, request: rb.RebuildReadModels) -> rb.ReadModelsRebuilt:
        progress = Progress(self.service, request.progress, self.publish)
        alive = asyncio.create_task(progress.keep_alive())
        try:
            async with self._one_at_a_time:
                return await self._rebuild(request, progress)
        finally:
            alive.cancel()

    async def _rebuild(self, request: rb.RebuildReadModels, progress: Progress
                       ) -> rb.ReadModelsRebuilt:  # fmt: skip
        own_tables, fed_tables = await asyncio.to_thread(self._tables, request.table)
        sources = await self._sources() if self.stream and fed_tables else []
        folded = Folded(held={t: {} for t in fed_tables})
        problems: list[str] = []
        for _ in range(ATTEMPTS):
            at = await asyncio.to_thread(self.view.positions, sources)
            await progress("own events", 0, at.events, force=True)
            own = await asyncio.to_thread(self._own, own_tables)
            if sources and not problems:
                try:
                    await self._read_on(folded, at.of(sources[0]), progress)
                    self._check_taken(folded, at)
                except StreamGapError as gap:
                    problems.append(str(gap))
            tables = own_tables + (fed_tables if not problems else [])
            rows = own + (folded.rows() if not problems else [])
            await progress("comparing", 0, len(tables), force=True)
            done = await asyncio.to_thread(self._settle, tables, rows, at, request.verify)
            if done is not None:
                compared, rewritten = done
                break
        else:
            raise RebuildBusyError(
                f"{self.service} took new events all through {ATTEMPTS} tries to catch up; "
                "try again when it is quieter")  # fmt: skip
        not_rebuilt = fed_tables if problems else []
        others = sorted(set(self.view.TABLES) - set(own_tables) - set(fed_tables))
        return rb.ReadModelsRebuilt(
            service=self.service, verify=request.verify,
            equal=all(c.missing == c.extra == c.different == 0 for c in compared),
            rewritten=rewritten, tables=compared, problems=problems,
            not_rebuilt=not_rebuilt, not_covered=others if request.table is None else [],
        )  # fmt: skip

    def _tables(self, only: str | None) -> tuple[list[str], list[str]]:
        own = list(self.own_tables)
        fed = list(self.fed.tables) if self.fed else []
        if only is None:
            return own, fed
        if only not in own + fed:
            raise UnknownReadModelError(
                f"{self.service} rebuilds {', '.join(own + fed) or 'no read model'}, not "
                f"{only}")  # fmt: skip
        return ([only], []) if only in own else ([], [only])

    def _own(self, tables: list[str]) -> list[Row]:
        if not tables:
            return []
        return [(t, r) for t, r in self.own_rows() if t in tables]

    async def _sources(self) -> list[str]:
        """The tracking names of the stream position (first) and of each service's last
        event taken (the stream's own name for a stream that is gone: nothing is read)."""
        assert self.stream is not None
        try:
            name = await self.stream.tracking_name()
        except NotFoundError:
            name = self.stream.stream
        return [name, *(f"{self.stream.stream}/{s}" for s in PUBLISHERS)]

    def _check_taken(self, folded: Folded, at: Positions) -> None:
        """Every event the service took is in the fold, else the stream lacks some."""
        assert self.stream is not None
        for service in PUBLISHERS:
            tracked = at.of(f"{self.stream.stream}/{service}")
            if folded.taken.get(service, 0) < tracked:
                raise StreamGapError(
                    f"{self.stream.stream} lacks {service} events the service has taken: "
                    f"it holds them up to {folded.taken.get(service, 0):,}, the service took "
                    f"them up to {tracked:,} (a purge or a deletion the relay has not yet "
                    "refilled)")  # fmt: skip

    async def _read_on(self, folded: Folded, upto: int, progress: Any) -> None:
        """The stream's rows folded on from where they were up to ``upto``."""
        assert self.stream is not None and self.fed is not None
        if upto <= folded.upto:
            return
        async for batch in self.stream.read(folded.upto + 1, upto, sparse=True):
            # in a worker thread: the service's event loop keeps answering meanwhile
            await asyncio.to_thread(self._fold_batch, folded, batch.messages)
            folded.upto = batch.last
            await progress(self.stream.stream, batch.last, upto)
        folded.upto = upto

    def _fold_batch(self, folded: Folded, messages: list[Message]) -> None:
        """As the consumer takes them: each service's events once and in order."""
        assert self.fed is not None and self.stream is not None
        for message in messages:
            event = claimed(self.stream.namespace, message.subject, message.headers)
            if event is None or event.verdict(folded.taken.get(event.service, 0)) \
                    is not Verdict.TAKE:  # fmt: skip
                continue
            folded.taken[event.service] = event.notification
            found = self.fed.rows_of(message.relative, message.body)
            if not isinstance(found, ValidationError):
                fold(self.view, folded, found)

    def _settle(self, tables: list[str], rows: list[Row], at: Positions, verify: bool
                ) -> tuple[list[rb.TableCompared], bool] | None:  # fmt: skip
        """Compared and, unless verifying or equal, written; None if the store moved."""
        compared = [compare(self.view, t, [r for name, r in rows if name == t])
                    for t in tables]  # fmt: skip
        equal = all(c.missing == c.extra == c.different == 0 for c in compared)
        if verify or equal:
            return (compared, False) if self.view.positions([s for s, _ in at.tracked]) == at \
                else None  # fmt: skip
        try:
            self.view.replace_tables(tables, rows, at)
        except StoreMovedError:
            return None
        return compared, True


async def fill_directory(rebuild: RebuildEndpoints, view: DirectoryTables, source: str) -> None:
    """A directory the events of ``source`` (the plans service's, ``<stream>/plans``) feed,
    incomplete though the service took some of them (it took them before it kept one: an
    upgrade), rebuilt from the stream. Run before the consumers start: nothing writes the
    directory meanwhile, and the events they take after their position apply again, in
    order, over what the stream gave."""
    incomplete = await asyncio.to_thread(view.directory_incomplete)
    if not incomplete or (await asyncio.to_thread(view.positions, [source])).of(source) == 0:
        return
    log.info("%s: directory incomplete; rebuilding it from the stream", rebuild.service)
    done = await rebuild.rebuild(rb.RebuildReadModels(table=view.ORGANIZATIONS))
    if done.problems:
        raise StreamGapError("; ".join(done.problems))
    log.info("%s: directory rebuilt from the stream (%d rows)", rebuild.service,
             sum(t.rebuilt for t in done.tables))  # fmt: skip
