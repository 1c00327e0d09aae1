"""The status service's process recorder: events, the consumer's tracking record and each
report's outcome commit in one PostgreSQL transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


class StatusRecorder(PostgresProcessRecorder):
    """Adds ``<app>_report_outcomes``: what became of each report id (read model)."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        prefix = self.events_table_name.removesuffix("_events")
        self.outcomes_table = SQL("{0}.{1}").format(
            Identifier(datastore.schema), Identifier(f"{prefix}_report_outcomes")
        )
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (report_id text PRIMARY KEY, "
                "outcome text NOT NULL, reason text, message text)"
            ).format(self.outcomes_table)
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        outcomes = kwargs.get("report_outcomes") or []
        if outcomes:
            curs.executemany(
                SQL(
                    "INSERT INTO {0} VALUES (%(report_id)s, %(outcome)s, %(reason)s, %(message)s) "
                    "ON CONFLICT (report_id) DO UPDATE SET outcome = EXCLUDED.outcome, "
                    "reason = EXCLUDED.reason, message = EXCLUDED.message "
                    "WHERE {0}.outcome = 'rejected'"
                ).format(self.outcomes_table),
                outcomes,
            )

    def report_outcomes(self, report_ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT * FROM {0} WHERE report_id = ANY(%s)").format(self.outcomes_table),
                (report_ids,),
            )
            return {row["report_id"]: dict(row) for row in curs.fetchall()}
