"""Composition root of the status service: the application, the inbox and plan-event
consumers, the automatic period close, the relay and the NATS entry points."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import date
from typing import Any

from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from contracts import status as st
from services.shared.relay import Translate
from services.shared.runtime import ServiceRuntime
from services.shared.streams import ensure_stream
from services.status.application import StatusApplication
from services.status.autoclose import due_periods
from services.status.consumers import StatusConsumers
from services.status.endpoints import StatusEndpoints
from services.status.router import create_router
from services.status.settings import StatusSettings
from services.status.translator import EventTranslator

log = logging.getLogger(__name__)


class StatusService(ServiceRuntime[StatusApplication]):
    name = "status"
    settings: StatusSettings

    def __init__(
        self, settings: StatusSettings, *args: Any, today: Callable[[], date] = date.today
    ):
        super().__init__(settings, *args)
        self.write_lock = asyncio.Lock()
        self.today = today

    def create_application(self) -> StatusApplication:
        return StatusApplication(self.env)

    def translator(self) -> Translate:
        return EventTranslator(self.app)

    async def prepare(self, js: JetStreamContext) -> None:
        ns = self.settings.namespace
        await ensure_stream(js, st.inbox_stream(ns), [f"{ns}.{st.ActionStatusReported.SUBJECT}.>"])
        await ensure_stream(js, st.dead_letter_stream(ns), [f"{ns}.dlq.>"])

    def create_router(self) -> NatsRouter:
        endpoints = StatusEndpoints(self.app, self.wake_relay)
        return create_router(self.settings.namespace, endpoints, self.write_lock)

    def background(self, js: JetStreamContext) -> dict[str, Coroutine[Any, Any, None]]:
        consumers = StatusConsumers(
            self.app,
            js,
            self.settings.namespace,
            self.write_lock,
            on_stored=self.wake_relay,
            batch_size=self.settings.batch_size,
        )
        return {"consumers": consumers.run(), "auto_close": self._auto_close()}

    async def _auto_close(self) -> None:
        while True:
            days = self.settings.auto_close_days
            if days > 0:
                keys = await asyncio.to_thread(self.app.active_keys)
                years = {key.rsplit("/", 1)[1] for key in keys}
                for period in due_periods(self.today(), years, days):
                    async with self.write_lock:
                        closed, evaluated = await asyncio.to_thread(self.app.close_period, period)
                    if closed:
                        log.info("status: closed %s automatically (%d plans)", period, evaluated)
                        self.wake_relay()
            await asyncio.sleep(self.settings.auto_close_check_seconds)
