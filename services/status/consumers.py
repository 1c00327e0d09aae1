"""The status service's durable consumers: plan events first, then reports (a report's plan
must be known before the report). Dead letters are published after a batch is prepared and
before it commits, so a crash never loses one (they are deduplicated by ``Nats-Msg-Id``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from prometheus_client import Counter
from pydantic import ValidationError

from contracts import status as st
from contracts.subjects import events_stream
from services.shared.consumer import PullConsumer
from services.shared.replies import field_path
from services.status import translator
from services.status.application import Delivery, PreparedBatch, Rejection, StatusApplication

REPORTS = Counter("spn_status_reports_total", "Reports taken", ["outcome"])
DEAD_LETTERS = Counter("spn_status_dead_letters_total", "Reports dead-lettered", ["reason"])


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
        self.app = app
        self.js = js
        self.namespace = namespace
        self.lock = write_lock
        self.on_stored = on_stored
        self.inbox = st.inbox_stream(namespace)
        self.events = events_stream(namespace)
        self.plans = PullConsumer(
            js, stream=self.events, subject=f"{namespace}.evt.plans.plan.>",
            durable="status-plans", position=lambda: app.position(self.events),
            batch_size=batch_size,
        )  # fmt: skip
        self.reports = PullConsumer(
            js, stream=self.inbox, subject=f"{namespace}.{st.ActionStatusReported.SUBJECT}.>",
            durable="status-inbox", position=lambda: app.position(self.inbox),
            batch_size=batch_size,
        )  # fmt: skip

    async def run(self) -> None:
        await self.plans.subscribe()
        await self.reports.subscribe()
        while True:
            if await self.plans.take(self._plan_batch, wait=0.05, lock=self.lock):
                continue  # plans first
            await self.reports.take(self._report_batch, wait=0.5, lock=self.lock)

    async def _plan_batch(self, messages: list[Msg]) -> None:
        prefix = self.namespace + "."
        deliveries = [
            Delivery(m.metadata.sequence.stream,
                     translator.plan_event_input(m.subject.removeprefix(prefix), m.data))
            for m in messages
        ]  # fmt: skip
        await asyncio.to_thread(self.app.take_plan_events, self.events, deliveries)
        self.on_stored()

    async def _report_batch(self, messages: list[Msg]) -> None:
        deliveries, invalid = [], []
        for message in messages:
            parsed = translator.parse_report(message.data)
            sequence = message.metadata.sequence.stream
            if isinstance(parsed, ValidationError):
                invalid.append(_invalid(sequence, message.data, parsed))
            else:
                deliveries.append(Delivery(sequence, translator.report_input(parsed)))
        batch = await asyncio.to_thread(self.app.prepare_reports, self.inbox, deliveries, invalid)
        await self._dead_letter(batch, {m.metadata.sequence.stream: m for m in messages})
        await asyncio.to_thread(self.app.commit, batch)
        self.on_stored()
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
