"""One read-model mechanism for every service: tables declared as data beside the event
store, written as idempotent multi-row upserts in the transaction that stores the events
and the tracking record (``save(..., view_rows=[(table, row), ...])``), and read through
named query methods of the service's recorder.

A service's recorder subclasses ``ReadModelRecorder``, declares ``TABLES`` (name -> column
SQL) and ``KEYS`` (name -> key columns), and adds one method per query it answers; the
application never writes SQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from services.shared.pg_recorder import NonPipelinedInsertMixin

ROWS_PER_STATEMENT = 500  # within PostgreSQL's 65,535 parameters for any table here
STATEMENTS_CACHED = 200

Row = tuple[str, dict[str, Any]]
"""(table, columns): one upsert."""


class ReadModelRecorder(NonPipelinedInsertMixin, PostgresProcessRecorder):
    """Events, tracking and read-model rows, in one transaction a save."""

    TABLES: ClassVar[dict[str, str]] = {}
    KEYS: ClassVar[dict[str, tuple[str, ...]]] = {}
    FINAL: ClassVar[frozenset[str]] = frozenset()  # tables whose rows, once written, stay
    UPDATE_WHERE: ClassVar[dict[str, str]] = {}  # a row updates only where this holds
    MIGRATIONS: ClassVar[tuple[tuple[str, ...], ...]] = ()  # (SQL with {0}.., table names)

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.prefix = self.events_table_name.removesuffix("_events")
        self._statements: dict[tuple[tuple[str, tuple[str, ...]], int], bytes] = {}
        for table, columns in self.TABLES.items():
            self.sql_create_statements.append(
                SQL(f"CREATE TABLE IF NOT EXISTS {{0}} ({columns})").format(self.table(table))
            )
        for migration, *tables in self.MIGRATIONS:
            self.sql_create_statements.append(
                SQL(migration).format(*(self.table(t) for t in tables))
            )

    def table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(f"{self.prefix}_{name}")
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        self._write(curs, kwargs.get("view_rows") or [])

    def upsert(self, rows: list[Row]) -> None:
        """Rows without events (a rebuild of rows from events already stored)."""
        with self.datastore.transaction(commit=True) as curs:
            self._write(curs, rows)

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
        """One statement per ``ROWS_PER_STATEMENT`` rows; a key repeated in the run is
        written once, as sequential upserts would leave it (the last row when the upsert
        updates, the first when it does nothing)."""
        table, columns = shape
        for chunk in self._chunks(table, columns, run):
            params = [_adapt(row[c]) for row in chunk for c in columns]
            curs.execute(self._statement(curs, shape, len(chunk)), params)

    def _chunks(
        self, table: str, columns: tuple[str, ...], run: list[dict[str, Any]]
    ) -> list[list[dict[str, Any]]]:
        """Statements' rows, no key twice in one. A conditional update can refuse a later
        row, so there a repeated key starts a new statement; elsewhere the row sequential
        upserts would leave stands for them all."""
        keys = self.KEYS[table]
        if table in self.UPDATE_WHERE:
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

    def _updates(self, table: str, columns: tuple[str, ...]) -> list[str]:
        if table in self.FINAL:
            return []
        return [c for c in columns if c not in self.KEYS[table]]

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
            if table in self.UPDATE_WHERE:
                action += SQL(" WHERE ") + SQL(self.UPDATE_WHERE[table]).format(self.table(table))
        return SQL("INSERT INTO {0} ({1}) VALUES {2} ON CONFLICT ({3}) DO {4}").format(
            self.table(table),
            SQL(", ").join(Identifier(c) for c in columns),
            SQL(", ").join(row for _ in range(count)),
            SQL(", ").join(Identifier(k) for k in self.KEYS[table]),
            action,
        )

    def _select(
        self, table: str, where: str = "TRUE", columns: str = "*", **params: Any
    ) -> list[dict[str, Any]]:
        """Rows of a read-model table, for the named queries of a subclass (``where`` and
        ``columns`` are its own SQL, with %(name)s params)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(f"SELECT {columns} FROM {{0}} WHERE {where}").format(self.table(table)),
                params,
            )
            return [dict(row) for row in curs.fetchall()]


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value
