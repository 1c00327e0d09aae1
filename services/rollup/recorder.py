"""The rollup's read models, beside its event store: each batch's rows commit with the
tracking record of the batch's last message, in one transaction. Every write is an
idempotent upsert, so a rebuild from the events stream gives the same tables."""

from __future__ import annotations

from typing import Any

from services.shared.read_models import ReadModelRecorder, Row

__all__ = ["TABLES", "RollupRecorder", "Row"]

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
Record = dict[str, Any]


class RollupRecorder(ReadModelRecorder):
    """The rollup's tables and the questions its application asks of them."""

    TABLES = TABLES
    KEYS = KEYS
    MIGRATIONS = (  # tables of before milestones moved into strategies
        ("ALTER TABLE {0} ADD COLUMN IF NOT EXISTS milestones jsonb NOT NULL "
         "DEFAULT '[]'::jsonb", "strategy_periods"),
    )  # fmt: skip

    # -- the network -----------------------------------------------------------------------

    def organizations(self) -> dict[str, Record]:
        return {o["code"]: o for o in self._select("organizations")}

    # -- figures of closed periods ---------------------------------------------------------

    def periods_closed(self, up_to: str | None = None, organizations: list[str] | None = None
                       ) -> list[str]:  # fmt: skip
        """Closed periods with figures (up to a period, of some organizations), in order."""
        rows = self._select(
            "plan_periods",
            "(%(p)s::text IS NULL OR period <= %(p)s) "
            "AND (%(o)s::text[] IS NULL OR organization = ANY(%(o)s))",
            columns="DISTINCT period", p=up_to, o=organizations,
        )  # fmt: skip
        return sorted(r["period"] for r in rows)

    def plan_figures(self, periods: list[str]) -> list[Record]:
        return self._select("plan_periods", "period = ANY(%(w)s)", w=periods)

    def plan_key_of(self, organization: str, period: str) -> str | None:
        rows = self._select(
            "plan_periods", "organization = %(o)s AND period = %(p)s", columns="plan_key",
            o=organization, p=period,
        )  # fmt: skip
        return rows[0]["plan_key"] if rows else None

    def strategy_figures(self, periods: list[str], organizations: list[str]) -> list[Record]:
        return self._select(
            "strategy_periods", "period = ANY(%(w)s) AND organization = ANY(%(o)s)",
            w=periods, o=organizations,
            columns="organization, period, strategy, practice, figures",
        )  # fmt: skip

    def milestones_completed(self, period: str) -> set[tuple[str, str]]:
        """(plan, milestone) of every milestone completed by the period's end."""
        rows = self._select(
            "strategy_periods", "period = %(p)s", p=period,
            columns="plan_key, jsonb_path_query(milestones, "
            "'$[*] ? (@.figures.milestones_completed > 0).number') #>> '{{}}' AS milestone",
        )  # fmt: skip
        return {(r["plan_key"], r["milestone"]) for r in rows}

    def slips_up_to(self, period: str) -> list[Record]:
        return self._select("milestone_slips", "period <= %(p)s", p=period)

    def missing_reports(self, period: str) -> set[str]:
        """Organizations whose report of the period is missing."""
        return {r["organization"] for r in self._select("missing_reports", "period = %(p)s",
                                                       p=period)}  # fmt: skip

    # -- waning flags ----------------------------------------------------------------------

    def flags(self, organizations: list[str], period: str | None) -> list[Record]:
        """Flags raised or cleared in a period (every period: None), by organization."""
        return self._select(
            "waning",
            "organization = ANY(%(o)s) AND (%(p)s::text IS NULL OR period = %(p)s) "
            "ORDER BY period, organization, rule",
            o=organizations, p=period,
        )  # fmt: skip

    def organizations_with_raised_flags(self) -> set[str]:
        """Organizations with a flag raised and not cleared since."""
        latest = self._select(
            "waning", "TRUE ORDER BY organization, rule, period DESC",
            columns="DISTINCT ON (organization, rule) organization, change",
        )  # fmt: skip
        return {row["organization"] for row in latest if row["change"] == "raised"}

    def judged(self, period: str) -> bool:
        return bool(self._select("judged_periods", "period = %(p)s", p=period))

    # -- support cases ---------------------------------------------------------------------

    def support_cases(self, organization: str | None = None, status: str | None = None
                      ) -> list[Record]:  # fmt: skip
        """Cases of or addressed to an organization (every one: None), by status."""
        return self._select(
            "support_cases",
            "(%(org)s::text IS NULL OR recipient = %(org)s OR addressed_to = %(org)s) "
            "AND (%(status)s::text IS NULL OR status = %(status)s) ORDER BY opened, recipient",
            org=organization, status=status,
        )  # fmt: skip

    # -- performance measures --------------------------------------------------------------

    def measure(self, plan: str, measure: str) -> Record | None:
        rows = self._select("measures", "plan_key = %(p)s AND measure = %(m)s", p=plan, m=measure)
        return rows[0] if rows else None

    def measures_of(self, organization: str) -> list[Record]:
        return self._select("measures", "organization = %(o)s", o=organization)

    def measure_values(self, plans: list[str]) -> list[Record]:
        return self._select("measure_values", "plan_key = ANY(%(k)s)", k=plans)
