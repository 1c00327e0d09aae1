"""Large saves on PostgreSQL, at the eventsourcing/psycopg level (no SPN services).

eventsourcing 9.5's recorder writes a save in psycopg pipeline mode and calls
``Pipeline.sync()``, which can wait for results while part of the INSERT is still in libpq's
output buffer: the server waits in ``ClientRead`` for the rest, the client waits for a reply,
forever. ``services.shared.pg_recorder`` writes the same transaction without pipeline mode.
Every write here runs in a thread with a deadline, so a hang fails the test instead of the run.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresProcessRecorder,
)
from psycopg.conninfo import conninfo_to_dict

from services.rollup.recorder import RollupRecorder
from services.shared.eventstore import postgres_env, process_recorder
from services.shared.pg_recorder import (
    APPLICATION_RECORDER_ENV,
    NonPipelinedApplicationRecorder,
    NonPipelinedInsertMixin,
    NonPipelinedProcessRecorder,
)
from services.shared.read_models import Query
from services.status.recorder import StatusRecorder

DEADLINE = 20.0  # each write here takes well under 1 s


class Note(Aggregate):
    @event("Noted")
    def note(self, text: str) -> None:
        pass


class LargeApp(Application[UUID]):
    name = "large"


FixedStatusRecorder = StatusRecorder  # the service's recorders, as wired
FixedRollupRecorder = RollupRecorder


# -- helpers ----------------------------------------------------------------------------------


def run_with_deadline(
    seconds: float, fn: Callable[[], Any]
) -> tuple[threading.Thread, dict[str, Any]]:
    """``fn()`` run in a daemon thread, joined for at most ``seconds``: (the thread, and
    {"value": ...} or {"error": ...} once it has finished)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread, outcome


