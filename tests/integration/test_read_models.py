"""The shared read-model mechanism on a real PostgreSQL and in memory: the same writes give
the same tables and the same answers (the in-memory backend is what the applications' unit
tests run on, so it is held to PostgreSQL's behaviour here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import Tracking

from services.alerts.application import AlertsApplication
from services.rollup.application import RollupApplication
from services.rollup.domain.support_case import SupportCase
from services.rollup.read import case_rows
from services.shared.eventstore import postgres_env
from services.shared.read_models import ROWS_PER_STATEMENT, Query, StoreMovedError
from services.status.application import StatusApplication
from services.status.recorder import outcome_row

BACKENDS = ["postgres", "memory"]


def env(backend: str, database_url: str, db_schema: str) -> dict[str, str]:
    if backend == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    return postgres_env(database_url, db_schema)


@pytest.fixture(params=BACKENDS)
def rollup(request, database_url: str, db_schema: str) -> Iterator[RollupApplication]:
    app = RollupApplication(env(request.param, database_url, db_schema))
    yield app
    app.close()


@pytest.fixture(params=BACKENDS)
def status(request, database_url: str, db_schema: str) -> Iterator[StatusApplication]:
    app = StatusApplication(env(request.param, database_url, db_schema))
    yield app
    app.close()


def test_a_run_of_rows_is_written_as_sequential_upserts_would_leave_it(
    rollup: RollupApplication,
):
    many = ROWS_PER_STATEMENT * 2 + 7  # more than one statement
    rows = [("judged_periods", {"period": f"p{n:04d}", "flags": 0}) for n in range(many)]
    rows += [("judged_periods", {"period": "p0003", "flags": 5}),  # a later row wins
             ("missing_reports", {"plan_key": "k", "organization": "first", "period": "x"}),
             ("missing_reports", {"plan_key": "k", "organization": "second", "period": "x"}),
             ("judged_periods", {"period": "p0003", "flags": 9})]  # fmt: skip
    rollup.view.upsert(rows)
    judged = {r["period"]: r["flags"] for r in rollup.view._rows(Query("judged_periods"))}
    assert len(judged) == many
    assert (judged["p0002"], judged["p0003"]) == (0, 9)
    assert rollup.view.missing_reports("x") == {"second"}


def test_a_recorded_outcome_is_final_within_a_run_and_across_saves(status: StatusApplication):
    """A conditional upsert (status: only an outcome not yet 'recorded' changes) as
    sequential upserts would leave it, also when one run repeats a key."""
    status._view.upsert([outcome_row("oak", "a", "parked", "unknown_plan", "waiting"),
                         outcome_row("oak", "a", "recorded"),
                         outcome_row("oak", "a", "rejected", "dup"),
                         outcome_row("oak", "b", "rejected", "unknown_action")])  # fmt: skip
    status._view.upsert([outcome_row("oak", "a", "rejected", "late"),
                         outcome_row("oak", "b", "recorded")])  # fmt: skip
    found = status.report_outcomes(["a", "b", "c"])
    assert {k: (v["outcome"], v["reason"]) for k, v in found.items()} == {
        "a": ("recorded", None), "b": ("recorded", None)
    }


def test_a_senders_report_ids_are_its_own(status: StatusApplication):
    """Two schools' reports of the same id are two reports: each its own outcome, each
    parked apart; any sender's recorded one answers the operator first."""
    status._view.upsert([outcome_row("oak", "r", "rejected", "late"),
                         outcome_row("elm", "r", "recorded"),
                         parked("r", 1, sender="oak"), parked("r", 2, sender="elm")])  # fmt: skip
    assert status.report_outcomes(["r"], {"oak"})["r"]["outcome"] == "rejected"
    assert status.report_outcomes(["r"], {"elm"})["r"]["outcome"] == "recorded"
    assert status.report_outcomes(["r"], {"ash"}) == {}
    assert status.report_outcomes(["r"])["r"]["outcome"] == "recorded"
    assert [r["sequence"] for r in status._view.parked_for(["oak/2026-27"])] == [1, 2]


