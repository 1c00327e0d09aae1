"""The status service's process recorder: events, the consumer's tracking record, each
report's outcome, the reports parked for a plan not yet known and each closed period's
figures commit in one transaction (the shared read-model mechanism: PostgreSQL, or memory
for unit tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.sql import SQL, Composed, Literal

from services.shared.read_models import (
    MemoryReadModelRecorder,
    Query,
    ReadModelRecorder,
    Row,
)
from services.shared.scope import DirectoryTables

__all__ = ["Row", "StatusMemoryRecorder", "StatusReadModels", "StatusRecorder", "outcome_row",
           "report_row", "sender_of"]
Record = dict[str, Any]


class StatusReadModels(DirectoryTables):
    """``report_outcomes``: what became of each report of each sender (the organization
    whose inbox it came on; a recorded outcome is final, a rejected or parked report may
    still be recorded later). ``parked_reports``: reports
    waiting for their plan's approval (a queue: a save's ``view_deletes`` take them from
    it; a report parked again while it waits keeps its place, one parked again after it
    expired waits anew). ``period_figures``: each plan's figures of each closed period (final; the
    aggregate does not keep them, so its size does not grow with the year). ``plans``:
    each adopted plan and its count of reports. ``organizations``: the directory, from the
    plans service's events (what an organization's query may see). Queries never read an
    aggregate. A sender's report ids are its own: another organization's same id is
    another report."""

    TABLES = {
        "report_outcomes": "sender text NOT NULL, report_id text NOT NULL, outcome text NOT "
        "NULL, reason text, message text, PRIMARY KEY (sender, report_id)",
        "parked_reports": "sender text NOT NULL, report_id text NOT NULL, plan text NOT NULL, "
        "sequence bigint NOT NULL, subject text NOT NULL, body bytea NOT NULL, payload text "
        "NOT NULL, parked_at timestamptz NOT NULL DEFAULT now(), expired boolean NOT NULL "
        "DEFAULT false, PRIMARY KEY (sender, report_id)",
        "period_figures": "plan text NOT NULL, period text NOT NULL, close jsonb NOT NULL, "
        "PRIMARY KEY (plan, period)",
        "plans": "key text PRIMARY KEY, organization text NOT NULL, plan_year text NOT NULL, "
        "active boolean NOT NULL, reports_recorded integer NOT NULL",
        "organizations": "code text PRIMARY KEY, parent text",
        "action_reports": "plan text NOT NULL, report_id text NOT NULL, version integer NOT "
        "NULL, period text NOT NULL, action text NOT NULL, milestone text NOT NULL, strategy "
        "text NOT NULL, practice text NOT NULL, status text NOT NULL, completed_on text, "
        "outputs_completed jsonb NOT NULL, cause_and_adjustments text, resources_used text, "
        "budget_used text, comments text, PRIMARY KEY (plan, report_id)",
    }
    KEYS = {
        "report_outcomes": ("sender", "report_id"),
        "parked_reports": ("sender", "report_id"),
        "period_figures": ("plan", "period"),
        "plans": ("key",),
        "organizations": ("code",),
        "action_reports": ("plan", "report_id"),
    }
    FINAL = frozenset({"period_figures", "action_reports"})
    INDEXES = {"parked_reports_plan": ("parked_reports", "(plan)"),
               "action_reports_period": ("action_reports", "(plan, period)")}
    UPDATE_UNLESS = {"report_outcomes": ("outcome", "recorded")}
    UPDATE_ONLY_IF = {"parked_reports": ("expired", True)}  # parked again: waits anew

    def report_outcomes(self, report_ids: list[str], senders: set[str] | None = None
                        ) -> dict[str, Record]:  # fmt: skip
        """The outcome of each report id (of these senders; None: any sender's, a recorded
        one first)."""
        of = {"sender": sorted(senders)} if senders is not None else {}
        rows = self._rows(Query("report_outcomes", any_of={"report_id": report_ids} | of,
                                order_by=("sender",)))  # fmt: skip
        found: dict[str, Record] = {}
        for row in rows:
            if found.get(row["report_id"], {}).get("outcome") != "recorded":
                found[row["report_id"]] = row
        return found

    def directory_incomplete(self) -> bool:
        """Also: an adopted plan's organization is not in it."""
        if super().directory_incomplete():
            return True
        known = {r["code"] for r in self._rows(Query("organizations", columns=("code",)))}
        owners = self._rows(Query("plans", columns=("organization",), distinct=True))
        return any(r["organization"] not in known for r in owners)

    def tables_to_fill(self) -> list[str]:
        """``action_reports``, when it holds fewer rows than the plans have reports recorded
        (reports recorded before it was kept; a fill that failed, retried at each start)."""
        plans = self._rows(Query("plans", columns=("reports_recorded",)))
        recorded = sum(r["reports_recorded"] for r in plans)
        return ["action_reports"] if recorded > self.reports_kept() else []

    def reports_kept(self) -> int:
        return len(self._rows(Query("action_reports", columns=("plan", "report_id"))))

    def plan_row(self, key: str) -> Record | None:
        rows = self._rows(Query("plans", equal={"key": key}))
        return rows[0] if rows else None

    def period_figures(self, plan: str) -> dict[str, Record]:
        rows = self._rows(Query("period_figures", equal={"plan": plan}))
        return {row["period"]: row["close"] for row in rows}

    def action_reports(self, plan: str, periods: list[str] | None = None) -> list[Record]:
        """The plan's recorded reports (of these months; None: every month's)."""
        months = {"period": periods} if periods is not None else {}
        return self._rows(Query("action_reports", equal={"plan": plan}, any_of=months,
                                order_by=("version",)))  # fmt: skip

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
                               before={"parked_at": moment},
                               columns=("sender", "report_id")))  # fmt: skip
        self.upsert([outcome_row(r["sender"], r["report_id"], "rejected", "unknown_plan",
                                 message) for r in due])  # fmt: skip
        self.update("parked_reports", {"expired": True}, due)

    def forget_parked(self, reports: list[tuple[str, str]]) -> None:
        """Expired reports (sender, report id), once dead-lettered (one parked again
        meanwhile stays)."""
        self.delete([("parked_reports", {"sender": s, "report_id": r, "expired": True})
                     for s, r in reports])  # fmt: skip


