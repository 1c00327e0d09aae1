"""The status service's process recorder: events, the consumer's tracking record, each
report's outcome, the reports parked for a plan not yet known and each closed period's
figures commit in one PostgreSQL transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from services.shared.pg_recorder import NonPipelinedInsertMixin

# a recorded outcome is final; a rejected or parked report may still be recorded later
UPSERT_OUTCOME = (
    "INSERT INTO {0} VALUES (%(report_id)s, %(outcome)s, %(reason)s, %(message)s) "
    "ON CONFLICT (report_id) DO UPDATE SET outcome = EXCLUDED.outcome, "
    "reason = EXCLUDED.reason, message = EXCLUDED.message WHERE {0}.outcome <> 'recorded'"
)


class StatusRecorder(NonPipelinedInsertMixin, PostgresProcessRecorder):
    """Adds ``<app>_report_outcomes`` (what became of each report id, a read model),
    ``<app>_parked_reports`` (reports waiting for their plan's approval) and
    ``<app>_period_figures`` (each plan's figures of each closed period, a read model: the
    aggregate does not keep them, so its size does not grow with the year) and
    ``<app>_plans`` (each adopted plan and its count of reports, a read model): queries
    never read an aggregate."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        prefix = self.events_table_name.removesuffix("_events")
        self.outcomes_table = self._table(f"{prefix}_report_outcomes")
        self.parked_table = self._table(f"{prefix}_parked_reports")
        self.figures_table = self._table(f"{prefix}_period_figures")
        self.plans_table = self._table(f"{prefix}_plans")
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (report_id text PRIMARY KEY, "
                "outcome text NOT NULL, reason text, message text)"
            ).format(self.outcomes_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (report_id text PRIMARY KEY, plan text NOT NULL, "
                "sequence bigint NOT NULL, subject text NOT NULL, body bytea NOT NULL, "
                "payload text NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(), "
                "expired boolean NOT NULL DEFAULT false)"
            ).format(self.parked_table),
            SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (plan)").format(
                Identifier(f"{prefix}_parked_reports_plan"), self.parked_table
            ),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (plan text NOT NULL, period text NOT NULL, "
                "close jsonb NOT NULL, PRIMARY KEY (plan, period))"
            ).format(self.figures_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (key text PRIMARY KEY, organization text NOT "
                "NULL, plan_year text NOT NULL, active boolean NOT NULL, "
                "reports_recorded integer NOT NULL)"
            ).format(self.plans_table),
        ]

    def _table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(name))

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        unparked = kwargs.get("unparked_reports") or []
        if unparked:
            curs.execute(
                SQL("DELETE FROM {0} WHERE report_id = ANY(%s)").format(self.parked_table),
                (unparked,),
            )
        parked = kwargs.get("parked_reports") or []
        if parked:
            curs.executemany(
                SQL(
                    "INSERT INTO {0} (report_id, plan, sequence, subject, body, payload) VALUES "
                    "(%(report_id)s, %(plan)s, %(sequence)s, %(subject)s, %(body)s, %(payload)s) "
                    "ON CONFLICT (report_id) DO NOTHING"
                ).format(self.parked_table),
                parked,
            )
        outcomes = kwargs.get("report_outcomes") or []
        if outcomes:
            curs.executemany(SQL(UPSERT_OUTCOME).format(self.outcomes_table), outcomes)
        plans = kwargs.get("plan_rows") or []
        if plans:
            curs.executemany(
                SQL("INSERT INTO {0} VALUES (%(key)s, %(organization)s, %(plan_year)s, "
                    "%(active)s, %(reports_recorded)s) ON CONFLICT (key) DO UPDATE SET "
                    "active = EXCLUDED.active, reports_recorded = EXCLUDED.reports_recorded"
                    ).format(self.plans_table),
                plans,
            )  # fmt: skip
        closes = kwargs.get("period_figures") or []
        if closes:  # a closed period's figures are final
            curs.executemany(
                SQL("INSERT INTO {0} VALUES (%(plan)s, %(period)s, %(close)s) "
                    "ON CONFLICT DO NOTHING").format(self.figures_table),
                closes,
            )  # fmt: skip

    def report_outcomes(self, report_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {0} WHERE report_id = ANY(%s)").format(self.outcomes_table),
                (report_ids,),
            )
            return {row["report_id"]: dict(row) for row in curs.fetchall()}

    def plan_row(self, key: str) -> dict[str, Any] | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT * FROM {0} WHERE key = %s").format(self.plans_table), (key,))
            row = curs.fetchone()
            return dict(row) if row else None

    def period_figures(self, plan: str) -> dict[str, dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT period, close FROM {0} WHERE plan = %s").format(self.figures_table),
                (plan,),
            )
            return {row["period"]: row["close"] for row in curs.fetchall()}

    def parked_for(self, plans: list[str]) -> list[dict[str, Any]]:
        return self._parked(SQL("plan = ANY(%s) AND NOT expired"), plans)

    def expired(self, limit: int = 1000) -> list[dict[str, Any]]:
        return self._parked(SQL("expired = %s"), True, limit)

    def _parked(self, where: SQL, value: Any, limit: int | None = None) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {0} WHERE {1} ORDER BY sequence LIMIT %s").format(
                    self.parked_table, where
                ),
                (value, limit),
            )
            return [dict(row) for row in curs.fetchall()]

    def expire_parked(self, moment: datetime, message: str) -> None:
        """Parked before ``moment``: marked expired, rejected as unknown_plan, together."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("UPDATE {0} SET expired = true WHERE parked_at < %s AND NOT expired "
                    "RETURNING report_id").format(self.parked_table),
                (moment,),
            )  # fmt: skip
            outcomes = [
                {"report_id": row["report_id"], "outcome": "rejected", "reason": "unknown_plan",
                 "message": message}
                for row in curs.fetchall()
            ]  # fmt: skip
            if outcomes:
                curs.executemany(SQL(UPSERT_OUTCOME).format(self.outcomes_table), outcomes)

    def forget_parked(self, report_ids: list[str]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {0} WHERE report_id = ANY(%s)").format(self.parked_table),
                (report_ids,),
            )
