"""Composition root of the plans service: the application, its directory read model, the
relay and the NATS entry points."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
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
from services.shared.runtime import Background, ServiceRuntime

log = logging.getLogger(__name__)
READ_MODEL_TIMEOUT = 10.0
WAIT_SLICE = 0.5
RETIRED_SECONDS = 30.0


class PlansService(ServiceRuntime[PlansApplication]):
    name = "plans"
    directory: ProjectionRunner[PlansApplication, PlansDirectory] | None = None
    _directory_lock = threading.Lock()
    _retired: list[tuple[float, ProjectionRunner[PlansApplication, PlansDirectory]]]

    def create_application(self) -> PlansApplication:
        return PlansApplication(self.env)

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        self._retired = []
        self.directory = await asyncio.to_thread(self._start_directory)

    def create_router(self) -> NatsRouter:
        assert self.directory
        endpoints = PlansEndpoints(
            self.app, lambda: self._live_directory().view, self._wait_for_directory, self.wake_relay
        )
        return create_router(self.settings.namespace, endpoints)

    def close_resources(self) -> None:
        for _, runner in self._retired:
            _close_runner(runner)
        self._retired.clear()
        if self.directory:
            _close_runner(self.directory)
            self.directory = None

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        return {"directory": Background(self._keep_directory)}

    async def health(self) -> dict[str, Any]:
        checks = await super().health()
        runner = self.directory
        if checks.get("directory") == "ok" and (runner is None or runner.is_interrupted.is_set()):
            checks["directory"] = "read model stopped; restarting"
        return checks

    async def _keep_directory(self) -> None:
        """Restart the read model's runner when an error (a database outage) stopped it."""
        while True:
            await asyncio.sleep(1.0)
            runner = self.directory
            if runner is None or runner.is_interrupted.is_set():
                await asyncio.to_thread(self._live_directory)

    def _live_directory(self) -> ProjectionRunner[PlansApplication, PlansDirectory]:
        """The read model's runner; one that stopped on an error (database down) is replaced,
        and the new one catches up from its tracking record. A replaced runner is closed a
        while later, so that a query still holding it ends on its own error, not ours."""
        with self._directory_lock:
            if self.directory is None or self.directory.is_interrupted.is_set():
                if self.directory is not None:
                    self._retired.append((time.monotonic(), self.directory))
                self.directory = self._start_directory()
            while self._retired and time.monotonic() - self._retired[0][0] > RETIRED_SECONDS:
                _close_runner(self._retired.pop(0)[1])
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
        """Read your writes: wait until the read model has seen every stored event, in short
        slices, so that a runner that stops meanwhile is replaced and waited on instead."""
        deadline = time.monotonic() + READ_MODEL_TIMEOUT
        position = self.app.recorder.max_notification_id()
        while True:
            runner = self._live_directory()
            try:
                runner.wait(position, timeout=WAIT_SLICE)
                return
            except Exception as error:
                if time.monotonic() > deadline:
                    raise
                log.debug("plans: waiting for the directory read model (%s)", error)


def _close_runner(runner: ProjectionRunner[PlansApplication, PlansDirectory]) -> None:
    try:
        runner.__exit__(None, None, None)  # re-raises the error that stopped it, if any
    except Exception as error:
        log.warning("plans: the directory read model had stopped: %s", error)
    finally:
        runner.view.datastore.close()  # the runner closes only its application
