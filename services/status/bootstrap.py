"""Composition root of the status service: the application, the inbox and plan-event
consumers, the automatic period close, the relay and the NATS entry points."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from contracts import status as st
from services.shared.rebuild import StreamFed
from services.shared.relay import Translate
from services.shared.runtime import Background, ServiceRuntime
from services.shared.streams import ensure_stream
from services.shared.tasks import Heartbeat
from services.status import translator
from services.status.application import StatusApplication
from services.status.autoclose import due_periods
from services.status.closing import close_period
from services.status.consumers import StatusConsumers
from services.status.domain.plan_progress import PlanProgress
from services.status.endpoints import StatusEndpoints, utc_today
from services.status.metrics import StatusMetrics
from services.status.recorder import Row
from services.status.router import create_router
from services.status.settings import StatusSettings
from services.status.translator import EventTranslator

log = logging.getLogger(__name__)


class StatusService(ServiceRuntime[StatusApplication]):
    name = "status"
    settings: StatusSettings

    def __init__(
        self, settings: StatusSettings, *args: Any, today: Callable[[], date] = utc_today
    ):
        super().__init__(settings, *args)
        self.status_metrics = StatusMetrics(self.registry)
        self.write_lock = asyncio.Lock()
        self.today = today

    def create_application(self) -> StatusApplication:
        cache = {"AGGREGATE_CACHE_MAXSIZE": str(self.settings.cached_plans)}
        return StatusApplication({**self.env, **cache})

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        ns = self.settings.namespace
        await ensure_stream(js, st.inbox_stream(ns), [f"{ns}.{st.ActionStatusReported.SUBJECT}.>"])

    OWN_TABLES = ("plans", "period_figures", "action_reports")

    def own_rows(self) -> list[Row]:
        return self.app.own_rows()

    def stream_fed(self) -> StreamFed:
        return StreamFed(translator.STREAM_TABLES, translator.rows_of)

    def plan_aggregates(self, key: str) -> list[UUID]:
        return [PlanProgress.create_id(key)]

    def create_router(self) -> NatsRouter:
        endpoints = StatusEndpoints(self.app, self.wake_relay, self.write_lock, self.today)
        return create_router(self.metrics, self.settings.namespace, endpoints, self.directory())

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        consumers = StatusConsumers(
            self.app,
            js,
            self.settings.namespace,
            self.write_lock,
            on_stored=self.wake_relay,
            dead_letters=self.dead_letters(js),
            metrics=self.status_metrics,
            batch_size=self.settings.batch_size,
            park_seconds=self.settings.park_seconds,
            ack_wait=self.settings.ack_wait,
        )
        self.auto_close_heartbeat = Heartbeat()
        return {
            "consumers": Background(consumers.run, consumers.heartbeat, consumers.measure_lag),
            "auto_close": Background(self._auto_close, self.auto_close_heartbeat),
        }

    async def _auto_close(self) -> None:
        while True:
            if self.settings.auto_close_days > 0:
                with self.auto_close_heartbeat.busy():
                    await self._close_due_periods()
            await asyncio.sleep(self.settings.auto_close_check_seconds)

    async def _close_due_periods(self) -> None:
        keys = await asyncio.to_thread(self.app.active_keys)
        years = {key.rsplit("/", 1)[1] for key in keys}
        for period in due_periods(self.today(), years, self.settings.auto_close_days):
            closed, evaluated = await close_period(
                self.app, period, self.write_lock, self.wake_relay, self.auto_close_heartbeat
            )
            if closed:
                log.info("status: closed %s automatically (%d plans)", period, evaluated)
