"""Reading the events stream from one sequence to another through an ephemeral consumer
(a rebuild of the read models other services' events feed): every message in order, or
``StreamGapError`` naming what the stream no longer holds."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, NotFoundError

from contracts.subjects import events_stream, events_wildcard, rebuild_consumer
from services.shared.streams import tracking_name

log = logging.getLogger(__name__)

BATCH = 1000
WAIT = 5.0  # seconds a fetch may wait for messages the stream says it holds
TRIES = 3  # fetches in a row that bring nothing before the stream is said to lack them


class StreamGapError(RuntimeError):
    """The stream lacks messages a rebuild needs (retention, a purge, a deletion)."""


@dataclass(frozen=True)
class Message:
    subject: str  # the whole subject
    relative: str  # below the namespace
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Batch:
    messages: list[Message]
    last: int  # the stream sequence of its last message


class StreamReader:
    def __init__(self, js: JetStreamContext, namespace: str, service: str):
        self.js = js
        self.namespace = namespace
        self.consumer = rebuild_consumer(service)  # its name: the service may make only it
        self.stream = events_stream(namespace)

    async def tracking_name(self) -> str:
        """The name its consumers track their position in the stream under."""
        return await tracking_name(self.js, self.stream)

    async def read(self, first: int, last: int, sparse: bool = False
                   ) -> AsyncIterator[Batch]:  # fmt: skip
        """Messages ``first`` to ``last`` of the stream, in order; ``sparse``: those of
        them the stream holds (it may lack some: a purge, deletions), the caller judging
        what is missing."""
        try:
            state = (await self.js.stream_info(self.stream)).state
        except NotFoundError:
            raise StreamGapError(f"{self.stream} does not exist (deleted, and not yet made "
                                 "again by a relay)") from None  # fmt: skip
        if sparse:
            first, last = max(first, state.first_seq), min(last, state.last_seq)
            if first > last or state.messages == 0:
                return
        if state.first_seq > first:
            raise StreamGapError(
                f"{self.stream} begins at message {state.first_seq:,}: messages {first:,} to "
                f"{state.first_seq - 1:,} are gone (retention or a purge)")  # fmt: skip
        if state.last_seq < last:
            raise StreamGapError(
                f"{self.stream} ends at message {state.last_seq:,}, before message {last:,} "
                "the service has already taken (the stream was truncated or replaced)")  # fmt: skip
        config = ConsumerConfig(
            name=self.consumer, filter_subject=events_wildcard(self.namespace),
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=first,
            ack_policy=AckPolicy.NONE, inactive_threshold=60.0, mem_storage=True,
        )  # fmt: skip
        with contextlib.suppress(NotFoundError):  # one left by a rebuild cut short
            await self.js.delete_consumer(self.stream, self.consumer)
        # made by name (pull_subscribe would name it at random, which the service's NATS
        # user may not), then bound to
        await self.js.add_consumer(self.stream, config=config)
        subscription = await self.js.pull_subscribe_bind(stream=self.stream, name=self.consumer)
        info = await subscription.consumer_info()
        consumer = info.name
        try:
            if sparse and not info.num_pending:  # what is left of the range was deleted
                return
            expected = first
            while expected <= last:
                batch = await self._fetch(subscription, min(BATCH, last - expected + 1))
                messages: list[Message] = []
                for message in batch:
                    seq = message.metadata.sequence.stream
                    if seq > last:
                        break
                    if seq != expected and not sparse:
                        raise StreamGapError(
                            f"{self.stream} lacks messages {expected:,} to {seq - 1:,} "
                            "(deleted)")  # fmt: skip
                    messages.append(Message(
                        message.subject, message.subject.removeprefix(self.namespace + "."),
                        message.data, dict(message.headers or {})))  # fmt: skip
                    expected = seq + 1
                yield Batch(messages, expected - 1)
                if sparse and batch and batch[-1].metadata.num_pending == 0:
                    break  # it holds no more
                if batch and batch[-1].metadata.sequence.stream > last:
                    if expected <= last and not sparse:
                        raise StreamGapError(f"{self.stream} lacks messages {expected:,} to "
                                             f"{last:,} (deleted)")  # fmt: skip
                    break
        finally:
            await self._remove(subscription, consumer)

    async def _remove(self, subscription: JetStreamContext.PullSubscription, consumer: str
                      ) -> None:  # fmt: skip
        """The ephemeral consumer deleted now (else the server drops it once inactive)."""
        try:
            await subscription.unsubscribe()
            await self.js.delete_consumer(self.stream, consumer)
        except (NatsError, TimeoutError) as error:  # it goes by itself after a minute
            log.warning("%s: ephemeral consumer %s not deleted: %s", self.stream, consumer, error)

    async def _fetch(self, subscription: JetStreamContext.PullSubscription, count: int
                     ) -> list:  # type: ignore[type-arg]  # fmt: skip
        for _ in range(TRIES):
            try:
                found = await subscription.fetch(count, timeout=WAIT)
            except (TimeoutError, APIError):  # nats-py's, asyncio's, or the server's 408
                continue
            if found:
                return found
        raise StreamGapError(f"{self.stream} gave no message within {WAIT * TRIES:.0f}s where "
                             "its state says it holds some")  # fmt: skip
