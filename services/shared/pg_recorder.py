"""PostgreSQL recorders that cannot deadlock on a large ``save()``.

eventsourcing 9.5's ``PostgresApplicationRecorder.insert_events`` writes each save in psycopg 3
pipeline mode and calls ``Pipeline.sync()`` after queueing the INSERT. psycopg's pipeline sync
(``BasePipeline._sync_gen`` -> ``_fetch_gen(flush=False)``) starts waiting for the results
while part of the query may still sit unsent in libpq's output buffer: ``pipeline_communicate``
calls ``PQflush()`` once per writable wake-up and leaves when its queue is empty, whatever
``PQflush()`` returned. The server then waits for the rest of the Bind message (``ClientRead``,
transaction open, table lock held) and the client waits for a reply that cannot come. Whether
it happens depends on how much the kernel socket buffer takes in those few flushes: from a few
hundred kB of events it is likely, from a few MB it is certain. psycopg 3.1.18 fixed the same
flaw in pipeline *exit* (issue 685), not in ``Pipeline.sync()``; 3.3.9 still has it.

The recorders here write the same statements in the same one transaction without pipeline
mode: each ``execute()`` sends its whole message (``PQflush()`` until it returns 0, reading
input meanwhile) before it waits for the result, so no size of save can deadlock. The cost is
one round trip per statement instead of one per save.

Use ``NonPipelinedInsertMixin`` before the eventsourcing base class::

    class StatusRecorder(NonPipelinedInsertMixin, PostgresProcessRecorder): ...

and, for an application using the factory's recorder, ``APPLICATION_RECORDER_ENV`` in its env.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
)
from eventsourcing.utils import Environment, get_topic, retry


class NonPipelinedInsertMixin(PostgresApplicationRecorder):
    """``insert_events`` as eventsourcing does it (the subclass's ``_insert_events`` first,
    e.g. tracking and read models, then LOCK TABLE, NOTIFY and the INSERT ... RETURNING, in
    one transaction), but without psycopg pipeline mode.

    Put it first among the bases: ``class R(NonPipelinedInsertMixin, PostgresProcessRecorder)``.
    """

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:
            # One plain execute() of the insert function, no pipeline: already safe.
            return super().insert_events(stored_events, **kwargs)
        return self._insert_events_in_transaction(stored_events, **kwargs)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _insert_events_in_transaction(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self.datastore.get_connection() as conn, conn.transaction():
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
                return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)


class NonPipelinedApplicationRecorder(NonPipelinedInsertMixin, PostgresApplicationRecorder):
    """The plain application recorder (e.g. the plans service's), without pipeline mode."""


class NonPipelinedProcessRecorder(NonPipelinedInsertMixin, PostgresProcessRecorder):
    """The plain process recorder (events and tracking), without pipeline mode."""


APPLICATION_RECORDER_ENV: dict[str, str] = {
    "APPLICATION_RECORDER_TOPIC": get_topic(NonPipelinedApplicationRecorder)
}
"""Merge into an eventsourcing env so that ``PostgresFactory.application_recorder()``
constructs ``NonPipelinedApplicationRecorder``."""


class PostgresFactoryWithTimeouts(PostgresFactory):
    """eventsourcing's PostgreSQL factory, whose connections carry a ``statement_timeout``
    (env ``POSTGRES_STATEMENT_TIMEOUT``, seconds): no statement waits on the server forever.
    (eventsourcing has no setting for it; the pool's connection arguments take it before the
    pool opens.)"""

    POSTGRES_STATEMENT_TIMEOUT = "POSTGRES_STATEMENT_TIMEOUT"

    def __init__(self, env: Environment):
        super().__init__(env)
        seconds = float(self.env.get(self.POSTGRES_STATEMENT_TIMEOUT) or 0)
        if seconds > 0:
            options = f"-c statement_timeout={int(seconds * 1000)}"
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs["options"] = options
