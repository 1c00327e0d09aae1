"""The alerts service's durable consumer of the events stream: a batch's directory rows and
alerts commit with the tracking record of its last message."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from eventsourcing.persistence import Tracking
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts.subjects import events_stream
from services.alerts import translator
from services.alerts.application import AlertsApplication
from services.alerts.domain.routing import Fact, QuarterClosed
from services.alerts.metrics import AlertsMetrics
from services.alerts.recorder import Row
from services.shared.consumer import events_consumer, sequence
from services.shared.dead_letters import DeadLetters
from services.shared.replies import first_problem


class AlertsConsumer:
    def __init__(self, app: AlertsApplication, js: JetStreamContext, namespace: str,
                 on_stored: Callable[[], None], dead_letters: DeadLetters,
                 metrics: AlertsMetrics, batch_size: int = 500,
                 ack_wait: float = 300):  # fmt: skip
        self.metrics = metrics
        self.app = app
        self.namespace = namespace
        self.on_stored = on_stored
        self.stream = events_stream(namespace)
        self.consumer = events_consumer(js, app, namespace, "alerts", self._skip, dead_letters,
                                        batch_size, ack_wait)  # fmt: skip
        self.heartbeat = self.consumer.heartbeat

    async def run(self) -> None:
        """Until cancelled; an outage of NATS or the database only delays it."""
        await self.consumer.run(self._process)

    async def _process(self, messages: list[Msg]) -> None:
        rows: list[Row] = []
        facts: list[Fact | QuarterClosed] = []
        for message in messages:
            found = translator.read(message.subject.removeprefix(self.namespace + "."),
                                    message.data)  # fmt: skip
            if isinstance(found, ValidationError):
                source = self.consumer.source_of(message)
                await self.consumer.dead_letters.publish("invalid_event", first_problem(found),
                                                         source)  # fmt: skip
                continue
            facts += [f for f in found if isinstance(f, Fact | QuarterClosed)]
            rows += [r for r in found if not isinstance(r, Fact | QuarterClosed)]
        tracking = self.consumer.tracking(sequence(messages[-1]))
        raised = await asyncio.to_thread(self._take, tracking, rows, facts)
        for kind in raised:
            self.metrics.raised.labels(kind).inc()
        if raised:
            self.on_stored()

    def _skip(self, tracking: Tracking) -> None:
        self._take(tracking, [], [])

    def _take(self, tracking: Tracking, rows: list[Row], facts: list[Fact | QuarterClosed]
              ) -> list[str]:  # fmt: skip
        return self.app.take(tracking, rows, facts, datetime.now(UTC))