def test_the_queries_answer_the_same_on_both_backends(rollup: RollupApplication):
    """Conditions, order, distinct, and the column types PostgreSQL gives back."""
    figures = {"actions_due": 2, "actions_behind_pct": 50.0}
    rows = [("organizations", {"code": c, "kind": "SCHOOL", "name": c, "parent": "lea"})
            for c in ("oak", "elm")]  # fmt: skip
    for org, period in [("oak", "2026-09"), ("oak", "2026-10"), ("elm", "2026-10")]:
        key = {"plan_key": f"{org}/2026-27", "organization": org, "period": period}
        rows += [("plan_periods", key | {"as_of": date(2026, 10, 31), "figures": figures}),
                 ("strategy_periods", key | {"strategy": "1.1", "practice": "1A",
                  "figures": figures, "milestones": [
                      {"number": "1.1.1", "figures": {"milestones_completed": 1}},
                      {"number": "1.1.2", "figures": {"milestones_completed": 0}}]})]  # fmt: skip
    rows += [("waning", {"organization": "elm", "rule": r, "period": p, "change": c,
                         "evidence": {}, "strategies": []})
             for r, p, c in [("behind", "2026-09", "raised"), ("behind", "2026-10", "cleared"),
                             ("silent", "2026-10", "raised")]]  # fmt: skip
    rollup.view.upsert(rows)
    view = rollup.view
    assert view.periods_closed() == ["2026-09", "2026-10"]
    assert view.periods_closed(up_to="2026-09", organizations=["oak"]) == ["2026-09"]
    assert view.periods_closed(organizations=["elm"]) == ["2026-10"]
    assert view.plan_key_of("elm", "2026-10") == "elm/2026-27"
    assert [r["as_of"] for r in view.plan_figures(["2026-10"])] == [date(2026, 10, 31)] * 2
    assert view.milestones_completed("2026-10") == {("oak/2026-27", "1.1.1"),
                                                    ("elm/2026-27", "1.1.1")}  # fmt: skip
    assert [(f["rule"], f["period"]) for f in view.flags(["elm", "oak"], None)] == [
        ("behind", "2026-09"), ("behind", "2026-10"), ("silent", "2026-10")]  # fmt: skip
    assert view.organizations_with_raised_flags() == {"elm"}
    view.upsert([("organizations", {"code": "sea", "kind": "SEA", "name": "sea", "parent": None})])
    assert [r["code"] for r in view._rows(Query("organizations", null=("parent",)))] == ["sea"]
    case = SupportCase(recipient="elm", addressed_to="lea", practice=None, opened="2026-10",
                       practices=[], reasons=["behind"], escalated_from=str(uuid4()))  # fmt: skip
    view.upsert(case_rows([case]))
    [found] = view.support_cases("lea", status="open")
    assert (found["case_id"], type(found["escalated_from"])) == (case.id, type(case.id))
    assert view.support_cases("oak") == []


def parked(report_id: str, sequence: int, plan: str = "oak/2026-27", sender: str = "oak"
           ) -> tuple[str, dict]:  # fmt: skip
    return "parked_reports", {"sender": sender, "report_id": report_id, "plan": plan,
                              "sequence": sequence, "subject": f"spn.inbox.status.{sender}",
                              "body": b"{}", "payload": "{}",
                              "parked_at": datetime.now(UTC), "expired": False}  # fmt: skip


def test_parked_reports_queue_and_expire(status: StatusApplication):
    view = status._view
    view.upsert([parked("r2", 2), parked("r1", 1), parked("r1", 9)])  # r1 keeps its place
    assert [(r["report_id"], r["sequence"]) for r in view.parked_for(["oak/2026-27"])] == [
        ("r1", 1), ("r2", 2)]  # fmt: skip
    view.expire_parked(datetime.now(UTC) + timedelta(seconds=5), "no plan")
    assert view.parked_for(["oak/2026-27"]) == []
    assert [r["report_id"] for r in view.expired(limit=1)] == ["r1"]
    view.forget_parked([("oak", "r1"), ("oak", "r2")])
    assert view.expired() == []


def test_a_report_parked_again_after_it_expired_waits_anew(status: StatusApplication):
    """Expired, then sent again (for a plan still unknown) before its dead letter was
    forgotten: it waits again, and forgetting the expired ones leaves it."""
    view = status._view
    view.upsert([parked("r1", 1)])
    view.expire_parked(datetime.now(UTC) + timedelta(seconds=5), "no plan")
    view.upsert([parked("r1", 7, plan="elm/2026-27"), outcome_row("oak", "r1", "parked")])
    view.forget_parked([("oak", "r1")])
    assert [(r["sequence"], r["plan"]) for r in view.parked_for(["elm/2026-27"])] == [
        (7, "elm/2026-27")]  # fmt: skip
    assert status.report_outcomes(["r1"])["r1"]["outcome"] == "parked"
    assert view.expired() == []


def test_the_in_memory_save_stores_nothing_when_a_row_is_wrong():
    app = StatusApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(KeyError, match="report_outcomes has no column outcom"):
        app._commit([], Tracking("inbox", 3), view_rows=[("report_outcomes", {
            "sender": "oak", "report_id": "r", "outcom": "recorded"})])  # fmt: skip
    assert app.position("inbox") == 0


