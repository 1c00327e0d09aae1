"""eventsourcing configuration (an env mapping) from a PostgreSQL URL."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

import psycopg
from eventsourcing.application import AggregateNotFoundError, Application, LRUCache
from eventsourcing.persistence import IntegrityError, ProcessRecorder
from eventsourcing.popo import POPOFactory, POPOProcessRecorder
from eventsourcing.postgres import PostgresFactory, PostgresProcessRecorder
from eventsourcing.utils import get_topic
from psycopg.conninfo import conninfo_to_dict

from services.shared.pg_recorder import APPLICATION_RECORDER_ENV, PostgresFactoryWithTimeouts

P = ParamSpec("P")
R = TypeVar("R")


class DatabaseNotConfiguredError(RuntimeError):
    pass


def postgres_env(database_url: str | None, schema: str = "public") -> dict[str, str]:
    """The env an eventsourcing Application needs to store events in PostgreSQL."""
    if not database_url:
        raise DatabaseNotConfiguredError(
            "SPN_DATABASE_URL is not set: start the services with `spn up`, or set it to a "
            "PostgreSQL URL"
        )
    info = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": get_topic(PostgresFactoryWithTimeouts),
        "POSTGRES_STATEMENT_TIMEOUT": "60",
        **APPLICATION_RECORDER_ENV,  # no pipeline mode: a large save cannot deadlock
        "POSTGRES_DBNAME": str(info.get("dbname") or "postgres"),
        "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(info.get("password") or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": "5",
        # waiting for a pooled connection gives up after this (the caller's loop retries)
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # a writer queued behind the events table's lock gives up (and is retried)
        "POSTGRES_LOCK_TIMEOUT": "30",
        "POSTGRES_MAX_OVERFLOW": "5",
    }


def unreachable_reason(database_url: str, timeout: float = 2.0) -> str | None:
    """None when PostgreSQL answers a query within ``timeout`` seconds, else why not (one
    line)."""
    try:
        with psycopg.connect(
            database_url, connect_timeout=max(int(timeout), 1),
            options=f"-c statement_timeout={int(timeout * 1000)}",
        ) as conn:  # fmt: skip
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def forget_cached(app: Application[Any]) -> None:
    """Drop the application's cached aggregates (after a failed write whose outcome is not
    known, the cache may be behind the store)."""
    cache = app.repository.cache
    if isinstance(cache, LRUCache):
        with cache.lock:  # LRUCache.clear() resets its recency list but keeps its entries
            cache.cache.clear()
            cache.clear()
            cache.full = False
    elif cache is not None:
        cache.cache.clear()


def find(app: Application[UUID], aggregate_id: UUID, copy: bool = True) -> Any:
    """The aggregate, or None if it was never stored; with ``copy`` False, a cached one is
    the cached object itself (the caller changes it only when a failure forgets the cache)."""
    try:
        return app.repository.get(aggregate_id, deepcopy_from_cache=copy)
    except AggregateNotFoundError:
        return None


def process_recorder(
    app: Application[UUID],
    recorder_class: type[PostgresProcessRecorder],
    memory_class: type[POPOProcessRecorder] | None = None,
) -> ProcessRecorder:
    """A process recorder of the given class (events, tracking and the service's own read
    models in one transaction) on the application's PostgreSQL datastore; on the in-memory
    store (``PERSISTENCE_MODULE=eventsourcing.popo``), ``memory_class``; the plain one of
    any other persistence module."""
    factory = app.factory
    if isinstance(factory, POPOFactory) and memory_class is not None:
        return memory_class()
    if not isinstance(factory, PostgresFactory):
        return factory.process_recorder()
    recorder = recorder_class(
        factory.datastore,
        events_table_name=f"{app.name}_events",
        tracking_table_name=f"{app.name}_tracking",
    )
    recorder.create_table()
    return recorder


def retry_on_conflict(method: Callable[P, R]) -> Callable[P, R]:
    """Re-run a command when a concurrent writer saved the same aggregate first."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for _ in range(4):
            try:
                return method(*args, **kwargs)
            except IntegrityError:
                continue
        return method(*args, **kwargs)

    return wrapper


def stored_aggregate(app: Application[UUID], originator_id: UUID) -> Any:
    """The aggregate as its stored events give it, never from the cache (whose object a
    write under way, or one rolled back, may have changed in place)."""
    aggregate: Any = None
    event: Any
    for event in app.events.get(originator_id):
        aggregate = event.mutate(aggregate)
    return aggregate


def aggregate_as_of(app: Application[UUID], originator_id: UUID, moment: datetime) -> Any:
    """The aggregate after every event recorded at or before ``moment`` (None if none
    was): from its latest snapshot of a state of then, if the application takes them,
    and the events after it."""
    aggregate: Any = None
    start: int | None = None
    snapshots: Any = app.snapshots.get(originator_id, desc=True) if app.snapshots else ()
    for snapshot in snapshots:
        if snapshot.state["_modified_on"] <= moment:
            aggregate, start = snapshot.mutate(None), snapshot.originator_version
            break
    event: Any
    for event in app.events.get(originator_id, gt=start):
        if event.timestamp > moment:
            break
        aggregate = event.mutate(aggregate)
    return aggregate


def events_of(app: Application[UUID], originator_id: UUID) -> list[Any]:
    """Every domain event of one aggregate, in order (for its history and replays)."""
    return [app.mapper.to_domain_event(stored)
            for stored in app.recorder.select_events(originator_id)]  # fmt: skip
