"""The shared read-model mechanism on a real PostgreSQL: what sequential upserts would leave."""

from __future__ import annotations

from services.rollup.application import RollupApplication
from services.shared.eventstore import postgres_env
from services.shared.read_models import ROWS_PER_STATEMENT
from services.status.application import StatusApplication
from services.status.recorder import outcome_row


def test_a_run_of_rows_is_written_as_sequential_upserts_would_leave_it(
    database_url: str, db_schema: str
):
    app = RollupApplication(postgres_env(database_url, db_schema))
    try:
        many = ROWS_PER_STATEMENT * 2 + 7  # more than one statement
        rows = [("judged_periods", {"period": f"p{n:04d}", "flags": 0}) for n in range(many)]
        rows += [("judged_periods", {"period": "p0003", "flags": 5}),  # a later row wins
                 ("missing_reports", {"plan_key": "k", "organization": "first", "period": "x"}),
                 ("missing_reports", {"plan_key": "k", "organization": "second", "period": "x"}),
                 ("judged_periods", {"period": "p0003", "flags": 9})]  # fmt: skip
        app.view.upsert(rows)
        judged = {r["period"]: r["flags"] for r in app.view._select("judged_periods")}
        assert len(judged) == many
        assert (judged["p0002"], judged["p0003"]) == (0, 9)
        missing = app.view._select("missing_reports")
        assert [r["organization"] for r in missing] == ["second"]
    finally:
        app.close()


def test_a_recorded_outcome_is_final_within_a_run_and_across_saves(
    database_url: str, db_schema: str
):
    """A conditional upsert (status: only an outcome not yet 'recorded' changes) as
    sequential upserts would leave it, also when one run repeats a key."""
    app = StatusApplication(postgres_env(database_url, db_schema))
    try:
        app._view.upsert([outcome_row("a", "parked", "unknown_plan", "waiting"),
                          outcome_row("a", "recorded"), outcome_row("a", "rejected", "dup"),
                          outcome_row("b", "rejected", "unknown_action")])  # fmt: skip
        app._view.upsert([outcome_row("a", "rejected", "late"), outcome_row("b", "recorded")])
        found = app.report_outcomes(["a", "b"])
        assert {k: (v["outcome"], v["reason"]) for k, v in found.items()} == {
            "a": ("recorded", None), "b": ("recorded", None)
        }
    finally:
        app.close()
