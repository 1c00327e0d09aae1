"""What every service process has in common: an eventsourcing application on PostgreSQL,
a NATS connection, the relay of its stored events, supervised background tasks (restarted
when they end), the one dead-letter path, request/reply entry points on a faststream broker,
and a health check that answers at once. Nothing connects until ``start_dependencies``."""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

import nats
from eventsourcing.application import Application
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from contracts import rebuild as rb
from contracts.status import dead_letter_stream
from contracts.subjects import events_stream
from services.shared.audit.builder import AuditBuilder
from services.shared.audit.checkpoint import load_or_create_key, verifier_key
from services.shared.audit.endpoints import AuditEndpoints
from services.shared.audit.log import AuditLog
from services.shared.credentials import broker_options, connect_options
from services.shared.dead_letters import DUPLICATE_WINDOW_SECONDS, DeadLetters
from services.shared.eventstore import postgres_env, unreachable_reason
from services.shared.metrics import ServiceMetrics
from services.shared.read_models import ReadModelTables, Row
from services.shared.rebuild import RebuildEndpoints, StreamFed, fill_directory
from services.shared.relay import Relay, Translate
from services.shared.replies import limit_replies
from services.shared.routes import Route, create_router
from services.shared.scope import DirectoryTables
from services.shared.secrets import redact
from services.shared.settings import ServiceSettings
from services.shared.stream_reader import StreamReader
from services.shared.streams import check_server, ensure_events_stream, ensure_stream
from services.shared.tasks import Heartbeat, TaskFactory, TaskSupervisor

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Application[Any])
PROBE_SECONDS = 2.0
GAUGE_SECONDS = 5.0  # how often the relay's and the consumers' lags are measured


@dataclass(frozen=True)
class Background:
    """A long-running task: ``run`` is called again whenever it ends."""

    run: TaskFactory
    heartbeat: Heartbeat | None = None
    lag: Callable[[], Awaitable[int | None]] | None = None  # measures its lag (a gauge)


class DatabaseUnreachableError(RuntimeError):
    """The service cannot start: its database does not answer."""


