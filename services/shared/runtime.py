"""What every service process has in common: an eventsourcing application on PostgreSQL,
a NATS connection, the relay of its stored events, background tasks, request/reply
entry points on a faststream broker, and a health check. Nothing connects until
``start_dependencies``."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

import nats
from eventsourcing.application import Application
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresFactory
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import REGISTRY, CollectorRegistry

from services.shared.eventstore import postgres_env
from services.shared.relay import Relay, Translate
from services.shared.settings import ServiceSettings
from services.shared.streams import ensure_events_stream

log = logging.getLogger(__name__)
A = TypeVar("A", bound=Application[Any])


class ServiceRuntime(ABC, Generic[A]):
    name: str

    def __init__(self, settings: ServiceSettings, registry: CollectorRegistry = REGISTRY):
        self.settings = settings
        self.env = postgres_env(settings.database_url, settings.db_schema)
        self.broker = NatsBroker(
            settings.nats_url,
            log_level=logging.DEBUG,
            middlewares=[NatsPrometheusMiddleware(registry=registry, app_name=self.name)],
        )
        self._app: A | None = None
        self.relay: Relay | None = None
        self._nc: Client | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}

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

    def background(self, js: JetStreamContext) -> dict[str, Coroutine[Any, Any, None]]:
        """Long-running tasks besides the relay (consumers, schedulers)."""
        return {}

    def close_resources(self) -> None:
        """Close what ``prepare`` opened."""

    # -- lifecycle -------------------------------------------------------------------------

    async def start_dependencies(self) -> None:
        self._app = await asyncio.to_thread(self.create_application)
        self._nc = await nats.connect(self.settings.nats_url, name=f"{self.name}-runtime")
        js = self._nc.jetstream()
        await ensure_events_stream(js, self.settings.namespace)
        await self.prepare(js)
        self.relay = Relay(
            app=self.app,
            translate=self.translator(),
            js=js,
            namespace=self.settings.namespace,
            tracking=await asyncio.to_thread(self._relay_tracking),
        )
        self.broker.include_router(self.create_router())
        tasks = {"relay": self.relay.run(), **self.background(js)}
        for task_name, coroutine in tasks.items():
            task = asyncio.create_task(coroutine, name=f"{self.name}-{task_name}")
            task.add_done_callback(self._report_end)
            self._tasks[task_name] = task

    async def start(self) -> None:
        await self.start_dependencies()
        await self.broker.start()

    async def stop(self) -> None:
        try:
            await self.broker.stop()
        except Exception as error:  # NATS already gone: still release everything else
            log.warning("%s: stopping the broker failed: %s", self.name, error)
        await self.stop_dependencies()

    async def stop_dependencies(self) -> None:
        await self._stop_tasks()
        try:
            if self._nc:
                await self._nc.close()
        finally:
            try:
                await asyncio.to_thread(self.close_resources)
            finally:
                if self._app:
                    self._app.close()

    async def health(self) -> dict[str, Any]:
        checks = {
            "nats": "ok" if await self.broker.ping(timeout=2.0) else "unreachable",
            "database": "ok" if await asyncio.to_thread(self._db_ok) else "unreachable",
        }
        for task_name, task in self._tasks.items():
            checks[task_name] = "ok" if not task.done() else "stopped"
        return checks

    def wake_relay(self) -> None:
        if self.relay:
            self.relay.wake()

    # -- helpers ---------------------------------------------------------------------------

    async def _stop_tasks(self) -> None:
        """Cancel the background tasks, again if one swallowed it (a library may), never
        waiting long: stopping must not hang."""
        pending = set(self._tasks.values())
        for _ in range(10):
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=1.0)
            if not pending:
                break
        for task in pending:
            log.error("%s: %s did not stop", self.name, task.get_name())
        self._tasks.clear()

    def _report_end(self, task: asyncio.Task[None]) -> None:
        """A background task should run until stopped; if one ends, say why (health shows it)."""
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            log.error("%s: %s stopped: %s", self.name, task.get_name(), error, exc_info=error)

    def _relay_tracking(self) -> TrackingRecorder:
        """The relay's position, in ``<name>_relay_tracking``, on the application's pool."""
        factory = self.app.factory
        assert isinstance(factory, PostgresFactory)
        recorder = factory.tracking_recorder_class(
            datastore=factory.datastore, tracking_table_name=f"{self.name}_relay_tracking"
        )
        recorder.create_table()
        return recorder

    def _db_ok(self) -> bool:
        if self._app is None:
            return False
        try:
            self._app.recorder.max_notification_id()
        except Exception as error:
            log.warning("%s: database check failed: %s", self.name, error)
            return False
        return True
