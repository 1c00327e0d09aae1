"""One read-model mechanism for every service: tables declared as data beside the event
store, written in the transaction that stores the events and the tracking record
(``save(..., view_rows=[(table, row), ...], view_deletes=[(table, key), ...])``), and
read through named query methods.

A service declares its tables and queries once, in a ``ReadModelTables`` subclass that
asks only ``Query`` questions; two backends answer them: ``ReadModelRecorder`` in
PostgreSQL (idempotent multi-row upserts) and ``MemoryReadModelRecorder`` beside
eventsourcing's in-memory (POPO) store, for fast unit tests of the applications. A query
that needs SQL of its own for speed overrides the method in the PostgreSQL recorder."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent, Tracking
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier
from psycopg.types.json import Jsonb

from services.shared.pg_recorder import NonPipelinedInsertMixin

RETRIED = retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
"""A connection lost (a database restart) is replaced by the pool and the call tried again,
as eventsourcing's own recorder methods are."""
ROWS_PER_STATEMENT = 500  # within PostgreSQL's 65,535 parameters for any table here
STATEMENTS_CACHED = 200

Row = tuple[str, dict[str, Any]]
"""(table, columns): one upsert."""
Key = tuple[str, dict[str, Any]]
"""(table, key columns): one delete."""
Record = dict[str, Any]


@dataclass(frozen=True)
class SourcedTracking(Tracking):
    """A message's tracking record, and those of the events it took from each source
    (``<stream>/<service>``: the service's last notification taken), stored with it."""

    sources: tuple[Tracking, ...] = ()


def trackings(tracking: Tracking) -> list[Tracking]:
    """The records one tracking stores: itself, then its sources'."""
    return [tracking, *getattr(tracking, "sources", ())]


@dataclass(frozen=True)
class Positions:
    """The last event a store holds, and the last message it tracked of each source."""

    events: int
    tracked: tuple[tuple[str, int], ...] = ()

    def of(self, source: str) -> int:
        return dict(self.tracked).get(source, 0)


class StoreMovedError(RuntimeError):
    """The store took events or messages since the rows of a rebuild were worked out."""


@dataclass(frozen=True)
class Query:
    """Rows of one table where every condition holds, in order."""

    table: str
    equal: Mapping[str, Any] = field(default_factory=dict)
    any_of: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    at_most: Mapping[str, Any] = field(default_factory=dict)
    before: Mapping[str, Any] = field(default_factory=dict)  # strictly less than
    null: tuple[str, ...] = ()  # columns that hold no value
    order_by: tuple[str, ...] = ()
    limit: int | None = None
    columns: tuple[str, ...] | None = None  # None: every column
    distinct: bool = False

    def __post_init__(self) -> None:
        """None is no value to compare with (SQL would match nothing): leave it out."""
        for conditions in (self.equal, self.at_most, self.before):
            if any(v is None for v in conditions.values()):
                raise ValueError(f"a condition on {self.table} compares with None")
        if any(None in v for v in self.any_of.values()):
            raise ValueError(f"an any_of condition on {self.table} holds None")

    def holds(self, row: Record) -> bool:
        """The query's conditions, in Python (the in-memory backend)."""
        return (
            all(row.get(c) == v for c, v in self.equal.items())
            and all(row.get(c) in v for c, v in self.any_of.items())
            and all(row.get(c) is not None and row[c] <= v for c, v in self.at_most.items())
            and all(row.get(c) is not None and row[c] < v for c, v in self.before.items())
            and all(row.get(c) is None for c in self.null)
        )


