"""The rollup's read models, beside its event store: each batch's rows commit with the
tracking record of the batch's last message, in one transaction. Every write is an
idempotent upsert, so a rebuild from the events stream gives the same tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier
from psycopg.types.json import Jsonb

from services.shared.pg_recorder import NonPipelinedInsertMixin

TABLES = {
    "organizations": "code text PRIMARY KEY, kind text NOT NULL, name text NOT NULL, parent text",
    "plan_periods": "plan_key text, organization text NOT NULL, period text, as_of date NOT NULL, "
    "figures jsonb NOT NULL, PRIMARY KEY (plan_key, period)",
    "strategy_periods": "plan_key text, organization text NOT NULL, period text, strategy text, "
    "practice text NOT NULL, figures jsonb NOT NULL, milestones jsonb NOT NULL, "
    "PRIMARY KEY (plan_key, period, strategy)",
    "action_overdue": "plan_key text, organization text NOT NULL, period text, action text, "
    "strategy text NOT NULL, practice text NOT NULL, due date NOT NULL, "
    "days_overdue integer NOT NULL, PRIMARY KEY (plan_key, period, action)",
    "milestone_slips": "plan_key text, organization text NOT NULL, milestone text, "
    "period text NOT NULL, strategy text NOT NULL, practice text NOT NULL, reason text NOT NULL, "
    "PRIMARY KEY (plan_key, milestone)",
    "missing_reports": "plan_key text, organization text NOT NULL, period text, "
    "PRIMARY KEY (plan_key, period)",
    "waning": "organization text, rule text, period text, change text NOT NULL, evidence jsonb, "
    "strategies jsonb, PRIMARY KEY (organization, rule, period)",
    "judged_periods": "period text PRIMARY KEY, flags integer NOT NULL",
    "measures": "plan_key text, measure text, organization text NOT NULL, plan_year text NOT "
    "NULL, owner text NOT NULL, indicator text NOT NULL, unit text NOT NULL, direction text NOT "
    "NULL, baseline double precision NOT NULL, targets jsonb NOT NULL, "
    "PRIMARY KEY (plan_key, measure)",
    "measure_values": "plan_key text, measure text, period text, value double precision NOT "
    "NULL, reported_by text NOT NULL, PRIMARY KEY (plan_key, measure, period)",
    "support_cases": "case_id uuid PRIMARY KEY, recipient text NOT NULL, addressed_to text "
    "NOT NULL, practice text, opened text NOT NULL, status text NOT NULL, practices jsonb NOT "
    "NULL, reasons jsonb NOT NULL, support jsonb, judgment jsonb, escalated_to text, "
    "escalated_from uuid",
}
KEYS = {
    "organizations": ("code",),
    "plan_periods": ("plan_key", "period"),
    "strategy_periods": ("plan_key", "period", "strategy"),
    "action_overdue": ("plan_key", "period", "action"),
    "milestone_slips": ("plan_key", "milestone"),
    "missing_reports": ("plan_key", "period"),
    "support_cases": ("case_id",),
    "waning": ("organization", "rule", "period"),
    "judged_periods": ("period",),
    "measures": ("plan_key", "measure"),
    "measure_values": ("plan_key", "measure", "period"),
}

ROWS_PER_STATEMENT = 500  # within PostgreSQL's 65,535 parameters for every table here
STATEMENTS_CACHED = 200

Row = tuple[str, dict[str, Any]]
"""(table, columns): one upsert."""


class RollupRecorder(NonPipelinedInsertMixin, PostgresProcessRecorder):
    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.prefix = self.events_table_name.removesuffix("_events")
        self._statements: dict[tuple[tuple[str, tuple[str, ...]], int], bytes] = {}
        for table, columns in TABLES.items():
            self.sql_create_statements.append(
                SQL(f"CREATE TABLE IF NOT EXISTS {{0}} ({columns})").format(self.table(table))
            )
        self.sql_create_statements.append(  # tables of before milestones moved into strategies
            SQL("ALTER TABLE {0} ADD COLUMN IF NOT EXISTS milestones jsonb NOT NULL "
                "DEFAULT '[]'::jsonb").format(self.table("strategy_periods"))
        )  # fmt: skip

    def table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(
            Identifier(self.datastore.schema), Identifier(f"{self.prefix}_{name}")
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        self._write(curs, kwargs.get("view_rows") or [])

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
        keys = KEYS[table]
        updates = any(c not in keys for c in columns)
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in run:
            key = tuple(row[k] for k in keys)
            if updates or key not in unique:
                unique.pop(key, None)  # the later row takes the earlier one's place in order
                unique[key] = row
        rows = list(unique.values())
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[start : start + ROWS_PER_STATEMENT]
            params = [_adapt(row[c]) for row in chunk for c in columns]
            curs.execute(self._statement(curs, shape, len(chunk)), params)

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
        keys = KEYS[table]
        updates = [c for c in columns if c not in keys]
        row = SQL("({})").format(SQL(", ").join(SQL("%s") for _ in columns))
        return SQL("INSERT INTO {0} ({1}) VALUES {2} ON CONFLICT ({3}) DO {4}").format(
            self.table(table),
            SQL(", ").join(Identifier(c) for c in columns),
            SQL(", ").join(row for _ in range(count)),
            SQL(", ").join(Identifier(k) for k in keys),
            SQL("UPDATE SET ") + SQL(", ").join(
                SQL("{0} = EXCLUDED.{0}").format(Identifier(c)) for c in updates
            ) if updates else SQL("NOTHING"),
        )  # fmt: skip

    def upsert(self, rows: list[Row]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            self._write(curs, rows)

    def select(
        self, table: str, where: str = "TRUE", columns: str = "*", **params: Any
    ) -> list[dict[str, Any]]:
        """Rows of a read model table (``where`` and ``columns`` are trusted SQL, with
        %(name)s params)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(f"SELECT {columns} FROM {{0}} WHERE {where}").format(self.table(table)),
                params,
            )
            return [dict(row) for row in curs.fetchall()]


def _adapt(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value
