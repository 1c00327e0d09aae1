"""Composition root of the plans service: the application, its directory read model, the
relay and the NATS entry points."""

from __future__ import annotations

import asyncio

from eventsourcing.projection import ProjectionRunner
from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from services.plans.application import PlansApplication
from services.plans.directory import PlansDirectory, PlansDirectoryProjection
from services.plans.endpoints import PlansEndpoints
from services.plans.router import create_router
from services.plans.translator import EventTranslator
from services.shared.relay import Translate
from services.shared.runtime import ServiceRuntime

READ_MODEL_TIMEOUT = 10.0


class PlansService(ServiceRuntime[PlansApplication]):
    name = "plans"
    directory: ProjectionRunner[PlansApplication, PlansDirectory] | None = None

    def create_application(self) -> PlansApplication:
        return PlansApplication(self.env)

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        self.directory = await asyncio.to_thread(self._start_directory)

    def create_router(self) -> NatsRouter:
        assert self.directory
        endpoints = PlansEndpoints(
            self.app, self.directory.view, self._wait_for_directory, self.wake_relay
        )
        return create_router(self.settings.namespace, endpoints)

    def close_resources(self) -> None:
        if self.directory:
            self.directory.__exit__(None, None, None)
            self.directory.view.datastore.close()  # the runner closes only its application
            self.directory = None

    def _start_directory(self) -> ProjectionRunner[PlansApplication, PlansDirectory]:
        runner = ProjectionRunner(
            application_class=PlansApplication,
            projection_class=PlansDirectoryProjection,
            view_class=PlansDirectory,
            env=self.env,
        )
        return runner.__enter__()

    def _wait_for_directory(self) -> None:
        """Read your writes: wait until the read model has seen every stored event."""
        assert self.directory
        self.directory.wait(self.app.recorder.max_notification_id(), timeout=READ_MODEL_TIMEOUT)
