"""Composition root of the rollup service: its read models, fed by a durable consumer of
the events stream, and its query entry point."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from faststream.nats import NatsRouter
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from prometheus_client import Counter
from pydantic import ValidationError

from contracts.status import DeadLetter, dead_letter_stream
from contracts.subjects import events_stream, events_wildcard
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.domain.waning import WaningRules
from services.rollup.recorder import Row
from services.rollup.router import create_router
from services.rollup.settings import RollupSettings
from services.shared.consumer import PullConsumer
from services.shared.relay import Translate
from services.shared.replies import field_path
from services.shared.runtime import ServiceRuntime
from services.shared.streams import ensure_stream

DEAD_LETTERS = Counter("spn_rollup_dead_letters_total", "Events rollup cannot read", ["reason"])


def _sequence(message: Msg) -> int:
    return int(message.metadata.sequence.stream)


class RollupService(ServiceRuntime[RollupApplication]):
    name = "rollup"
    settings: RollupSettings

    def create_application(self) -> RollupApplication:
        return RollupApplication(self.env)

    def translator(self) -> Translate:
        return translator.EventTranslator(self.app)

    @property
    def rules(self) -> WaningRules:
        s = self.settings
        return WaningRules(s.behind_pct, s.lag_points, s.lag_periods, s.declining_falls)

    def create_router(self) -> NatsRouter:
        return create_router(self.settings.namespace, self.app, self.wake_relay)

    async def prepare(self, js: JetStreamContext) -> None:
        ns = self.settings.namespace
        await ensure_stream(js, dead_letter_stream(ns), [f"{ns}.dlq.>"])
        await asyncio.to_thread(self.app.rebuild_own_rows)

    def background(self, js: JetStreamContext) -> dict[str, Coroutine[Any, Any, None]]:
        return {"consumer": self._consume(js)}

    async def _consume(self, js: JetStreamContext) -> None:
        ns = self.settings.namespace
        stream = events_stream(ns)
        consumer = PullConsumer(
            js, stream=stream, subject=events_wildcard(ns), durable="rollup",
            position=lambda: self.app.position(stream), batch_size=self.settings.batch_size,
        )  # fmt: skip

        async def process(messages: list[Msg]) -> None:
            """Rows commit in runs; a period close is judged alone, once every row before
            it is stored (each commit carries the tracking record of its last message)."""
            rows: list[Row] = []
            last: int | None = None
            for message in messages:
                relative, sequence = message.subject.removeprefix(ns + "."), _sequence(message)
                period = translator.period_closed(relative, message.data)
                if period is not None:
                    if last is not None:
                        await asyncio.to_thread(self.app.take, stream, last, rows)
                    rows, last = [], None
                    await asyncio.to_thread(
                        self.app.judge_period, stream, sequence, period, self.rules
                    )
                    self.wake_relay()
                    continue
                found = translator.rows_of(relative, message.data)
                if isinstance(found, ValidationError):
                    await self._dead_letter(js, stream, message, found)
                else:
                    rows.extend(found)
                last = sequence
            if last is not None:
                await asyncio.to_thread(self.app.take, stream, last, rows)

        await consumer.subscribe()
        while True:
            await consumer.take(process, wait=0.5)

    async def _dead_letter(
        self, js: JetStreamContext, stream: str, message: Msg, error: ValidationError
    ) -> None:
        """An event rollup can never read: kept with the reason, counted, then skipped."""
        first = error.errors()[0]
        sequence = message.metadata.sequence.stream
        letter = DeadLetter(
            reason="invalid_event",
            message=f"{field_path(first['loc']) or '(message)'}: {first['msg']}",
            source_stream=stream,
            source_sequence=sequence,
            source_subject=message.subject,
            payload=message.data.decode("utf-8", errors="replace"),
        )
        ns = self.settings.namespace
        await js.publish(
            f"{ns}.dlq.rollup.invalid_event", letter.to_json(), stream=dead_letter_stream(ns),
            headers={"Nats-Msg-Id": f"rollup:{stream}:{sequence}"},
        )  # fmt: skip
        DEAD_LETTERS.labels("invalid_event").inc()
