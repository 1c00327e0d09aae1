"""The rollup's read models, beside its event store: each batch's rows commit with the
tracking record of the batch's last message, in one transaction. Every write is an
idempotent upsert, so a rebuild from the events stream gives the same tables. The
questions the application asks of them are the methods of ``RollupReadModels``; two
backends answer them (PostgreSQL, and memory for unit tests)."""

from __future__ import annotations

from typing import Any

from psycopg.sql import SQL

from services.shared.read_models import (
    MemoryReadModelRecorder,
    Query,
    ReadModelRecorder,
    Row,
)
from services.shared.scope import DirectoryTables

__all__ = ["TABLES", "RollupMemoryRecorder", "RollupReadModels", "RollupRecorder", "Row"]

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
    "assessments": "organization text, instrument text, on_date text, areas jsonb NOT NULL, "
    "PRIMARY KEY (organization, instrument, on_date)",
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
    "assessments": ("organization", "instrument", "on_date"),
}
Record = dict[str, Any]


class RollupReadModels(DirectoryTables):
    """The rollup's tables and the questions its application asks of them."""

    TABLES = TABLES
    KEYS = KEYS
    INDEXES = {  # an organization's cases, without reading the network's
        "support_cases_recipient": ("support_cases", "(recipient)"),
        "support_cases_addressed_to": ("support_cases", "(addressed_to)"),
    }

    # -- the network -----------------------------------------------------------------------

    def organizations(self) -> dict[str, Record]:
        return {o["code"]: o for o in self._rows(Query("organizations"))}

    # -- figures of closed periods ---------------------------------------------------------

    def periods_closed(self, up_to: str | None = None, organizations: list[str] | None = None
                       ) -> list[str]:  # fmt: skip
        """Closed periods with figures (up to a period, of some organizations), in order."""
        rows = self._rows(Query(
            "plan_periods", at_most={"period": up_to} if up_to else {},
            any_of={"organization": organizations} if organizations is not None else {},
            columns=("period",), distinct=True,
        ))  # fmt: skip
        return sorted(r["period"] for r in rows)

    def plan_figures(self, periods: list[str]) -> list[Record]:
        return self._rows(Query("plan_periods", any_of={"period": periods}))

    def plan_key_of(self, organization: str, period: str) -> str | None:
        rows = self._rows(Query("plan_periods", equal={"organization": organization,
                                                       "period": period}))  # fmt: skip
        return rows[0]["plan_key"] if rows else None

    def strategy_figures(self, periods: list[str], organizations: list[str]) -> list[Record]:
        return self._rows(Query(
            "strategy_periods", any_of={"period": periods, "organization": organizations},
            columns=("plan_key", "organization", "period", "strategy", "practice", "figures"),
        ))  # fmt: skip

    def strategy_milestones(self, period: str, organizations: list[str]) -> list[Record]:
        """The milestones' figures of these organizations' strategies, as of a period."""
        return self._rows(Query(
            "strategy_periods", equal={"period": period}, any_of={"organization": organizations},
            columns=("organization", "strategy", "milestones"),
        ))  # fmt: skip

    def milestones_completed(self, period: str) -> set[tuple[str, str]]:
        """(plan, milestone) of every milestone completed by the period's end."""
        rows = self._rows(Query("strategy_periods", equal={"period": period},
                                columns=("plan_key", "milestones")))  # fmt: skip
        return {(r["plan_key"], m["number"]) for r in rows for m in r["milestones"]
                if m["figures"]["milestones_completed"] > 0}  # fmt: skip

    def slips_up_to(self, period: str) -> list[Record]:
        return self._rows(Query("milestone_slips", at_most={"period": period}))

    def missing_reports(self, period: str) -> set[str]:
        """Organizations whose report of the period is missing."""
        rows = self._rows(Query("missing_reports", equal={"period": period}))
        return {r["organization"] for r in rows}

    # -- waning flags ----------------------------------------------------------------------

    def flags(self, organizations: list[str], period: str | None) -> list[Record]:
        """Flags raised or cleared in a period (every period: None), by organization."""
        return self._rows(Query(
            "waning", any_of={"organization": organizations},
            equal={"period": period} if period else {},
            order_by=("period", "organization", "rule"),
        ))  # fmt: skip

    def organizations_with_raised_flags(self) -> set[str]:
        """Organizations with a flag raised and not cleared since."""
        return {org for org, _ in self.open_flags()}

    def open_flags(self) -> set[tuple[str, str]]:
        """(organization, rule) of each flag raised and not cleared since."""
        latest: dict[tuple[str, str], str] = {}
        for row in self._rows(Query("waning", order_by=("period",))):
            latest[(row["organization"], row["rule"])] = row["change"]
        return {key for key, change in latest.items() if change == "raised"}

    def flags_in(self, periods: list[str]) -> list[Record]:
        """Flags raised or cleared in these periods."""
        return self._rows(Query("waning", any_of={"period": periods}))

    def judged(self, period: str) -> bool:
        return bool(self._rows(Query("judged_periods", equal={"period": period})))

    # -- support cases ---------------------------------------------------------------------

    def support_cases(self, organization: str | None = None, status: str | None = None
                      ) -> list[Record]:  # fmt: skip
        """Cases of or addressed to an organization (every one: None), by status: the
        organization's are found by index, not by reading every case of the network."""
        by_status = {"status": status} if status else {}
        order = ("opened", "recipient")
        if organization is None:
            return self._rows(Query("support_cases", equal=by_status, order_by=order))
        found = {r["case_id"]: r for column in ("recipient", "addressed_to")
                 for r in self._rows(Query("support_cases", order_by=order,
                                           equal=by_status | {column: organization}))}  # fmt: skip
        return sorted(found.values(), key=lambda r: (r["opened"], r["recipient"]))

    # -- performance measures --------------------------------------------------------------

    def measure(self, plan: str, measure: str) -> Record | None:
        rows = self._rows(Query("measures", equal={"plan_key": plan, "measure": measure}))
        return rows[0] if rows else None

    def measures_of(self, organization: str) -> list[Record]:
        return self._rows(Query("measures", equal={"organization": organization}))

    def measures_of_plans(self, plans: list[str]) -> list[Record]:
        return self._rows(Query("measures", any_of={"plan_key": plans}))

    def measure_values(self, plans: list[str]) -> list[Record]:
        return self._rows(Query("measure_values", any_of={"plan_key": plans}))


    # -- self-assessments ------------------------------------------------------------------

    def latest_assessments(self, instrument: str, organizations: list[str], up_to: str
                           ) -> dict[str, Record]:  # fmt: skip
        """Each organization's latest assessment with an instrument on or before a date."""
        rows = self._rows(Query("assessments", equal={"instrument": instrument},
                                any_of={"organization": organizations},
                                at_most={"on_date": up_to}, order_by=("on_date",)))  # fmt: skip
        return {r["organization"]: r for r in rows}


