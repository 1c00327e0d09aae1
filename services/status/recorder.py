"""The status service's process recorder: events, the consumer's tracking record, each
report's outcome, the reports parked for a plan not yet known and each closed period's
figures commit in one transaction (the shared read-model mechanism: PostgreSQL, or memory
for unit tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.shared.read_models import (
    MemoryReadModelRecorder,
    Query,
    ReadModelRecorder,
    ReadModelTables,
    Row,
)

__all__ = ["Row", "StatusMemoryRecorder", "StatusReadModels", "StatusRecorder", "outcome_row"]
Record = dict[str, Any]


class StatusReadModels(ReadModelTables):
    """``report_outcomes``: what became of each report id (a recorded outcome is final; a
    rejected or parked report may still be recorded later). ``parked_reports``: reports
    waiting for their plan's approval (a queue: a save's ``view_deletes`` take them from
    it; a report parked again while it waits keeps its place, one parked again after it
    expired waits anew). ``period_figures``: each plan's figures of each closed period (final; the
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
    FINAL = frozenset({"period_figures"})
    INDEXES = {"parked_reports_plan": ("parked_reports", "(plan)")}
    UPDATE_UNLESS = {"report_outcomes": ("outcome", "recorded")}
    UPDATE_ONLY_IF = {"parked_reports": ("expired", True)}  # parked again: waits anew

    def report_outcomes(self, report_ids: list[str]) -> dict[str, Record]:
        rows = self._rows(Query("report_outcomes", any_of={"report_id": report_ids}))
        return {row["report_id"]: row for row in rows}

    def plan_row(self, key: str) -> Record | None:
        rows = self._rows(Query("plans", equal={"key": key}))
        return rows[0] if rows else None

    def period_figures(self, plan: str) -> dict[str, Record]:
        rows = self._rows(Query("period_figures", equal={"plan": plan}))
        return {row["period"]: row["close"] for row in rows}

    def parked_for(self, plans: list[str]) -> list[Record]:
        return self._rows(Query("parked_reports", any_of={"plan": plans},
                                equal={"expired": False}, order_by=("sequence",)))  # fmt: skip

    def expired(self, limit: int = 1000) -> list[Record]:
        return self._rows(Query("parked_reports", equal={"expired": True},
                                order_by=("sequence",), limit=limit))  # fmt: skip

    def expire_parked(self, moment: datetime, message: str) -> None:
        """Parked before ``moment``: rejected as unknown_plan, then marked expired (a crash
        between the two repeats both: each is idempotent). Run under the service's write
        lock (the consumer's sweep); a report recorded meanwhile keeps its outcome (a
        recorded outcome is final) and is no longer parked to be marked."""
        due = self._rows(Query("parked_reports", equal={"expired": False},
                               before={"parked_at": moment}, columns=("report_id",)))  # fmt: skip
        self.upsert([outcome_row(r["report_id"], "rejected", "unknown_plan", message)
                     for r in due])  # fmt: skip
        self.update("parked_reports", {"expired": True}, due)

    def forget_parked(self, report_ids: list[str]) -> None:
        """Expired reports, once dead-lettered (one parked again meanwhile stays)."""
        self.delete([("parked_reports", {"report_id": r, "expired": True}) for r in report_ids])


class StatusRecorder(StatusReadModels, ReadModelRecorder):
    """In PostgreSQL."""


class StatusMemoryRecorder(StatusReadModels, MemoryReadModelRecorder):
    """In memory, beside the POPO event store (unit tests)."""


def outcome_row(
    report_id: str, outcome: str, reason: str | None = None, message: str | None = None
) -> Row:
    return "report_outcomes", {"report_id": report_id, "outcome": outcome, "reason": reason,
                               "message": message}  # fmt: skip
