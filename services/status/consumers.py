"""Durable JetStream pull consumers of the status service: plan events, then reports.

Each batch: skip what the tracking record says is done, prepare the effects, publish dead
letters (deduplicated by ``Nats-Msg-Id``), commit effects with the tracking record, then
ack the batch's last message (``AckPolicy.ALL``). A failure before the commit naks the
batch with a growing delay: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import BadRequestError
from prometheus_client import Counter, Histogram
from pydantic import ValidationError

from contracts import status as st
from contracts.subjects import events_stream
from services.shared.replies import field_path
from services.status import translator
from services.status.application import Delivery, PreparedBatch, Rejection, StatusApplication

log = logging.getLogger(__name__)

REPORTS = Counter("spn_status_reports_total", "Reports taken", ["outcome"])
DEAD_LETTERS = Counter("spn_status_dead_letters_total", "Reports dead-lettered", ["reason"])
BATCH = Histogram(
    "spn_status_batch_size",
    "Messages per committed batch",
    buckets=(1, 10, 50, 100, 500, 1000, 5000),
)
RETRIES = Counter("spn_status_batch_retries_total", "Batches naked for retry", ["source"])


class StatusConsumers:
    def __init__(
        self,
        app: StatusApplication,
        js: JetStreamContext,
        namespace: str,
        write_lock: asyncio.Lock,
        on_stored: Callable[[], None],
        batch_size: int = 500,
    ):
        self.on_stored = on_stored
        self.app = app
        self.js = js
        self.namespace = namespace
        self.lock = write_lock
        self.batch_size = batch_size
        self.inbox = st.inbox_stream(namespace)
        self.events = events_stream(namespace)
        self._backoff = 0.1

    async def run(self) -> None:
        plans = await self._subscribe(
            self.events, f"{self.namespace}.evt.plans.plan.>", "status-plans"
        )
        reports = await self._subscribe(
            self.inbox, f"{self.namespace}.inbox.status.>", "status-inbox"
        )
        while True:
            if await self._take(plans, self.events, self._plan_batch, wait=0.05):
                continue  # plans first: a report's plan must be known before the report
            await self._take(reports, self.inbox, self._report_batch, wait=0.5)

    async def _subscribe(self, stream: str, subject: str, durable: str) -> Any:
        """A durable pull consumer; acking a batch's last message acks the whole batch."""
        config = ConsumerConfig(
            ack_policy=AckPolicy.ALL, ack_wait=120, max_ack_pending=self.batch_size * 4
        )
        try:
            return await self.js.pull_subscribe(
                subject, durable=durable, stream=stream, config=config
            )
        except BadRequestError:
            # a consumer of an older configuration: replace it. Its position is not needed:
            # the tracking record in PostgreSQL says what is done, and the rest is skipped.
            await self.js.delete_consumer(stream, durable)
            return await self.js.pull_subscribe(
                subject, durable=durable, stream=stream, config=config
            )

    async def _take(
        self,
        subscription: Any,
        source: str,
        process: Callable[[str, list[Msg]], Awaitable[None]],
        wait: float,
    ) -> bool:
        try:
            messages = await subscription.fetch(self.batch_size, timeout=wait)
        except (TimeoutError, NatsTimeoutError):
            return False
        done = await asyncio.to_thread(self.app.position, source)
        fresh = [m for m in messages if m.metadata.sequence.stream > done]
        try:
            if fresh:
                async with self.lock:
                    await process(source, fresh)
        except Exception as error:
            RETRIES.labels(source).inc()
            log.warning("status: batch from %s failed (%s: %s); retrying in %.1fs",
                        source, type(error).__name__, error, self._backoff)  # fmt: skip
            await asyncio.gather(*(m.nak(delay=self._backoff) for m in messages))
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 10.0)
            return True
        self._backoff = 0.1
        self.on_stored()
        await messages[-1].ack()  # AckPolicy.ALL: acks the batch
        BATCH.observe(len(messages))
        return True

    async def _plan_batch(self, source: str, messages: list[Msg]) -> None:
        deliveries = [
            Delivery(m.metadata.sequence.stream, translator.plan_event_input(
                m.subject.removeprefix(self.namespace + "."), m.data))
            for m in messages
        ]  # fmt: skip
        await asyncio.to_thread(self.app.take_plan_events, source, deliveries)

    async def _report_batch(self, source: str, messages: list[Msg]) -> None:
        deliveries, invalid = [], []
        for message in messages:
            parsed = translator.parse_report(message.data)
            sequence = message.metadata.sequence.stream
            if isinstance(parsed, ValidationError):
                invalid.append(_invalid(sequence, message.data, parsed))
            else:
                deliveries.append(Delivery(sequence, translator.report_input(parsed)))
        batch = await asyncio.to_thread(self.app.prepare_reports, source, deliveries, invalid)
        await self._dead_letter(batch, {m.metadata.sequence.stream: m for m in messages})
        await asyncio.to_thread(self.app.commit, batch)
        REPORTS.labels("recorded").inc(batch.recorded)
        REPORTS.labels("duplicate").inc(batch.duplicates)

    async def _dead_letter(self, batch: PreparedBatch, by_sequence: dict[int, Msg]) -> None:
        for rejection in batch.rejections:
            message = by_sequence[rejection.sequence]
            letter = st.DeadLetter(
                reason=rejection.reason,
                message=rejection.message,
                source_stream=self.inbox,
                source_sequence=rejection.sequence,
                source_subject=message.subject,
                report_id=rejection.report_id,
                payload=message.data.decode("utf-8", errors="replace"),
            )
            await self.js.publish(
                f"{self.namespace}.{st.DeadLetter.SUBJECT}.{rejection.reason}",
                letter.to_json(),
                stream=st.dead_letter_stream(self.namespace),
                headers={"Nats-Msg-Id": f"{self.inbox}:{rejection.sequence}"},
            )
            DEAD_LETTERS.labels(rejection.reason).inc()
            REPORTS.labels("rejected").inc()


def _invalid(sequence: int, body: bytes, error: ValidationError) -> Rejection:
    first = error.errors()[0]
    where = field_path(first["loc"]) or "(message)"
    return Rejection(sequence, _report_id(body), "invalid_payload", f"{where}: {first['msg']}")


def _report_id(body: bytes) -> str | None:
    """The report id of an invalid message, when it has a usable one."""
    try:
        value = json.loads(body).get("report_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and value else None
