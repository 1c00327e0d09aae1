"""Composition root of the plans service: wires the application, read model, relay and
NATS entry points. Nothing connects until ``start``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import nats
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.postgres import PostgresFactory
from eventsourcing.projection import ProjectionRunner
from faststream.nats import NatsBroker
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.client import Client
from prometheus_client import REGISTRY, CollectorRegistry

from services.plans.application import PlansApplication
from services.plans.directory import PlansDirectory, PlansDirectoryProjection
from services.plans.endpoints import PlansEndpoints
from services.plans.router import create_router
from services.plans.settings import PlansSettings
from services.plans.translator import EventTranslator
from services.shared.eventstore import postgres_env
from services.shared.relay import Relay
from services.shared.streams import ensure_events_stream

log = logging.getLogger(__name__)
READ_MODEL_TIMEOUT = 10.0


class PlansService:
    """The running plans service. ``start``/``stop`` bracket everything that connects."""

    def __init__(self, settings: PlansSettings, registry: CollectorRegistry = REGISTRY) -> None:
        self.settings = settings
        self.env = postgres_env(settings.database_url, settings.db_schema)
        self.broker = NatsBroker(
            settings.nats_url,
            log_level=logging.DEBUG,
            middlewares=[NatsPrometheusMiddleware(registry=registry, app_name="plans")],
        )
        self.app: PlansApplication | None = None
        self.directory: ProjectionRunner[PlansApplication, PlansDirectory] | None = None
        self.relay: Relay | None = None
        self._nc: Client | None = None
        self._relay_task: asyncio.Task[None] | None = None

    async def start_dependencies(self) -> None:
        """Event store, read model, relay; then ``broker.start()`` opens the entry points."""
        self.app = await asyncio.to_thread(PlansApplication, self.env)
        self.directory = await asyncio.to_thread(self._start_directory)
        self._nc = await nats.connect(self.settings.nats_url, name="plans-relay")
        js = self._nc.jetstream()
        await ensure_events_stream(js, self.settings.namespace)
        self.relay = Relay(
            app=self.app,
            translate=EventTranslator(self.app),
            js=js,
            namespace=self.settings.namespace,
            tracking=self._relay_tracking(),
        )
        endpoints = PlansEndpoints(
            self.app, self.directory.view, self._wait_for_directory, self._wake_relay
        )
        self.broker.include_router(create_router(self.settings.namespace, endpoints))
        self._relay_task = asyncio.create_task(self.relay.run(), name="plans-relay")

    async def start(self) -> None:
        await self.start_dependencies()
        await self.broker.start()

    async def stop(self) -> None:
        await self.broker.stop()
        await self.stop_dependencies()

    async def stop_dependencies(self) -> None:
        if self._relay_task:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
        if self._nc:
            await self._nc.close()
        if self.directory:
            await asyncio.to_thread(self.directory.__exit__, None, None, None)
            self.directory.view.datastore.close()  # the runner closes only its application
        if self.app:
            self.app.close()

    async def health(self) -> dict[str, Any]:
        relay_ok = self._relay_task is not None and not self._relay_task.done()
        db_ok = self.app is not None and await asyncio.to_thread(self._db_ok)
        return {
            "nats": "ok" if await self.broker.ping(timeout=2.0) else "unreachable",
            "database": "ok" if db_ok else "unreachable",
            "relay": "ok" if relay_ok else "stopped",
        }

    def _start_directory(self) -> ProjectionRunner[PlansApplication, PlansDirectory]:
        runner = ProjectionRunner(
            application_class=PlansApplication,
            projection_class=PlansDirectoryProjection,
            view_class=PlansDirectory,
            env=self.env,
        )
        return runner.__enter__()

    def _relay_tracking(self) -> TrackingRecorder:
        """The relay's position, in ``plans_relay_tracking``, on the application's pool."""
        assert self.app
        factory = self.app.factory
        assert isinstance(factory, PostgresFactory)
        recorder = factory.tracking_recorder_class(
            datastore=factory.datastore, tracking_table_name="plans_relay_tracking"
        )
        recorder.create_table()
        return recorder

    def _wait_for_directory(self) -> None:
        """Read your writes: wait until the read model has seen every stored event."""
        assert self.app and self.directory
        self.directory.wait(self.app.recorder.max_notification_id(), timeout=READ_MODEL_TIMEOUT)

    def _wake_relay(self) -> None:
        if self.relay:
            self.relay.wake()

    def _db_ok(self) -> bool:
        assert self.app
        try:
            self.app.recorder.max_notification_id()
        except Exception as error:
            log.warning("plans: database check failed: %s", error)
            return False
        return True
