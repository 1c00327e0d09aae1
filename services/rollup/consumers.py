"""The rollup's durable consumer of the events stream: read-model rows commit in runs; a
period close is judged alone, once every row before it is stored (each commit carries the
tracking record of its last message)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts.subjects import events_stream
from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.recorder import Row
from services.shared.consumer import events_consumer, sequence
from services.shared.dead_letters import DeadLetters
from services.shared.replies import first_problem


class RollupConsumer:
    def __init__(
        self,
        app: RollupApplication,
        js: JetStreamContext,
        namespace: str,
        on_stored: Callable[[], None],
        dead_letters: DeadLetters,
        batch_size: int = 500,
        ack_wait: float = 300,
    ):
        self.app = app
        self.namespace = namespace
        self.on_stored = on_stored
        self.stream = events_stream(namespace)
        self.consumer = events_consumer(
            js, app, namespace, "rollup", lambda tracking: app.take(tracking, []),
            dead_letters, batch_size, ack_wait,
        )
        self.heartbeat = self.consumer.heartbeat

    async def run(self) -> None:
        """Until cancelled; an outage of NATS or the database only delays it."""
        await self.consumer.run(self._process)

    async def _process(self, messages: list[Msg]) -> None:
        rows: list[Row] = []
        last: int | None = None
        for message in messages:
            relative, seq = message.subject.removeprefix(self.namespace + "."), sequence(message)
            period = translator.period_closed(relative, message.data)
            if period is not None:
                if last is not None:
                    await asyncio.to_thread(self.app.take, self.consumer.tracking(last), rows)
                rows, last = [], None
                await asyncio.to_thread(self.app.judge_period, self.consumer.tracking(seq),
                                        period)  # fmt: skip
                self.on_stored()
                continue
            found = translator.rows_of(relative, message.data)
            if isinstance(found, ValidationError):
                source = self.consumer.source_of(message)
                await self.consumer.dead_letters.publish("invalid_event", first_problem(found),
                                                         source)  # fmt: skip
            else:
                rows.extend(found)
            last = seq
        if last is not None:
            await asyncio.to_thread(self.app.take, self.consumer.tracking(last), rows)