class StatusRecorder(StatusReadModels, ReadModelRecorder):
    """In PostgreSQL."""

    def reports_kept(self) -> int:
        """Counted in SQL: a state's table holds a year of every school's reports."""
        found = self._fetch(SQL("SELECT count(*) AS kept FROM {0}").format(
            self.table("action_reports")))  # fmt: skip
        return int(found[0]["kept"])

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for table in ("report_outcomes", "parked_reports"):  # of before senders had ids
            regclass = f'"{self.datastore.schema}"."{self.prefix}_{table}"'
            self.sql_create_statements.extend(
                by_sender(self.table(table), regclass, parked=table == "parked_reports"))


class StatusMemoryRecorder(StatusReadModels, MemoryReadModelRecorder):
    """In memory, beside the POPO event store (unit tests)."""


def outcome_row(sender: str, report_id: str, outcome: str, reason: str | None = None,
                message: str | None = None) -> Row:  # fmt: skip
    return "report_outcomes", {"sender": sender, "report_id": report_id, "outcome": outcome,
                               "reason": reason, "message": message}  # fmt: skip


def report_row(plan: str, version: int, report: dict[str, Any], place: dict[str, str]
               ) -> Row:  # fmt: skip
    """A recorded report as the plan's reports table keeps it (its ``version``: of the
    plan's progress, after it was recorded)."""
    budget = report.get("budget_used")
    return "action_reports", {
        "plan": plan, "report_id": report["report_id"], "version": version,
        "period": report["period"], "action": report["action"], **place,
        "status": report["status"], "completed_on": report.get("completed_on"),
        "outputs_completed": list(report.get("outputs_completed") or []),
        "cause_and_adjustments": report.get("cause_and_adjustments"),
        "resources_used": report.get("resources_used"),
        "budget_used": None if budget is None else str(budget),
        "comments": report.get("comments"),
    }  # fmt: skip


def sender_of(subject: str) -> str:
    """The organization whose inbox a report came on (``spn.inbox.status.<org>``)."""
    return subject.rsplit(".", 1)[-1]


def by_sender(table: Composed, regclass: str, parked: bool) -> list[Composed]:
    """Statements that make a table keyed by report id alone (before senders had their own
    ids) one keyed by (sender, report id): a parked report's sender from its subject, an
    outcome's unknown (``""``: answered to the operator only). Nothing to do on a new one."""
    named = Literal(regclass)
    return [
        SQL("ALTER TABLE {0} ADD COLUMN IF NOT EXISTS sender text NOT NULL DEFAULT ''")
        .format(table),
        SQL("DO $$ DECLARE key text; BEGIN "
            "SELECT conname INTO key FROM pg_constraint WHERE conrelid = {0}::regclass AND "
            "contype = 'p' AND array_length(conkey, 1) = 1; "
            "IF key IS NOT NULL THEN "
            "EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', {0}::regclass, key); "
            "ALTER TABLE {1} ADD PRIMARY KEY (sender, report_id); END IF; END $$")
        .format(named, table),
        *([SQL("UPDATE {0} SET sender = regexp_replace(subject, '^.*[.]', '') "
               "WHERE sender = ''").format(table)] if parked else []),
    ]  # fmt: skip
