"""The status service's process recorder: events, the consumer's tracking record, each
report's outcome, the reports parked for a plan not yet known and each closed period's
figures commit in one PostgreSQL transaction (the shared read-model mechanism)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.shared.read_models import ReadModelRecorder, Row

__all__ = ["Row", "StatusRecorder"]
Record = dict[str, Any]


class StatusRecorder(ReadModelRecorder):
    """``report_outcomes``: what became of each report id (a recorded outcome is final; a
    rejected or parked report may still be recorded later). ``parked_reports``: reports
    waiting for their plan's approval (a queue: ``unparked_reports`` of a save are taken
    from it). ``period_figures``: each plan's figures of each closed period (final; the
    aggregate does not keep them, so its size does not grow with the year). ``plans``:
    each adopted plan and its count of reports. Queries never read an aggregate."""

    TABLES = {
        "report_outcomes": "report_id text PRIMARY KEY, outcome text NOT NULL, reason text, "
        "message text",
        "parked_reports": "report_id text PRIMARY KEY, plan text NOT NULL, sequence bigint NOT "
        "NULL, subject text NOT NULL, body bytea NOT NULL, payload text NOT NULL, parked_at "
        "timestamptz NOT NULL DEFAULT now(), expired boolean NOT NULL DEFAULT false",
        "period_figures": "plan text NOT NULL, period text NOT NULL, close jsonb NOT NULL, "
        "PRIMARY KEY (plan, period)",
        "plans": "key text PRIMARY KEY, organization text NOT NULL, plan_year text NOT NULL, "
        "active boolean NOT NULL, reports_recorded integer NOT NULL",
    }
    KEYS = {
        "report_outcomes": ("report_id",),
        "parked_reports": ("report_id",),
        "period_figures": ("plan", "period"),
        "plans": ("key",),
    }
    FINAL = frozenset({"parked_reports", "period_figures"})
    UPDATE_WHERE = {"report_outcomes": "{0}.outcome <> 'recorded'"}

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.sql_create_statements.append(
            SQL("CREATE INDEX IF NOT EXISTS {0} ON {1} (plan)").format(
                Identifier(f"{self.prefix}_parked_reports_plan"), self.table("parked_reports")
            )
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        unparked = kwargs.get("unparked_reports") or []
        if unparked:
            curs.execute(
                SQL("DELETE FROM {0} WHERE report_id = ANY(%s)").format(
                    self.table("parked_reports")
                ),
                (unparked,),
            )
        super()._insert_events(curs, stored_events, **kwargs)

    def report_outcomes(self, report_ids: list[str]) -> dict[str, Record]:
        rows = self._select("report_outcomes", "report_id = ANY(%(ids)s)", ids=report_ids)
        return {row["report_id"]: row for row in rows}

    def plan_row(self, key: str) -> Record | None:
        rows = self._select("plans", "key = %(key)s", key=key)
        return rows[0] if rows else None

    def period_figures(self, plan: str) -> dict[str, Record]:
        rows = self._select("period_figures", "plan = %(p)s", columns="period, close", p=plan)
        return {row["period"]: row["close"] for row in rows}

    def parked_for(self, plans: list[str]) -> list[Record]:
        return self._select("parked_reports", "plan = ANY(%(p)s) AND NOT expired ORDER BY "
                            "sequence", p=plans)  # fmt: skip

    def expired(self, limit: int = 1000) -> list[Record]:
        return self._select("parked_reports", "expired ORDER BY sequence LIMIT %(n)s", n=limit)

    def expire_parked(self, moment: datetime, message: str) -> None:
        """Parked before ``moment``: marked expired, rejected as unknown_plan, together."""
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("UPDATE {0} SET expired = true WHERE parked_at < %s AND NOT expired "
                    "RETURNING report_id").format(self.table("parked_reports")),
                (moment,),
            )  # fmt: skip
            self._write(curs, [
                outcome_row(row["report_id"], "rejected", "unknown_plan", message)
                for row in curs.fetchall()
            ])  # fmt: skip

    def forget_parked(self, report_ids: list[str]) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                SQL("DELETE FROM {0} WHERE report_id = ANY(%s)").format(
                    self.table("parked_reports")
                ),
                (report_ids,),
            )


def outcome_row(
    report_id: str, outcome: str, reason: str | None = None, message: str | None = None
) -> Row:
    return "report_outcomes", {"report_id": report_id, "outcome": outcome, "reason": reason,
                               "message": message}  # fmt: skip