class ReadModelTables:
    """What a service's read models are: its tables, and the rules of their upserts."""

    TABLES: ClassVar[dict[str, str]] = {}  # name -> column SQL
    KEYS: ClassVar[dict[str, tuple[str, ...]]] = {}
    FINAL: ClassVar[frozenset[str]] = frozenset()  # tables whose rows, once written, stay
    UPDATE_UNLESS: ClassVar[dict[str, tuple[str, Any]]] = {}  # a stored (column, value) stays
    UPDATE_ONLY_IF: ClassVar[dict[str, tuple[str, Any]]] = {}  # only a stored (column, value)
    INDEXES: ClassVar[dict[str, tuple[str, str]]] = {}  # name -> (table, "(columns) [WHERE …]")

    def _rows(self, query: Query) -> list[Record]:
        raise NotImplementedError

    def tables_to_fill(self) -> list[str]:
        """Own tables an upgrade added, still empty though the store holds their events:
        filled from the store at start, before the consumers (none by default)."""
        return []

    def upsert(self, rows: Sequence[Row]) -> None:
        """Rows without events (a rebuild of rows from events already stored)."""
        raise NotImplementedError

    def update(self, table: str, values: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]
               ) -> None:  # fmt: skip
        """Set ``values`` on the rows of these keys."""
        raise NotImplementedError

    def delete(self, keys: Sequence[Key]) -> None:
        raise NotImplementedError

    def positions(self, sources: Sequence[str]) -> Positions:
        """Where the tables stand: the last event stored, and the last message tracked of
        each source."""
        raise NotImplementedError

    def replace_tables(self, tables: Sequence[str], rows: Sequence[Row],
                       at: Positions | None = None) -> None:  # fmt: skip
        """Every row of these tables replaced by ``rows``, in one transaction (a rebuild);
        if ``at`` is given, only while the store still stands there (else StoreMovedError,
        and nothing changed): nothing written since the rows were worked out is lost."""
        raise NotImplementedError

    def _updates(self, table: str, columns: Sequence[str]) -> list[str]:
        if table in self.FINAL:
            return []
        return [c for c in columns if c not in self.KEYS[table]]

    def _conditional(self, table: str) -> bool:
        return table in self.UPDATE_UNLESS or table in self.UPDATE_ONLY_IF

    def _may_update(self, table: str, stored: Record) -> bool:
        """Whether a stored row takes an upsert's new values (the in-memory rule)."""
        if table in self.UPDATE_UNLESS:
            column, value = self.UPDATE_UNLESS[table]
            return bool(stored.get(column) != value)
        if table in self.UPDATE_ONLY_IF:
            column, value = self.UPDATE_ONLY_IF[table]
            return bool(stored.get(column) == value)
        return True