def test_a_query_never_compares_with_none():
    with pytest.raises(ValueError, match="compares with None"):
        Query("plans", equal={"organization": None})
    with pytest.raises(ValueError, match="holds None"):
        Query("plans", any_of={"organization": ["a", None]})


def test_the_declared_indexes_are_created(database_url: str, db_schema: str):
    app = AlertsApplication(postgres_env(database_url, db_schema))
    try:
        with app.recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s",
                           (db_schema,))  # fmt: skip
            names = {row["indexname"] for row in cursor.fetchall()}
            assert {"alerts_alerts_ungrouped", "alerts_messages_due"} <= names
    finally:
        app.close()


def test_a_rebuild_writes_only_while_the_store_stands_where_its_rows_were_worked_out(
    rollup: RollupApplication,
):
    """The rows of a rebuild are worked out at one position; a write since (a message
    tracked, an event stored) moves it, and the rebuild then writes nothing."""
    source = "SPN_EVENTS"
    rollup.take(Tracking(source, 1), [("judged_periods", {"period": "2026-09", "flags": 1})])
    at = rollup.view.positions([source])
    assert at.of(source) == 1
    meanwhile = [("judged_periods", {"period": "2026-10", "flags": 2})]
    rollup.take(Tracking(source, 2), meanwhile)
    with pytest.raises(StoreMovedError):
        rollup.view.replace_tables(["judged_periods"], [], at)
    assert len(rollup.view._rows(Query("judged_periods"))) == 2  # nothing was lost
    moved = rollup.view.positions([source])
    rollup.view.replace_tables(["judged_periods"],
                               [("judged_periods", {"period": "2026-10", "flags": 2})], moved)
    assert [r["period"] for r in rollup.view._rows(Query("judged_periods"))] == ["2026-10"]
    case = SupportCase(recipient="elm", addressed_to="river", practice="1A", opened="2026-10",
                       practices=["1A"], reasons=["behind"], escalated_from=None)  # fmt: skip
    before = rollup.view.positions([source])
    rollup.save(case)  # an event stored moves it too
    assert rollup.view.positions([source]).events == before.events + 1
    with pytest.raises(StoreMovedError):
        rollup.view.replace_tables(["judged_periods"], [], before)


def test_outcomes_and_parked_reports_of_before_senders_are_keyed_by_sender(
    database_url: str, db_schema: str,
):
    """Tables made when a report id was the whole key: the status service, started on
    them, keys them by (sender, report id); a parked report's sender comes from its
    subject, an outcome's is unknown (the operator's)."""
    made = StatusApplication(postgres_env(database_url, db_schema))
    table = f'"{db_schema}"."status_{{}}"'
    with made.recorder.datastore.transaction(commit=True) as cursor:  # type: ignore[attr-defined]
        for name in ("report_outcomes", "parked_reports"):
            cursor.execute(f"DROP TABLE {table.format(name)}")
        cursor.execute(f"CREATE TABLE {table.format('report_outcomes')} (report_id text "
                       "PRIMARY KEY, outcome text NOT NULL, reason text, message text)")
        cursor.execute(f"CREATE TABLE {table.format('parked_reports')} (report_id text "
                       "PRIMARY KEY, plan text NOT NULL, sequence bigint NOT NULL, subject "
                       "text NOT NULL, body bytea NOT NULL, payload text NOT NULL, parked_at "
                       "timestamptz NOT NULL DEFAULT now(), expired boolean NOT NULL DEFAULT "
                       "false)")  # fmt: skip
        cursor.execute(f"INSERT INTO {table.format('report_outcomes')} VALUES "
                       "('r1', 'recorded', NULL, NULL)")  # fmt: skip
        cursor.execute(f"INSERT INTO {table.format('parked_reports')} (report_id, plan, "
                       "sequence, subject, body, payload) VALUES ('r2', 'oak/2026-27', 5, "
                       "'spn.inbox.status.oak', '', '{}')")  # fmt: skip
    made.close()
    for again in (False, True):  # started again: nothing more to do
        app = StatusApplication(postgres_env(database_url, db_schema))
        try:
            assert app.report_outcomes(["r1"])["r1"]["sender"] == ""
            assert app.report_outcomes(["r1"], {"oak"}) == {}
            [waiting] = app._view.parked_for(["oak/2026-27"])
            assert (waiting["sender"], waiting["report_id"]) == ("oak", "r2")
            if again:
                app._view.upsert([outcome_row("oak", "r1", "parked"),
                                  outcome_row("elm", "r1", "rejected", "late")])  # fmt: skip
                assert app.report_outcomes(["r1"], {"elm"})["r1"]["outcome"] == "rejected"
                assert app.report_outcomes(["r1"], {"oak"})["r1"]["outcome"] == "parked"
        finally:
            app.close()
