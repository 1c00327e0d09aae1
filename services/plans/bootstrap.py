"""Composition root of the plans service: the application with its directory read model,
the relay and the NATS entry points."""

from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from services.plans.application import PlansApplication
from services.plans.endpoints import PlansEndpoints, resolve_plan
from services.plans.recorder import Row
from services.plans.router import create_router
from services.plans.translator import EventTranslator
from services.shared.relay import Translate
from services.shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)


class PlansService(ServiceRuntime[PlansApplication]):
    name = "plans"

    def create_application(self) -> PlansApplication:
        return PlansApplication(self.env)

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        """A directory with an empty table beside a store with events (a table dropped, or
        older than the store) is written again from the store (no plans yet: only the
        organizations are read again, a cheap rebuild)."""
        written = await asyncio.to_thread(self._rebuild_if_empty)
        if written:
            log.info("plans: directory rebuilt from the event store (%d rows)", written)

    def _rebuild_if_empty(self) -> int:
        if self.app.directory_incomplete():
            return self.app.rebuild_directory()
        return 0

    OWN_TABLES = ("organizations", "plans", "assessments")

    def own_rows(self) -> list[Row]:
        return self.app.directory_from_store()

    def plan_aggregates(self, key: str) -> list[UUID]:
        return [resolve_plan(key)]

    def create_router(self) -> NatsRouter:
        endpoints = PlansEndpoints(self.app, self.wake_relay)
        return create_router(self.metrics, self.settings.namespace, endpoints, self.directory())
