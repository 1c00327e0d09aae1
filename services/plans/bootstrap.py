"""Composition root of the plans service: the application, its directory read model, the
relay and the NATS entry points."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

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

log = logging.getLogger(__name__)
READ_MODEL_TIMEOUT = 10.0


class PlansService(ServiceRuntime[PlansApplication]):
    name = "plans"
    directory: ProjectionRunner[PlansApplication, PlansDirectory] | None = None
    _directory_lock = threading.Lock()

    def create_application(self) -> PlansApplication:
        return PlansApplication(self.env)

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        self.directory = await asyncio.to_thread(self._start_directory)

    def create_router(self) -> NatsRouter:
        assert self.directory
        endpoints = PlansEndpoints(
            self.app, lambda: self._live_directory().view, self._wait_for_directory, self.wake_relay
        )
        return create_router(self.settings.namespace, endpoints)

    def close_resources(self) -> None:
        if self.directory:
            _close_runner(self.directory)
            self.directory = None

    async def health(self) -> dict[str, Any]:
        checks = await super().health()
        runner = self.directory
        checks["directory"] = "ok" if runner and not runner.is_interrupted.is_set() else "stopped"
        return checks

    def _live_directory(self) -> ProjectionRunner[PlansApplication, PlansDirectory]:
        """The read model's runner; one that stopped on an error (database down) is replaced,
        and the new one catches up from its tracking record."""
        with self._directory_lock:
            if self.directory is None or self.directory.is_interrupted.is_set():
                if self.directory is not None:
                    _close_runner(self.directory)
                self.directory = self._start_directory()
            return self.directory

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
        runner = self._live_directory()
        runner.wait(self.app.recorder.max_notification_id(), timeout=READ_MODEL_TIMEOUT)


def _close_runner(runner: ProjectionRunner[PlansApplication, PlansDirectory]) -> None:
    try:
        runner.__exit__(None, None, None)  # re-raises the error that stopped it, if any
    except Exception as error:
        log.warning("plans: the directory read model had stopped: %s", error)
    finally:
        runner.view.datastore.close()  # the runner closes only its application
