"""Composition root of the rollup service: its read models, fed by a durable consumer of
the events stream, and its query entry point."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsRouter
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts.subjects import events_stream, events_wildcard
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.domain.waning import WaningRules
from services.rollup.recorder import Row
from services.rollup.router import create_router
from services.rollup.settings import RollupSettings
from services.shared.consumer import PullConsumer, sequence, source_of
from services.shared.eventstore import forget_cached
from services.shared.relay import Translate
from services.shared.replies import first_problem
from services.shared.runtime import Background, ServiceRuntime


class RollupService(ServiceRuntime[RollupApplication]):
    name = "rollup"
    settings: RollupSettings

    def create_application(self) -> RollupApplication:
        return RollupApplication(self.env, rules=self.rules)

    def translator(self) -> Translate:
        return translator.EventTranslator(self.app)

    @property
    def rules(self) -> WaningRules:
        s = self.settings
        return WaningRules(s.behind_pct, s.lag_points, s.lag_periods, s.declining_falls)

    def create_router(self) -> NatsRouter:
        return create_router(self.settings.namespace, self.app, self.wake_relay)

    async def prepare(self, js: JetStreamContext) -> None:
        await asyncio.to_thread(self.app.rebuild_own_rows)

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        ns = self.settings.namespace
        stream = events_stream(ns)
        dead_letters = self.dead_letters(js)
        consumer = PullConsumer(
            js, stream=stream, subject=events_wildcard(ns), durable="rollup",
            position=lambda: self.app.position(stream),
            skip=lambda seq: self.app.take(stream, seq, []),
            forget=lambda: forget_cached(self.app), dead_letters=dead_letters,
            batch_size=self.settings.batch_size,
        )  # fmt: skip

        async def process(messages: list[Msg]) -> None:
            """Rows commit in runs; a period close is judged alone, once every row before
            it is stored (each commit carries the tracking record of its last message)."""
            rows: list[Row] = []
            last: int | None = None
            for message in messages:
                relative, seq = message.subject.removeprefix(ns + "."), sequence(message)
                period = translator.period_closed(relative, message.data)
                if period is not None:
                    if last is not None:
                        await asyncio.to_thread(self.app.take, stream, last, rows)
                    rows, last = [], None
                    await asyncio.to_thread(self.app.judge_period, stream, seq, period, self.rules)
                    self.wake_relay()
                    continue
                found = translator.rows_of(relative, message.data)
                if isinstance(found, ValidationError):
                    await dead_letters.publish("invalid_event", first_problem(found),
                                               source_of(message))  # fmt: skip
                else:
                    rows.extend(found)
                last = seq
            if last is not None:
                await asyncio.to_thread(self.app.take, stream, last, rows)

        return {"consumer": Background(lambda: consumer.run(process), consumer.heartbeat)}