class ServiceRuntime(ABC, Generic[A]):
    name: str

    def __init__(self, settings: ServiceSettings, registry: CollectorRegistry):
        """``registry``: the process's one metrics registry (``/metrics`` serves it)."""
        self.settings = settings
        self.registry = registry
        self.metrics = ServiceMetrics(registry, self.name)
        self.env = postgres_env(settings.database_url, settings.db_schema)
        self.broker = NatsBroker(
            settings.nats_url,
            **broker_options(settings.nats_credentials),
            log_level=logging.DEBUG,
            max_reconnect_attempts=-1,  # an outage of any length: reconnect when NATS is back
            reconnect_time_wait=1,
            middlewares=[NatsPrometheusMiddleware(registry=registry, app_name=self.name)],
        )
        self._app: A | None = None
        self.relay: Relay | None = None
        self._nc: Client | None = None
        self.tasks = TaskSupervisor(self.metrics)
        self._database = ("not checked yet", 0.0)  # (state, when: monotonic)
        self._serving = False  # the broker subscribed: requests are answered
        self._probe_thread = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-probe")

    @property
    def app(self) -> A:
        assert self._app is not None, f"{self.name} is not started"
        return self._app

    # -- hooks -----------------------------------------------------------------------------

    @abstractmethod
    def create_application(self) -> A: ...

    @abstractmethod
    def translator(self) -> Translate: ...

    @abstractmethod
    def create_router(self) -> NatsRouter: ...

    async def prepare(self, js: JetStreamContext) -> None:
        """Before the entry points open: read models, streams of the service's own."""

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        """Long-running tasks besides the relay (consumers, schedulers)."""
        return {}

    def dead_letters(self, js: JetStreamContext) -> DeadLetters:
        """The service's side of the one dead-letter path (each consumer counts its own)."""
        assert self._nc is not None
        return DeadLetters(js, self.settings.namespace, self.metrics, self._nc.max_payload)

    OWN_TABLES: ClassVar[tuple[str, ...]] = ()
    """The read models the service feeds from its own events (``spn rebuild``)."""

    def own_rows(self) -> list[Row]:
        """The rows its event store gives the ``OWN_TABLES``."""
        return []

    def stream_fed(self) -> StreamFed | None:
        """The read models other services' events feed, and the rows each event gives
        them (``spn rebuild``, from ``SPN_EVENTS``); none by default."""
        return None

    def plan_aggregates(self, key: str) -> list[UUID]:
        """The aggregates of the service that hold a plan's events (``spn audit prove``)."""
        return []

    def close_resources(self) -> None:
        """Close what ``prepare`` opened."""

    # -- lifecycle -------------------------------------------------------------------------

    async def start_dependencies(self) -> None:
        try:
            self._app = await asyncio.to_thread(self.create_application)
        except Exception as error:  # named, not only "Application startup failed"
            await self._check_database()
            if self._database[0] == "ok":
                raise
            url = redact(self.settings.database_url or "")
            raise DatabaseUnreachableError(f"{self.name}: PostgreSQL at {url} is "
                                           f"{self._database[0]}") from error  # fmt: skip
        await self._check_database()
        self._nc = await nats.connect(
            self.settings.nats_url, name=f"{self.name}-runtime", max_reconnect_attempts=-1,
            reconnect_time_wait=1, **connect_options(self.settings.nats_credentials),
        )  # fmt: skip
        check_server(self._nc)
        limit_replies(self._nc.max_payload)
        js = self._nc.jetstream(timeout=10)
        ns = self.settings.namespace
        await ensure_events_stream(js, ns)
        await ensure_stream(
            js, dead_letter_stream(ns), [f"{ns}.dlq.>"],
            duplicate_window=DUPLICATE_WINDOW_SECONDS,
        )  # fmt: skip
        await self.prepare(js)
        self.relay = Relay(
            app=self.app,
            translate=self.translator(),
            nc=self._nc,
            js=js,
            namespace=self.settings.namespace,
            tracking=await asyncio.to_thread(self._relay_tracking),
            metrics=self.metrics,
            check_seconds=self.settings.relay_check_seconds,
            dead_letters=self.dead_letters(js),
        )
        self.broker.include_router(self.create_router())
        audit, audit_routes = await asyncio.to_thread(self._audit)
        own = (list(self.OWN_TABLES), self.own_rows)
        rebuild = RebuildEndpoints(self.name, self._view(), own,
                                   self._nc.publish,
                                   StreamReader(js, self.settings.namespace, self.name),
                                   self.stream_fed())  # fmt: skip
        self.broker.include_router(create_router(  # what every service answers for itself
            self.metrics, self.settings.namespace, audit_routes + rebuild.routes(),
            self.directory()))
        await self._fill_directory(rebuild)
        await self._fill_new_tables(rebuild)
        relay = self.relay
        tasks = {
            "relay": Background(relay.run, relay.heartbeat,
                                lambda: asyncio.to_thread(relay.measure_lag)),
            "probe": Background(self._probe),
            "audit": Background(audit.run, audit.heartbeat),
            **self.background(js),
        }
        lags = {name: task.lag for name, task in tasks.items() if task.lag is not None}
        tasks["gauges"] = Background(lambda: self._measure(lags))
        for task_name, task in tasks.items():
            self.tasks.start(task_name, task.run, task.heartbeat)

    async def start(self) -> None:
        await self.start_dependencies()
        await self.broker.start()
        self.serving()

    def serving(self) -> None:
        """The broker has subscribed every entry point (health says so from now on)."""
        self._serving = True

    async def stop(self) -> None:
        self._serving = False
        try:
            await self.broker.stop()
        except Exception as error:  # NATS already gone: still release everything else
            log.warning("%s: stopping the broker failed: %s", self.name, error)
        await self.stop_dependencies()

    async def stop_dependencies(self) -> None:
        await self.tasks.stop()
        try:
            if self._nc:
                await self._nc.close()
        except Exception as error:  # NATS already gone: still release everything else
            log.warning("%s: closing the NATS connection failed: %s", self.name, error)
        finally:
            try:
                await asyncio.to_thread(self.close_resources)
            finally:
                self._probe_thread.shutdown(wait=False)
                if self._app:
                    self._app.close()

    async def health(self) -> dict[str, Any]:
        """Answers at once, from state kept by the tasks and the probe: ``ok`` or what is
        wrong, for NATS, the database and each background task."""
        state, when = self._database
        age = time.monotonic() - when
        if when and age > PROBE_SECONDS * 3:
            state = f"no answer for {age:.0f}s"
        checks = {
            "nats": "ok" if self._nc is not None and self._nc.is_connected else "unreachable",
            "database": state,
            "requests": "ok" if self._serving else "not answered yet",
        }
        checks.update(self.tasks.checks())
        return checks

    def wake_relay(self) -> None:
        if self.relay:
            self.relay.wake()

    # -- helpers ---------------------------------------------------------------------------

    async def _probe(self) -> None:
        """Check the database every few seconds, off the event loop, with a short timeout."""
        stuck: set[str] = set()
        while True:
            await self._check_database()
            stuck = self._log_stuck(stuck)
            await asyncio.sleep(PROBE_SECONDS)

    async def _measure(self, lags: dict[str, Callable[[], Awaitable[int | None]]]) -> None:
        """Every few seconds, each task's lag (its gauge); one that cannot be measured
        now (an outage) keeps its last value, and is measured again next time."""
        failing: set[str] = set()
        while True:
            for name, lag in lags.items():
                try:
                    async with asyncio.timeout(GAUGE_SECONDS):
                        await lag()
                    failing.discard(name)
                except Exception as error:  # an outage: its gauge keeps its last value
                    if name not in failing:  # said once, not every few seconds
                        log.warning("%s: lag of %s not measured: %s", self.name, name, error)
                    failing.add(name)
            await asyncio.sleep(GAUGE_SECONDS)

    def _log_stuck(self, before: set[str]) -> set[str]:
        """Say in the log when a task gets stuck (and when it moves again)."""
        checks = self.tasks.checks()
        now = {name for name, state in checks.items() if state.startswith("stuck")}
        for name in sorted(now - before):
            log.error("%s: task %s is %s", self.name, name, checks[name])
        for name in sorted(before - now):
            log.warning("%s: task %s is moving again", self.name, name)
        return now

    async def _check_database(self) -> None:
        """In a thread of its own: the shared ones may all wait on the database."""
        started = time.monotonic()
        reachable = await asyncio.get_running_loop().run_in_executor(
            self._probe_thread, unreachable_reason, self.settings.database_url or ""
        )
        self._database = ("ok" if reachable is None else f"unreachable: {reachable}", started)

    def _audit(self) -> tuple[AuditBuilder, list[Route]]:
        """The audit log's tables, its builder (signing with the service's key) and its
        entry points."""
        factory, recorder = self.app.factory, self.app.recorder
        assert isinstance(factory, PostgresFactory)
        assert isinstance(recorder, PostgresApplicationRecorder)
        log = AuditLog(factory.datastore, self.name, recorder.events_table_name)
        log.create_tables()
        origin = f"spn/{self.settings.namespace}/{self.name}"
        key = load_or_create_key(self.settings.audit_key_dir / f"{self.name}.ed25519",
                                 signed_before=log.latest_checkpoint() is not None)  # fmt: skip
        builder = AuditBuilder(log, key, origin, every=self.settings.audit_checkpoint_seconds)
        endpoints = AuditEndpoints(self.name, log, builder, verifier_key(origin, key),
                                   self.plan_aggregates)  # fmt: skip
        return builder, endpoints.routes()

    def _view(self) -> ReadModelTables:
        view = self.app.recorder
        assert isinstance(view, ReadModelTables), f"{self.name} keeps no read models"
        return view

    async def _fill_new_tables(self, rebuild: RebuildEndpoints) -> None:
        """Before the consumers start: own tables an upgrade added are filled from the
        store (if that fails, the service starts anyway, and says how to retry)."""
        for table in await asyncio.to_thread(self._view().tables_to_fill):
            log.info("%s: %s is new; filling it from the event store", self.name, table)
            try:
                await rebuild.rebuild(rb.RebuildReadModels(table=table))
            except Exception as error:  # its queries show less meanwhile, never wrong rows
                log.warning("%s: %s could not be filled (%s: %s); `spn rebuild %s.%s` "
                            "retries", self.name, table, type(error).__name__, error,
                            self.name, table)  # fmt: skip

    async def _fill_directory(self, rebuild: RebuildEndpoints) -> None:
        """Before the consumers start: a stream-fed directory an upgrade left incomplete
        is rebuilt (if that fails, the service starts anyway, and says how to retry)."""
        fed, directory = self.stream_fed(), self.directory()
        if fed is None or directory.ORGANIZATIONS not in fed.tables:
            return
        source = f"{events_stream(self.settings.namespace)}/plans"
        try:
            await fill_directory(rebuild, directory, source)
        except Exception as error:  # queries fail closed meanwhile: organizations see less
            log.warning("%s: its directory could not be rebuilt from the stream (%s: %s); "
                        "organizations may be refused what is beneath them until `spn "
                        "rebuild %s.%s` succeeds", self.name, type(error).__name__,
                        error, self.name, directory.ORGANIZATIONS)  # fmt: skip

    def directory(self) -> DirectoryTables:
        """The service's directory of organizations: what an organization's query may see."""
        view = self.app.recorder
        assert isinstance(view, DirectoryTables), f"{self.name} keeps no directory"
        return view

    def _relay_tracking(self) -> TrackingRecorder:
        """The relay's position, in ``<name>_relay_tracking``, on the application's pool."""
        factory = self.app.factory
        assert isinstance(factory, PostgresFactory)
        recorder = factory.tracking_recorder_class(
            datastore=factory.datastore, tracking_table_name=f"{self.name}_relay_tracking"
        )
        recorder.create_table()
        return recorder