def stuck_backends(database_url: str, schema: str) -> list[dict[str, Any]]:
    """Client backends running a statement on the schema's tables."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid, state, wait_event, xact_start IS NOT NULL AS in_transaction "
            "FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid() AND state = 'active' AND position(%s in query) > 0",
            (f'"{schema}".',),
        ).fetchall()
    return [
        dict(zip(("pid", "state", "wait_event", "in_transaction"), r, strict=True)) for r in rows
    ]


def terminate(database_url: str, pids: list[int]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def finish_or_fail(database_url: str, schema: str, fn: Callable[[], Any]) -> Any:
    """``fn()``'s value; a failure if it hangs past DEADLINE (its backends are terminated so
    that the schema can still be dropped)."""
    started = time.monotonic()
    thread, outcome = run_with_deadline(DEADLINE, fn)
    if thread.is_alive():
        stuck = stuck_backends(database_url, schema)
        give_up = time.monotonic() + 30
        while thread.is_alive() and time.monotonic() < give_up:
            # the library retries after a lost connection: end every attempt
            terminate(database_url, [b["pid"] for b in stuck_backends(database_url, schema)])
            thread.join(0.2)
        pytest.fail(f"write hung for {DEADLINE:.0f}s; backends: {stuck}")
    if "error" in outcome:
        raise outcome["error"]
    assert time.monotonic() - started < DEADLINE
    return outcome["value"]


def stored_events(originator_id: UUID, count: int, size: int, first: int = 1) -> list[StoredEvent]:
    return [
        StoredEvent(originator_id, version, "tests:Noted", (b"%08d" % version) * (size // 8))
        for version in range(first, first + count)
    ]


def slow_link_datastore(database_url: str, schema: str) -> PostgresDatastore:
    """A datastore of one connection with a 4 kB send buffer, ``statement_timeout`` and
    ``idle_in_transaction_session_timeout`` of 1 s."""
    info = conninfo_to_dict(database_url)
    datastore = PostgresDatastore(
        dbname=str(info.get("dbname")),
        host=str(info.get("host")),
        port=str(info.get("port") or "5432"),
        user=str(info.get("user")),
        password=str(info.get("password") or ""),
        schema=schema,
        pool_size=1,  # one connection: the one whose send buffer is shrunk below
        max_overflow=0,
        idle_in_transaction_session_timeout=1,
    )
    assert isinstance(datastore.pool.kwargs, dict)
    datastore.pool.kwargs["options"] = "-c statement_timeout=1000"
    with (
        datastore.get_connection() as conn,
        socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock,
    ):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return datastore


@pytest.fixture
def app(database_url: str, db_schema: str) -> Iterator[LargeApp]:
    application = LargeApp(
        env={**postgres_env(database_url, db_schema), **APPLICATION_RECORDER_ENV}
    )
    yield application
    application.close()


# -- the fix ----------------------------------------------------------------------------------


def test_the_env_wires_the_fixed_application_recorder(app: LargeApp) -> None:
    assert isinstance(app.recorder, NonPipelinedApplicationRecorder)


@pytest.mark.parametrize(
    ("count", "size"),
    [(2000, 500), (400, 4000), (1, 1_000_000)],
    ids=["2000x500B", "400x4kB", "1x1MB"],
)
def test_one_large_save_completes_and_reads_back(
    app: LargeApp, database_url: str, db_schema: str, count: int, size: int
) -> None:
    note = Note()
    for i in range(count):
        note.note(f"{i:06d}".ljust(size, "x"))

    recordings = finish_or_fail(database_url, db_schema, lambda: app.save(note))

    assert len(recordings) == count + 1
    ids = [r.notification.id for r in recordings]
    assert ids == list(range(ids[0], ids[0] + count + 1))  # one contiguous run: one transaction
    assert app.recorder.max_notification_id() == ids[-1]
    assert len(app.recorder.select_events(note.id)) == count + 1
    assert app.repository.get(note.id).version == count + 1


@pytest.mark.parametrize(
    "recorder_class",
    [NonPipelinedProcessRecorder, FixedStatusRecorder, FixedRollupRecorder],
    ids=["process", "status", "rollup"],
)
def test_process_recorders_write_large_batches_with_their_extras(
    app: LargeApp, database_url: str, db_schema: str, recorder_class: type[PostgresProcessRecorder]
) -> None:
    recorder = process_recorder(app, recorder_class)
    events = stored_events(uuid4(), 2000, 500)
    extras: dict[str, Any] = {
        # status: 2,000 report outcomes; rollup: 300 upserts carrying ~4 kB each
        "view_rows": [
            ("report_outcomes", {"sender": "oak", "report_id": f"r{i}", "outcome": "accepted",
                                 "reason": None, "message": "m" * 200})
            for i in range(2000)
        ] if recorder_class is FixedStatusRecorder else [
            ("missing_reports", {"plan_key": f"p{i}", "organization": "o" * 4000, "period": "q1"})
            for i in range(300)
        ] if recorder_class is FixedRollupRecorder else [],
    }

    ids = finish_or_fail(
        database_url,
        db_schema,
        lambda: recorder.insert_events(events, tracking=Tracking("upstream", 7), **extras),
    )

    assert ids is not None
    assert len(ids) == 2000
    assert ids == list(range(ids[0], ids[0] + 2000))
    assert recorder.max_tracking_id("upstream") == 7
    assert len(recorder.select_events(events[0].originator_id)) == 2000
    if isinstance(recorder, StatusRecorder):
        assert len(recorder.report_outcomes([f"r{i}" for i in range(2000)])) == 2000
    if isinstance(recorder, RollupRecorder):
        assert len(recorder._rows(Query("missing_reports"))) == 300


@pytest.mark.parametrize(
    "recorder_class", [NonPipelinedProcessRecorder, FixedStatusRecorder], ids=["process", "status"]
)
def test_a_conflict_in_the_middle_of_a_large_save_leaves_nothing_written(
    app: LargeApp, database_url: str, db_schema: str, recorder_class: type[PostgresProcessRecorder]
) -> None:
    recorder = process_recorder(app, recorder_class)
    originator_id = uuid4()
    recorder.insert_events(stored_events(originator_id, 1, 500, first=1000))
    outcomes = [("report_outcomes", {"sender": "oak", "report_id": "r1", "outcome": "accepted",
                                     "reason": None, "message": None})]  # fmt: skip

    def conflicting_save() -> Any:
        return recorder.insert_events(
            stored_events(originator_id, 2000, 500),  # version 1000 is taken
            tracking=Tracking("upstream", 3),
            view_rows=outcomes if recorder_class is FixedStatusRecorder else [],
        )

    with pytest.raises(IntegrityError):
        finish_or_fail(database_url, db_schema, conflicting_save)

    assert [e.originator_version for e in recorder.select_events(originator_id)] == [1000]
    assert recorder.max_tracking_id("upstream") is None
    if isinstance(recorder, StatusRecorder):
        assert recorder.report_outcomes(["r1"]) == {}


def test_a_stale_tracking_record_rejects_the_whole_save(
    app: LargeApp, database_url: str, db_schema: str
) -> None:
    recorder = process_recorder(app, NonPipelinedProcessRecorder)
    recorder.insert_events([], tracking=Tracking("upstream", 5))
    originator_id = uuid4()

    with pytest.raises(IntegrityError):
        finish_or_fail(
            database_url,
            db_schema,
            lambda: recorder.insert_events(
                stored_events(originator_id, 400, 4000), tracking=Tracking("upstream", 5)
            ),
        )

    assert recorder.select_events(originator_id) == []
    assert recorder.max_tracking_id("upstream") == 5


@pytest.mark.parametrize(
    ("count", "size"), [(2000, 500), (1, 1_000_000)], ids=["2000x500B", "1x1MB"]
)
def test_the_fixed_recorder_completes_over_a_slow_link(
    database_url: str, db_schema: str, count: int, size: int
) -> None:
    """The condition under which the stock recorder always hangs (see the last test)."""
    datastore = slow_link_datastore(database_url, db_schema)
    try:
        recorder = NonPipelinedApplicationRecorder(datastore, events_table_name="fixed_events")
        recorder.create_table()
        events = stored_events(uuid4(), count, size)

        ids = finish_or_fail(database_url, db_schema, lambda: recorder.insert_events(events))

        assert ids is not None
        assert len(ids) == count
        assert len(recorder.select_events(events[0].originator_id)) == count
    finally:
        datastore.close()


# -- the unfixed library ----------------------------------------------------------------------


def test_the_stock_recorder_hangs_on_a_large_save_and_server_timeouts_do_not_end_it(
    database_url: str, db_schema: str
) -> None:
    """The condition is real: eventsourcing's own recorder, one save of 2,000 events of 500 B,
    stuck with the backend in ClientRead inside the open transaction; neither
    ``statement_timeout`` nor ``idle_in_transaction_session_timeout`` (1 s each) ends it.

    How many bytes the few flushes of ``Pipeline.sync()`` push depends on the socket buffer and
    on how fast the server reads meanwhile; a 4 kB client send buffer (a slow link) makes the
    hang certain at this size rather than likely."""
    datastore = slow_link_datastore(database_url, db_schema)
    try:
        recorder = PostgresApplicationRecorder(datastore, events_table_name="stock_events")
        recorder.create_table()
        with datastore.get_connection() as conn:
            assert conn.execute("SHOW statement_timeout").fetchone() == {"statement_timeout": "1s"}
        events = stored_events(uuid4(), 2000, 500)
        # The undecorated method: one attempt, no retry after we end the stuck backend.
        insert_once = PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]

        thread, outcome = run_with_deadline(4.0, lambda: insert_once(recorder, events))

        hung = thread.is_alive()
        stuck = stuck_backends(database_url, db_schema)
        terminate(database_url, [b["pid"] for b in stuck])
        thread.join(10.0)
        assert hung, f"the stock recorder did not hang this time: {outcome}"
        assert stuck == [
            {"pid": stuck[0]["pid"], "state": "active", "wait_event": "ClientRead",
             "in_transaction": True}
        ]  # fmt: skip
        assert not thread.is_alive()
        assert isinstance(outcome.get("error"), OperationalError)  # the terminated session
        assert recorder.select_events(events[0].originator_id) == []  # nothing committed
    finally:
        datastore.close()


def test_every_connection_of_a_service_has_a_statement_timeout(database_url: str, db_schema: str):
    from services.shared.eventstore import postgres_env
    from services.status.application import StatusApplication

    app = StatusApplication(postgres_env(database_url, db_schema))
    try:
        with app.factory.datastore.transaction() as curs:  # type: ignore[attr-defined]
            curs.execute("SHOW statement_timeout")
            assert curs.fetchone()["statement_timeout"] == "1min"
    finally:
        app.close()


def test_every_service_writes_through_a_recorder_without_pipeline_mode(
    database_url: str, db_schema: str
):
    from services.plans.application import PlansApplication
    from services.rollup.application import RollupApplication
    from services.shared.eventstore import postgres_env
    from services.status.application import StatusApplication

    env = postgres_env(database_url, db_schema)
    for app_class in (PlansApplication, StatusApplication, RollupApplication):
        app = app_class(env)
        try:
            assert isinstance(app.recorder, NonPipelinedInsertMixin), app_class
        finally:
            app.close()
