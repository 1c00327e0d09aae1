"""A durable JetStream pull consumer whose effects are tracked in PostgreSQL.

Each batch: fetch, skip what the tracking record says is done, process (effects and the
tracking record of the batch's last message commit together), then ack the batch's last
message (``AckPolicy.ALL``). A failure naks the batch with a growing delay: nothing is
dropped, and a redelivered message finds its effect already tracked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import BadRequestError
from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

BATCH = Histogram(
    "spn_consumer_batch_size", "Messages per committed batch", ["consumer"],
    buckets=(1, 10, 50, 100, 500, 1000, 5000),
)  # fmt: skip
RETRIES = Counter("spn_consumer_batch_retries_total", "Batches naked for retry", ["consumer"])

Process = Callable[[list[Msg]], Awaitable[None]]


class PullConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        subject: str,
        durable: str,
        position: Callable[[], int],
        batch_size: int = 500,
    ):
        self.js = js
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.position = position
        self.batch_size = batch_size
        self._subscription: Any = None
        self._backoff = 0.1

    async def subscribe(self) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.ALL, ack_wait=120, max_ack_pending=self.batch_size * 4
        )
        try:
            self._subscription = await self.js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream, config=config
            )
        except BadRequestError:
            # a consumer of an older configuration: replace it. Its position is not needed:
            # the tracking record in PostgreSQL says what is done, and the rest is skipped.
            await self.js.delete_consumer(self.stream, self.durable)
            self._subscription = await self.js.pull_subscribe(
                self.subject, durable=self.durable, stream=self.stream, config=config
            )

    async def take(self, process: Process, wait: float, lock: asyncio.Lock | None = None) -> bool:
        """Process one batch; False when none came within ``wait`` seconds."""
        try:
            messages = await self._subscription.fetch(self.batch_size, timeout=wait)
        except (NatsTimeoutError, TimeoutError):
            return False
        if not messages:  # nats-py may answer an expired pull with no messages
            return False
        done = await asyncio.to_thread(self.position)
        fresh = [m for m in messages if m.metadata.sequence.stream > done]
        try:
            if fresh:
                if lock is None:
                    await process(fresh)
                else:
                    async with lock:
                        await process(fresh)
        except Exception as error:
            RETRIES.labels(self.durable).inc()
            log.warning("%s: batch failed (%s: %s); retrying in %.1fs",
                        self.durable, type(error).__name__, error, self._backoff)  # fmt: skip
            await asyncio.gather(*(m.nak(delay=self._backoff) for m in messages))
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, 10.0)
            return True
        self._backoff = 0.1
        await messages[-1].ack()  # AckPolicy.ALL: acks the batch
        BATCH.labels(self.durable).observe(len(messages))
        return True