class ReadModelRecorder(ReadModelTables, NonPipelinedInsertMixin, PostgresProcessRecorder):
    """Events, tracking and read-model rows in PostgreSQL, in one transaction a save."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.prefix = self.events_table_name.removesuffix("_events")
        self._text = {t: {c for c, kind in _columns(sql).items() if kind == "text"}
                      for t, sql in self.TABLES.items()}  # fmt: skip
        self._statements: dict[tuple[tuple[str, tuple[str, ...]], int], bytes] = {}
        for table, columns in self.TABLES.items():
            self.sql_create_statements.append(
                SQL(f"CREATE TABLE IF NOT EXISTS {{0}} ({columns})").format(self.table(table))
            )
        for name, (table, definition) in self.INDEXES.items():
            self.sql_create_statements.append(
                SQL(f"CREATE INDEX IF NOT EXISTS {{0}} ON {{1}} {definition}").format(
                    Identifier(f"{self.prefix}_{name}"), self.table(table))
            )

    def table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(f"{self.prefix}_{name}")
        )

    def _insert_tracking(self, curs: Cursor[DictRow], tracking: Tracking) -> None:
        for record in trackings(tracking):
            super()._insert_tracking(curs, Tracking(record.application_name,
                                                    record.notification_id))  # fmt: skip

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        if stored_events:  # the events table first, as a rebuild locks it (then tracking,
            self._lock_table(curs)  # then the rows): no writer and rebuild wait in a circle
        super()._insert_events(curs, stored_events, **kwargs)
        self._delete(curs, kwargs.get("view_deletes") or [])
        self._write(curs, kwargs.get("view_rows") or [])

    @RETRIED
    def upsert(self, rows: Sequence[Row]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._write(curs, rows)

    @RETRIED
    def update(self, table: str, values: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]
               ) -> None:  # fmt: skip
        setting = SQL(", ").join(SQL("{0} = %s").format(Identifier(c)) for c in values)
        with self.datastore.transaction(commit=True) as curs:
            for where, params in _matching(self.KEYS[table], keys):
                curs.execute(SQL("UPDATE {0} SET {1} WHERE {2}").format(
                    self.table(table), setting, where),
                    [_adapt(v) for v in values.values()] + params)  # fmt: skip

    @RETRIED
    def delete(self, keys: Sequence[Key]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._delete(curs, keys)

    @RETRIED
    def positions(self, sources: Sequence[str]) -> Positions:
        with self.datastore.transaction(commit=False) as curs:
            return self._positions(curs, sources)

    def _positions(self, curs: Cursor[DictRow], sources: Sequence[str]) -> Positions:
        curs.execute(self.max_notification_id_statement)
        found = curs.fetchone()
        events = (found["max"] if found else None) or 0
        return Positions(events, tuple((s, self._max_tracking_id(s, curs) or 0) for s in sources))

    @RETRIED
    def replace_tables(self, tables: Sequence[str], rows: Sequence[Row],
                       at: Positions | None = None) -> None:  # fmt: skip
        with self.datastore.transaction(commit=True) as curs:
            if at is not None:  # the writers wait until this commits (or its lock times out)
                for statement in self.lock_table_statements:
                    curs.execute(statement)
                curs.execute(SQL("LOCK TABLE {0}.{1} IN EXCLUSIVE MODE").format(
                    Identifier(self.datastore.schema), Identifier(self.tracking_table_name)))
                if self._positions(curs, [s for s, _ in at.tracked]) != at:
                    raise StoreMovedError("the store moved on; nothing written")
            for table in tables:
                curs.execute(SQL("DELETE FROM {0}").format(self.table(table)))
            self._write(curs, rows)

    def _delete(self, curs: Cursor[DictRow], keys: Sequence[Key]) -> None:
        """One statement for the keys of each table and set of columns (a few hundred a
        statement where a key has several)."""
        by_shape: dict[tuple[str, tuple[str, ...]], list[Mapping[str, Any]]] = {}
        for table, key in keys:
            by_shape.setdefault((table, tuple(key)), []).append(key)
        for (table, columns), found in by_shape.items():
            for where, params in _matching(columns, found):
                curs.execute(SQL("DELETE FROM {0} WHERE {1}").format(self.table(table), where),
                             params)  # fmt: skip

    def _rows(self, query: Query) -> list[Record]:
        where: list[Composable] = [SQL("TRUE")]
        params: list[Any] = []
        for conditions, operator in ((query.equal, "= %s"), (query.any_of, "= ANY(%s)"),
                                     (query.at_most, "<= %s"), (query.before, "< %s")):  # fmt: skip
            for column, value in conditions.items():
                where.append(SQL("{0} " + operator).format(Identifier(column)))
                params.append(list(value) if operator == "= ANY(%s)" else value)
        where += [SQL("{0} IS NULL").format(Identifier(column)) for column in query.null]
        statement = SQL("SELECT {0}{1} FROM {2} WHERE {3}").format(
            SQL("DISTINCT ") if query.distinct else SQL(""),
            SQL(", ").join(map(Identifier, query.columns)) if query.columns else SQL("*"),
            self.table(query.table),
            SQL(" AND ").join(where),
        )
        if query.order_by:  # text by code point, as Python sorts it (not the collation)
            text = self._text.get(query.table, set())
            statement += SQL(" ORDER BY ") + SQL(", ").join(
                SQL('{0} COLLATE "C"' if c in text else "{0}").format(Identifier(c))
                for c in query.order_by
            )
        if query.limit is not None:
            statement += SQL(" LIMIT %s")
            params.append(query.limit)
        return self._fetch(statement, params)

    @RETRIED
    def _fetch(self, statement: SQL | Composed, params: Sequence[Any] | Mapping[str, Any] = ()
               ) -> list[Record]:  # fmt: skip
        """Rows of a statement of the recorder's own (a query's faster SQL)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [dict(row) for row in curs.fetchall()]

    def _write(self, curs: Cursor[DictRow], rows: Sequence[Row]) -> None:
        """Each run of rows of one table and shape as multi-row upserts (order kept: a later
        row of the same key wins)."""
        run: list[dict[str, Any]] = []
        shape: tuple[str, tuple[str, ...]] | None = None
        for table, columns in rows:
            this = (table, tuple(columns))
            if this != shape and run:
                assert shape is not None
                self._write_run(curs, shape, run)
                run = []
            shape = this
            run.append(columns)
        if run:
            assert shape is not None
            self._write_run(curs, shape, run)

    def _write_run(
        self, curs: Cursor[DictRow], shape: tuple[str, tuple[str, ...]], run: list[dict[str, Any]]
    ) -> None:
        table, columns = shape
        for chunk in self._chunks(table, columns, run):
            params = [_adapt(row[c]) for row in chunk for c in columns]
            curs.execute(self._statement(curs, shape, len(chunk)), params)

    def _chunks(
        self, table: str, columns: tuple[str, ...], run: list[dict[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        """Statements' rows, no key twice in one. A conditional update can refuse a later
        row, so there a repeated key starts a new statement; elsewhere the row sequential
        upserts would leave stands for them all (the last when the upsert updates, the
        first when it does nothing)."""
        keys = self.KEYS[table]
        if self._conditional(table):
            chunks: list[list[dict[str, Any]]] = [[]]
            seen: set[tuple[Any, ...]] = set()
            for row in run:
                key = tuple(row[k] for k in keys)
                if key in seen or len(chunks[-1]) >= ROWS_PER_STATEMENT:
                    chunks.append([])
                    seen = set()
                chunks[-1].append(row)
                seen.add(key)
            return chunks
        updates = self._updates(table, columns)
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in run:
            key = tuple(row[k] for k in keys)
            if updates or key not in unique:
                unique.pop(key, None)  # the later row takes the earlier one's place in order
                unique[key] = row
        rows = list(unique.values())
        return [rows[i : i + ROWS_PER_STATEMENT] for i in range(0, len(rows), ROWS_PER_STATEMENT)]

    def _statement(
        self, curs: Cursor[DictRow], shape: tuple[str, tuple[str, ...]], count: int
    ) -> bytes:
        """The upsert of ``count`` rows of a table and its columns, composed once (a bounded
        cache: there are few shapes, but many counts)."""
        found = self._statements.get((shape, count))
        if found is None:
            if len(self._statements) >= STATEMENTS_CACHED:
                self._statements.clear()
            found = self._upsert(*shape, count).as_bytes(curs)
            self._statements[(shape, count)] = found
        return found

    def _upsert(self, table: str, columns: tuple[str, ...], count: int) -> Composed:
        updates = self._updates(table, columns)
        row = SQL("({})").format(SQL(", ").join(SQL("%s") for _ in columns))
        action: SQL | Composed = SQL("NOTHING")
        if updates:
            action = SQL("UPDATE SET ") + SQL(", ").join(
                SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in updates
            )
            for condition, operator in ((self.UPDATE_UNLESS, "IS DISTINCT FROM"),
                                        (self.UPDATE_ONLY_IF, "IS NOT DISTINCT FROM")):  # fmt: skip
                if table in condition:
                    column, value = condition[table]
                    action += SQL(" WHERE {0}.{1} " + operator + " {2}").format(
                        self.table(table), Identifier(column), value
                    )
        return SQL("INSERT INTO {0} ({1}) VALUES {2} ON CONFLICT ({3}) DO {4}").format(
            self.table(table),
            SQL(", ").join(Identifier(c) for c in columns),
            SQL(", ").join(row for _ in range(count)),
            SQL(", ").join(Identifier(k) for k in self.KEYS[table]),
            action,
        )


class MemoryReadModelRecorder(ReadModelTables, POPOProcessRecorder):
    """The same tables in memory, beside eventsourcing's POPO store: the same upserts and
    the same answers (``Query.holds``), under the store's one lock; a save whose rows are
    wrong stores nothing, as in PostgreSQL."""

    def __init__(self) -> None:
        super().__init__()
        self._tables: dict[str, dict[tuple[Any, ...], Record]] = {t: {} for t in self.TABLES}
        self._names = {t: list(_columns(sql)) for t, sql in self.TABLES.items()}
        self._types = {t: _column_types(sql) for t, sql in self.TABLES.items()}

    def _update_table(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        deletes = [self._typed(t, key) for t, key in kwargs.get("view_deletes") or []]
        rows = [self._typed(t, row) for t, row in kwargs.get("view_rows") or []]
        ids = super()._update_table(stored_events, **kwargs)  # the rows are checked first
        self._delete(deletes)
        self._write(rows)
        return ids

    def _assert_tracking_uniqueness(self, tracking: Tracking) -> None:
        for record in trackings(tracking):
            super()._assert_tracking_uniqueness(record)

    def _insert_tracking(self, tracking: Tracking) -> None:
        for record in trackings(tracking):
            super()._insert_tracking(record)

    def upsert(self, rows: Sequence[Row]) -> None:
        typed = [self._typed(t, row) for t, row in rows]
        with self._database_lock:
            self._write(typed)

    def update(self, table: str, values: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]
               ) -> None:  # fmt: skip
        typed = self._typed(table, values)[1]
        with self._database_lock:
            for _, key in (self._typed(table, k) for k in keys):
                for row in self._matching(table, key):
                    row.update(copy.deepcopy(typed))

    def delete(self, keys: Sequence[Key]) -> None:
        typed = [self._typed(t, key) for t, key in keys]
        with self._database_lock:
            self._delete(typed)

    def positions(self, sources: Sequence[str]) -> Positions:
        with self._database_lock:
            return self._positions(sources)

    def _positions(self, sources: Sequence[str]) -> Positions:
        return Positions(len(self._stored_events),
                         tuple((s, self._max_tracking_ids[s] or 0) for s in sources))  # fmt: skip

    def replace_tables(self, tables: Sequence[str], rows: Sequence[Row],
                       at: Positions | None = None) -> None:  # fmt: skip
        typed = [self._typed(t, row) for t, row in rows]
        with self._database_lock:
            if at is not None and self._positions([s for s, _ in at.tracked]) != at:
                raise StoreMovedError("the store moved on; nothing written")
            for table in tables:
                self._tables[table].clear()
            self._write(typed)

    def _typed(self, table: str, columns: Mapping[str, Any]) -> Row:
        """The row as PostgreSQL would store it (a KeyError for a table or column that is
        not declared, as PostgreSQL refuses it)."""
        unknown = set(columns) - set(self._names[table])
        if unknown:
            raise KeyError(f"{table} has no column {sorted(unknown)[0]}")
        return table, copy.deepcopy(_typed(columns, self._types[table]))

    def _matching(self, table: str, key: Mapping[str, Any]) -> list[Record]:
        return [r for r in self._tables[table].values()
                if all(r.get(c) == v for c, v in key.items())]  # fmt: skip

    def _delete(self, keys: Sequence[Key]) -> None:
        for table, key in keys:
            for row in self._matching(table, key):
                del self._tables[table][tuple(row[k] for k in self.KEYS[table])]

    def _write(self, rows: Sequence[Row]) -> None:
        for table, columns in rows:
            key = tuple(columns[k] for k in self.KEYS[table])
            stored = self._tables[table].get(key)
            if stored is None:
                self._tables[table][key] = dict.fromkeys(self._names[table]) | columns
            elif self._may_update(table, stored):
                stored.update({c: columns[c] for c in self._updates(table, list(columns))})

    def _rows(self, query: Query) -> list[Record]:
        with self._database_lock:
            found = [r for r in self._tables[query.table].values() if query.holds(r)]
            rows = copy.deepcopy(found)
        for column in reversed(query.order_by):  # NULLs last, as PostgreSQL sorts them
            rows.sort(key=lambda r, c=column: (r.get(c) is None, r.get(c)))  # type: ignore[misc]
        if query.columns:
            rows = [{c: r.get(c) for c in query.columns} for r in rows]
        if query.distinct:
            rows = list({repr(sorted(r.items())): r for r in rows}.values())
        return rows[: query.limit] if query.limit is not None else rows


COLUMN_TYPES: dict[str, Callable[[Any], Any]] = {
    "uuid": lambda v: v if isinstance(v, UUID) else UUID(str(v)),
    "date": lambda v: v if isinstance(v, date) else date.fromisoformat(str(v)),
    "double": float,
    "integer": int,
    "bigint": int,
}


def _columns(columns: str) -> dict[str, str]:
    """Each column's name and first type word, from a table's column SQL."""
    found: dict[str, str] = {}
    for definition in re.split(r",(?![^(]*\))", columns):
        words: list[str] = definition.split()
        if len(words) >= 2 and words[0] not in ("PRIMARY", "UNIQUE"):
            found[words[0]] = words[1]
    return found


def _column_types(columns: str) -> dict[str, Callable[[Any], Any]]:
    """What PostgreSQL would make of a value, by column, from a table's column SQL."""
    return {c: COLUMN_TYPES[k] for c, k in _columns(columns).items() if k in COLUMN_TYPES}


def _typed(columns: Mapping[str, Any], types: Mapping[str, Callable[[Any], Any]]) -> Record:
    return {c: types[c](v) if c in types and v is not None else v for c, v in columns.items()}


KEYS_PER_STATEMENT = 500


def _matching(columns: Sequence[str], keys: Sequence[Mapping[str, Any]]
              ) -> list[tuple[Composable, list[Any]]]:  # fmt: skip
    """WHERE clauses (and their parameters) matching these keys, a few hundred a clause:
    ``c = ANY(%s)`` for one column, ``(a = %s AND b = %s) OR …`` for several."""
    found: list[tuple[Composable, list[Any]]] = []
    for start in range(0, len(keys), KEYS_PER_STATEMENT):
        part = keys[start : start + KEYS_PER_STATEMENT]
        if len(columns) == 1:
            found.append((SQL("{0} = ANY(%s)").format(Identifier(columns[0])),
                          [[k[columns[0]] for k in part]]))  # fmt: skip
            continue
        one = SQL("({0})").format(SQL(" AND ").join(
            SQL("{0} = %s").format(Identifier(c)) for c in columns))  # fmt: skip
        found.append((SQL(" OR ").join([one] * len(part)),
                      [k[c] for k in part for c in columns]))  # fmt: skip
    return found


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value
