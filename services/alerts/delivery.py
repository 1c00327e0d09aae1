"""The delivery loop: compose the messages due (after the group wait), send each message
due by its channel, record the attempt. The store is the truth: after a restart the loop
finds the messages still pending and sends them; one sent but not yet recorded when the
service died is sent again with the same Message-ID."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from services.alerts.application import AlertsApplication
from services.alerts.channels import DeliveryError
from services.alerts.domain.routing import shown_target
from services.alerts.metrics import AlertsMetrics
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)


class Channel(Protocol):
    async def send(self, message: dict[str, Any]) -> None:
        """Deliver, or raise DeliveryError."""


class Dispatcher:
    def __init__(self, app: AlertsApplication, channels: Mapping[str, Channel], group_wait: float,
                 interval: float, on_stored: Callable[[], None], metrics: AlertsMetrics,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):  # fmt: skip
        self.app = app
        self.metrics = metrics
        self.channels = channels
        self.group_wait = timedelta(seconds=group_wait)
        self.interval = interval
        self.on_stored = on_stored
        self.clock = clock
        self.heartbeat = Heartbeat()

    async def run(self) -> None:
        """Until cancelled; a failure of the database ends a round, not the loop's task
        (its supervisor restarts it)."""
        while True:
            with self.heartbeat.busy():
                await self.round()
            self.heartbeat.well()
            await asyncio.sleep(self.interval)

    async def round(self) -> int:
        """Compose what is due, send what is due; returns how many were delivered."""
        now = self.clock()
        try:
            if await asyncio.to_thread(self.app.compose_due, now, self.group_wait):
                self.on_stored()
        except Exception:  # composing failed (a bug, the database): still send what is due
            log.exception("alerts: composing the messages due failed; sending those composed")
        delivered = 0
        for message in await asyncio.to_thread(self.app.due, now):
            final = False
            try:
                await self.channels[message["channel"]].send(message)
                error = None
            except DeliveryError as failure:
                error, final = str(failure), failure.final
            except Exception as failure:  # a message that can never go: not the others' end
                log.exception("alerts: message %s cannot be sent", message["message_id"])
                error, final = f"cannot be sent: {type(failure).__name__}: {failure}", True
            if error is not None:
                target = shown_target(message["target"])
                log.warning("alerts: message %s to %s not delivered: %s",
                            message["message_id"], target, error)  # fmt: skip
            recorded = await asyncio.to_thread(self.app.record_attempt, message["message_id"],
                                               self.clock(), error, final)  # fmt: skip
            outcome = recorded.status if error else "delivered"
            self.metrics.deliveries.labels(message["channel"], outcome).inc()
            if error is None:
                waited = (self.clock() - message["raised_at"]).total_seconds()
                self.metrics.latency.labels(message["channel"]).observe(waited)
            self.on_stored()
            self.heartbeat.beat()  # a round of many messages (reports made) is not stuck
            delivered += error is None
        return delivered

