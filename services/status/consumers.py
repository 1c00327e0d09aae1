"""The status service's durable consumers: plan events first, then reports (a report's plan
must be known before the report; one whose plan is not known yet is parked until it is).
Dead letters are published after a batch is prepared and before it commits, so a crash
never loses one (they are deduplicated by ``Nats-Msg-Id``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts import status as st
from contracts.subjects import events_stream
from services.shared.consumer import Process, PullConsumer, events_consumer, sequence, source_of
from services.shared.dead_letters import DeadLetters, Source
from services.shared.eventstore import forget_cached
from services.shared.replies import first_problem
from services.shared.tasks import Heartbeat
from services.status import translator
from services.status.application import Delivery, PreparedBatch, Rejection, StatusApplication
from services.status.domain.errors import ForeignReporterError
from services.status.metrics import StatusMetrics

log = logging.getLogger(__name__)


class StatusConsumers:
    def __init__(
        self,
        app: StatusApplication,
        js: JetStreamContext,
        namespace: str,
        write_lock: asyncio.Lock,
        on_stored: Callable[[], None],
        dead_letters: DeadLetters,
        metrics: StatusMetrics,
        batch_size: int = 500,
        park_seconds: float = 86400,
        ack_wait: float = 300,
    ):
        self.reports_taken = metrics.reports
        self.app = app
        self.namespace = namespace
        self.lock = write_lock
        self.on_stored = on_stored
        self.park_seconds = park_seconds
        self.heartbeat = Heartbeat()
        self.inbox = st.inbox_stream(namespace)
        self.events = events_stream(namespace)
        self._next_sweep = 0.0
        self.plans = events_consumer(  # every plans event: each names the one before it
            js, app, namespace, "status-plans", app.skip, dead_letters, batch_size, ack_wait,
            service="plans", heartbeat=self.heartbeat,
        )  # fmt: skip
        self.reports = PullConsumer(
            js, stream=self.inbox, subject=f"{namespace}.{st.ActionStatusReported.SUBJECT}.>",
            durable="status-inbox", position=app.position,
            skip=app.skip, forget=lambda: forget_cached(app),
            dead_letters=dead_letters,
            batch_size=batch_size, ack_wait=ack_wait, heartbeat=self.heartbeat,
        )  # fmt: skip

    async def measure_lag(self) -> int | None:
        """Both consumers' lags (each its gauge); their sum, once both are known."""
        plans, reports = await self.plans.measure_lag(), await self.reports.measure_lag()
        return None if plans is None or reports is None else plans + reports

    async def run(self) -> None:
        """Until cancelled; an outage of NATS or the database only delays it."""
        while True:
            if await self._take(self.plans, self._plan_batch, wait=0.05):
                continue  # plans first
            await self._take(self.reports, self._report_batch, wait=0.5)
            await self._sweep_parked()

    async def _take(self, consumer: PullConsumer, process: Process, wait: float) -> bool:
        try:
            return await consumer.take(process, wait=wait, lock=self.lock)
        except Exception as error:
            await consumer.recover(error)
            return False

    async def _plan_batch(self, messages: list[Msg]) -> None:
        prefix = self.namespace + "."
        deliveries = [
            Delivery(sequence(m), translator.plan_event_input(m.subject.removeprefix(prefix),
                                                              m.data))
            for m in messages
        ]  # fmt: skip
        tracking = self.plans.tracking(sequence(messages[-1]))
        batch = await asyncio.to_thread(self.app.prepare_plan_events, tracking, deliveries)
        await self._settle(batch, {})

    async def _report_batch(self, messages: list[Msg]) -> None:
        deliveries, invalid = [], []
        for message in messages:
            parsed = translator.parse_report(message.data)
            inbox_of = message.subject.rsplit(".", 1)[-1]  # whom NATS let publish there
            if isinstance(parsed, ValidationError):
                invalid.append(_invalid(sequence(message), message.data, parsed, inbox_of))
            elif parsed.reporter.organization != inbox_of:
                invalid.append(Rejection(
                    sequence(message), parsed.report_id, "inbox_of_another_organization",
                    f"a report by {parsed.reporter.organization} on the inbox of {inbox_of}",
                    inbox_of))
            elif parsed.plan.split("/", 1)[0] != inbox_of:  # not parked for another's plan
                invalid.append(Rejection(
                    sequence(message), parsed.report_id, ForeignReporterError.code,
                    f"reporter of {inbox_of} cannot report for plan {parsed.plan}", inbox_of))
            else:
                payload = translator.report_input(parsed)
                deliveries.append(
                    Delivery(sequence(message), payload, message.subject, message.data)
                )
        batch = await asyncio.to_thread(self.app.prepare_reports, self.inbox, deliveries, invalid)
        await self._settle(batch, {sequence(m): source_of(m) for m in messages})

    async def _settle(self, batch: PreparedBatch, sources: dict[int, Source]) -> None:
        """Dead letters first, then the commit."""
        for delivery in batch.released.values():  # parked reports taken now
            sources[delivery.sequence] = Source(
                self.inbox, delivery.sequence, delivery.subject, delivery.body
            )
        for rejection in batch.rejections:
            await self.reports.dead_letters.publish(
                rejection.reason, rejection.message, sources[rejection.sequence],
                report_id=rejection.report_id,
            )  # fmt: skip
        await asyncio.to_thread(self.app.commit, batch)
        self.on_stored()
        self.reports_taken.labels("recorded").inc(batch.recorded)
        self.reports_taken.labels("duplicate").inc(batch.duplicates)
        self.reports_taken.labels("parked").inc(len(batch.parked))
        self.reports_taken.labels("rejected").inc(len(batch.rejections))

    async def _sweep_parked(self) -> None:
        """Reject reports parked longer than ``park_seconds`` (a plan that never came),
        once every plan event in the stream is taken: their outcomes and an ``expired``
        mark commit first, then their dead letters are stored, then they are forgotten (a
        crash in between sends the letters at the next sweep)."""
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + min(60.0, max(self.park_seconds / 10, 0.5))
        message = f"no approved plan arrived within {self.park_seconds:.0f}s"
        cutoff = datetime.now(UTC) - timedelta(seconds=self.park_seconds)
        try:
            if await self.plans.pending() or self.plans.gaps:
                return  # an approval may still be on its way (or be refilled)
            async with self.lock:
                await asyncio.to_thread(self.app.expire_parked, cutoff, message)
                expired = await asyncio.to_thread(self.app.expired_parked)
            for delivery in expired:
                await self.reports.dead_letters.publish(
                    "unknown_plan",
                    f"plan {delivery.payload['plan']} is not an approved plan known to "
                    f"status: {message}",
                    Source(self.inbox, delivery.sequence, delivery.subject, delivery.body),
                    report_id=delivery.payload["report_id"],
                )
            await asyncio.to_thread(self.app.forget_expired, expired)
        except Exception as error:  # an outage: the next sweep tries again
            log.warning("status: sweeping parked reports failed (%s: %s)",
                        type(error).__name__, error)  # fmt: skip
            self.heartbeat.trouble(f"parked reports: {type(error).__name__}: {error}")
            return
        if expired:
            self.reports_taken.labels("rejected").inc(len(expired))
            log.info("status: %d parked reports rejected as unknown_plan", len(expired))


def _invalid(seq: int, body: bytes, error: ValidationError, sender: str) -> Rejection:
    return Rejection(seq, _report_id(body), "invalid_payload", first_problem(error), sender)


def _report_id(body: bytes) -> str | None:
    """The report id of an invalid message, when it has a usable one."""
    try:
        value = json.loads(body).get("report_id")
    except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, too deep
        return None
    return value if isinstance(value, str) and value and "\x00" not in value else None