class RollupRecorder(RollupReadModels, ReadModelRecorder):
    """In PostgreSQL; the two queries that would read a year of rows ask in SQL."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.sql_create_statements.append(  # tables of before milestones moved into strategies
            SQL("ALTER TABLE {0} ADD COLUMN IF NOT EXISTS milestones jsonb NOT NULL "
                "DEFAULT '[]'::jsonb").format(self.table("strategy_periods"))
        )  # fmt: skip

    def milestones_completed(self, period: str) -> set[tuple[str, str]]:
        rows = self._fetch(
            SQL("SELECT plan_key, jsonb_path_query(milestones, '$[*] ? "
                "(@.figures.milestones_completed > 0).number') #>> '{{}}' AS milestone "
                "FROM {0} WHERE period = %s").format(self.table("strategy_periods")),
            [period],
        )  # fmt: skip
        return {(r["plan_key"], r["milestone"]) for r in rows}

    def open_flags(self) -> set[tuple[str, str]]:
        rows = self._fetch(
            SQL("SELECT DISTINCT ON (organization, rule) organization, rule, change FROM {0} "
                "ORDER BY organization, rule, period DESC").format(self.table("waning"))
        )  # fmt: skip
        return {(row["organization"], row["rule"]) for row in rows if row["change"] == "raised"}


class RollupMemoryRecorder(RollupReadModels, MemoryReadModelRecorder):
    """In memory, beside the POPO event store (unit tests)."""
