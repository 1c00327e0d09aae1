"""A durable JetStream pull consumer whose effects are tracked in PostgreSQL.

The tracking record (the last stream sequence whose effect is committed) is the truth; the
JetStream consumer is only a cursor, re-created at every start from the tracked position,
so it can never be ahead of what is committed. Messages are handled strictly in order, one
batch at a time:

- fetch a batch; skip what is at or below the tracked position (a redelivery);
- process the rest: their effects and the tracking record of the last one commit together;
- ack the batch's last message (``AckPolicy.ALL``) only after that commit.

A batch that fails for a transient reason (database or NATS unreachable, a timeout) is
retried, the same messages and nothing after them, with a growing delay, for as long as it
takes. A batch that fails otherwise is taken apart: each message alone, and one that still
fails is a poison message, sent down the one dead-letter path with its reason, its position
tracked, and acked. Nothing is skipped that was not committed or dead-lettered.

A consumer of the events stream (``events_namespace``) also knows each event by its
source: ``Nats-Msg-Id: <service>:<notification id>`` must name the service of its subject
(else it is dead-lettered as ``source_mismatch``), and the last notification it took of
each service is tracked with every commit (``SourcedTracking``). So an event the relay
published again (a refill of a stream that lost events) is skipped as a repeat, and one
whose ``Spn-Previous`` it has not taken yet waits for the refill that brings the events
before it. Its stream position is tracked per epoch of the stream (``<stream>@<epoch>``):
a stream deleted and made again starts over from its first message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import psycopg_pool
from eventsourcing.persistence import InterfaceError, OperationalError, Tracking
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.subjects import event_source, events_stream, events_wildcard
from services.shared.dead_letters import DeadLetters, Source
from services.shared.eventstore import forget_cached
from services.shared.read_models import SourcedTracking
from services.shared.sources import RefillRequests, Verdict, claimed
from services.shared.streams import tracking_name
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError,  # eventsourcing's wrappers
    psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout,
    NatsError, TimeoutError, ConnectionError,
)  # fmt: skip
# Not IntegrityError: a conflict succeeds when the batch is tried again on fresh state (the
# message-by-message retries do that), and a broken constraint never does (poison).
POISON_ATTEMPTS = 3  # a message failing this often (not an outage) is dead-lettered

Process = Callable[[list[Msg]], Awaitable[None]]
SOURCE_MISMATCH = "source_mismatch"


class StreamReplacedError(RuntimeError):
    """The stream was deleted and made again while the consumer subscribed to it."""


class SourceMismatchError(ValueError):
    """An event whose ``Nats-Msg-Id`` does not name the service its subject belongs to."""


def is_transient(error: BaseException) -> bool:
    """An outage or a timeout: the same message may succeed later."""
    return isinstance(error, TRANSIENT)


def sequence(message: Msg) -> int:
    return int(message.metadata.sequence.stream)


def source_of(message: Msg, tracked_as: str | None = None) -> Source:
    return Source(message.metadata.stream, sequence(message), message.subject, message.data,
                  tracked_as if tracked_as != message.metadata.stream else None)  # fmt: skip


class Backoff:
    def __init__(self, first: float = 0.1, most: float = 10.0):
        self.first, self.most, self.delay = first, most, first

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, self.most)

    def reset(self) -> None:
        self.delay = self.first


class PullConsumer:
    def __init__(
        self,
        js: JetStreamContext,
        *,
        stream: str,
        subject: str,
        durable: str,
        position: Callable[[str], int],
        skip: Callable[[Tracking], None],
        forget: Callable[[], None] = lambda: None,
        dead_letters: DeadLetters,
        batch_size: int = 500,
        ack_wait: float = 300,
        heartbeat: Heartbeat | None = None,
        events_namespace: str | None = None,
    ):
        """``position(name)``: the last tracked of a tracking name; ``skip(tracking)``:
        store a tracking record alone (a dead-lettered message's)."""
        self.js = js
        self.stream = stream
        self.subject = subject
        self.durable = durable
        self.position = position
        self.skip = skip
        self.events_namespace = events_namespace
        self.tracking_name = stream  # of its stream position: ``<stream>@<epoch>`` if sourced
        self._sources: dict[str, int] = {}  # service -> last notification taken (loaded)
        self.gaps: dict[str, int] = {}  # service -> last taken, where the stream lacks one
        self._legacy = False  # tracked on a stream from before sources were (no epoch)
        self._refills = RefillRequests(js, events_namespace) if events_namespace else None
        self._running: list[Msg] = []  # what ``process`` was handed
        self._handed = 0  # the position of the last tracking record handed out for it
        self.forget = forget
        self.dead_letters = dead_letters.of(durable)
        self.metrics = dead_letters.metrics  # the service's, shared with its dead letters
        self.metrics.consumer_started(durable)
        self.batch_size = batch_size
        self.ack_wait = ack_wait
        self.heartbeat = heartbeat or Heartbeat()
        self._subscription: Any = None
        self._done = 0
        self._last = 0
        self._backoff = Backoff()

    async def subscribe(self) -> None:
        """(Re)create the durable consumer at the message after the tracked position."""
        await self._drop_subscription()
        if self.events_namespace is not None:
            self.tracking_name = await self._tracking_name()
        self._done = await asyncio.to_thread(self.position, self.tracking_name)
        self._sources = {}
        # a stream without an epoch was made before sources were tracked: what a consumer
        # took of it before then has no source row, and a service's next event follows it
        self._legacy = self.events_namespace is not None and self._done > 0 and \
            self.tracking_name == self.stream  # fmt: skip
        with contextlib.suppress(NotFoundError):
            await self.js.delete_consumer(self.stream, self.durable)
        config = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._done + 1,
            ack_policy=AckPolicy.ALL, ack_wait=self.ack_wait,
            max_ack_pending=self.batch_size * 4,
        )  # fmt: skip
        self._subscription = await self.js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=config
        )
        if self.events_namespace is not None and await self._tracking_name() != self.tracking_name:
            await self._drop_subscription()  # made again meanwhile: start again
            raise StreamReplacedError(f"{self.stream} was made again while subscribing")
        log.info("%s: consuming %s after sequence %d", self.durable, self.stream, self._done)

    def source_of(self, message: Msg) -> Source:
        """Where a message came from, for its dead letter."""
        return source_of(message, self.tracking_name)

    async def _tracking_name(self) -> str:
        return await tracking_name(self.js, self.stream)

    def tracking(self, upto: int) -> Tracking:
        """The tracking record of the messages handed to ``process`` up to stream sequence
        ``upto``: that position, and each source's last event among them since the record
        handed out before (``process`` may commit in runs, each with its record)."""
        since, self._handed = self._handed, upto
        if self.events_namespace is None:
            return Tracking(self.tracking_name, upto)
        last: dict[str, int] = {}
        for message in self._running:
            found = event_source((message.headers or {}).get("Nats-Msg-Id", ""))
            if found is not None and since < sequence(message) <= upto:
                last[found[0]] = max(last.get(found[0], 0), found[1])
        return SourcedTracking(self.tracking_name, upto, tuple(
            Tracking(f"{self.stream}/{service}", n) for service, n in sorted(last.items())))

    async def take(self, process: Process, wait: float, lock: asyncio.Lock | None = None) -> bool:
        """Process one batch to the end; False when none came within ``wait`` seconds.

        Raises only when NATS or the database cannot be reached to fetch or to read the
        position: the caller backs off (``recover``) and calls again."""
        with self.heartbeat.busy():
            taken = await self._take(process, wait, lock)
        self.heartbeat.well()
        self._backoff.reset()
        return taken

    async def _take(self, process: Process, wait: float, lock: asyncio.Lock | None) -> bool:
        if self._subscription is None:
            await self.subscribe()
        try:
            messages = await self._subscription.fetch(self.batch_size, timeout=wait)
        except (NatsTimeoutError, TimeoutError):
            messages = []
        except Exception:
            await self._drop_subscription()  # re-created from the tracked position next time
            raise
        if not messages:  # nats-py may answer an expired pull with no messages
            for service, taken in list(self.gaps.items()):  # caught up, and still lacking
                await self._ask_refill(service, taken)
            return False
        fresh = [m for m in messages if sequence(m) > self._done]
        self._last = sequence(messages[-1])
        labels = (self.metrics.service, self.durable)
        self.metrics.received.labels(*labels).inc(len(messages))
        self.metrics.batch_size.labels(*labels).observe(len(messages))
        started = time.perf_counter()
        runs, skipped_last = await self._runs(fresh)
        for run, mismatch in runs:
            if run:
                await self._settle(process, run, lock)
                self.metrics.processed.labels(*labels).inc(len(run))
            if mismatch is not None:
                await self._mismatched(mismatch)
        if skipped_last:  # the batch ended in repeats or gaps
            await self._track_skipped(sequence(fresh[-1]))
        if fresh:
            self.metrics.batch_seconds.labels(*labels).observe(time.perf_counter() - started)
        self._done = max(self._done, self._last)
        await self._ack(messages[-1])
        return True

    async def _runs(self, fresh: list[Msg]) -> tuple[list[tuple[list[Msg], Msg | None]], bool]:
        """The messages to process, in runs, each ended by one whose source does not match
        its subject (or by the batch's end); repeats and gaps left out. And whether the
        last message is one of those left out."""
        if self.events_namespace is None:
            return [(fresh, None)], False
        runs: list[tuple[list[Msg], Msg | None]] = []
        run: list[Msg] = []
        skipped = False
        for message in fresh:
            event = claimed(self.events_namespace, message.subject, message.headers)
            skipped = False
            if event is None:
                runs.append((run, message))
                run = []
                continue
            taken = await self._source_position(event.service)
            if taken == 0 and self._legacy and event.previous is not None:
                taken = event.previous  # it took the events before this one, untracked
            verdict = event.verdict(taken)
            if verdict is Verdict.GAP and event.service not in self.gaps:
                log.warning("%s: %s event %d follows %s, but the last taken is %d: asking "
                            "for a refill", self.durable, event.service,
                            event.notification, event.previous, taken)  # fmt: skip
                self.gaps[event.service] = taken
                await self._ask_refill(event.service, taken)
            if verdict is Verdict.TAKE:
                self._sources[event.service] = event.notification
                self.gaps.pop(event.service, None)
                run.append(message)
            else:
                skipped = True
                self.metrics.skipped.labels(
                    self.metrics.service, self.durable, verdict.value).inc()
        runs.append((run, None))
        return runs, skipped

    async def _ask_refill(self, service: str, after: int) -> None:
        assert self._refills is not None
        try:
            await self._refills.ask(service, after)
        except Exception as error:  # asked again at the next gap
            log.warning("%s: refill request to %s failed: %s", self.durable, service, error)

    async def _track_skipped(self, seq: int) -> None:
        """The position past repeats and gaps that end a batch (a refill may be long: the
        tracked position is where a rebuild reads the stream to)."""
        while True:
            try:
                self._running, self._handed = [], 0
                await asyncio.to_thread(self.skip, self.tracking(seq))
                return
            except Exception as outage:
                if not is_transient(outage):
                    raise
                await self._retry_later([], outage)

    async def _source_position(self, service: str) -> int:
        if service not in self._sources:
            self._sources[service] = await asyncio.to_thread(
                self.position, f"{self.stream}/{service}"
            )
        return self._sources[service]

    async def _mismatched(self, message: Msg) -> None:
        msg_id = (message.headers or {}).get("Nats-Msg-Id", "")
        claimed = f"Nats-Msg-Id {msg_id!r}" if msg_id else "no Nats-Msg-Id"
        await self._dead_letter(message, SourceMismatchError(
            f"{claimed} does not name the service of subject {message.subject}"))

    async def run(self, process: Process, wait: float = 0.5) -> None:
        """Take batches until cancelled, surviving any outage."""
        while True:
            try:
                await self.take(process, wait)
            except Exception as error:
                await self.recover(error)

    async def recover(self, error: Exception) -> None:
        """After a failed fetch or position read: log, back off, re-subscribe next time."""
        log.warning("%s: cannot fetch (%s: %s); retrying in %.1fs",
                    self.durable, type(error).__name__, error, self._backoff.delay)  # fmt: skip
        await self._drop_subscription()
        self.heartbeat.trouble(f"{type(error).__name__}: {error}")
        await self._backoff.wait()

    async def measure_lag(self) -> int | None:
        """Messages of its subjects after the tracked position: those the server has not
        delivered yet and those delivered but not committed (acked only after the commit).
        None (and the gauge left as it was) while it is not subscribed."""
        if self._subscription is None:
            return None
        info = await self._subscription.consumer_info()
        lag = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        self.metrics.consumer_lag.labels(self.metrics.service, self.durable).set(lag)
        return lag

    async def pending(self) -> int:
        """Messages the server holds for this consumer that it has not yet delivered."""
        if self._subscription is None:
            await self.subscribe()
        info = await self._subscription.consumer_info()
        return int(info.num_pending or 0)

    async def _drop_subscription(self) -> None:
        old, self._subscription = self._subscription, None
        if old is not None:
            try:
                await old.unsubscribe()
            except Exception as error:  # the connection is gone: nothing left to drop
                log.debug("%s: unsubscribe failed: %s", self.durable, error)

    # -- one batch -------------------------------------------------------------------------

    async def _settle(self, process: Process, batch: list[Msg], lock: asyncio.Lock | None) -> None:
        """Until the batch's effects (or its poison's dead letters) are committed."""
        end = sequence(batch[-1])
        while batch:
            try:
                await self._run(process, batch, lock)
                break
            except Exception as error:
                if not is_transient(error):
                    log.warning("%s: batch of %d failed (%s: %s); taking it message by message",
                                self.durable, len(batch), type(error).__name__, error)  # fmt: skip
                    await self._isolate(process, await self._not_done(batch), lock)
                    break
                await self._retry_later(batch, error)
                batch = await self._not_done(batch)
        self._backoff.reset()
        self._done = max(self._done, end)

    async def _isolate(self, process: Process, batch: list[Msg], lock: asyncio.Lock | None) -> None:
        for message in batch:
            failures = 0
            while sequence(message) > self._done:
                try:
                    await self._run(process, [message], lock)
                    break
                except Exception as error:
                    if is_transient(error):
                        await self._retry_later([message], error)
                    else:
                        failures += 1
                        if failures >= POISON_ATTEMPTS:
                            await self._dead_letter(message, error)
                            break
                    await self._not_done([message])

    async def _not_done(self, batch: list[Msg]) -> list[Msg]:
        """After a failure: what of the batch is still to do. Part of it may have committed
        (a process that commits in runs; a commit whose reply was lost), so the position is
        read again; cached state may be stale, so it is forgotten."""
        while True:
            try:
                await asyncio.to_thread(self.forget)
                self._done = await asyncio.to_thread(self.position, self.tracking_name)
                return [m for m in batch if sequence(m) > self._done]
            except Exception as error:
                if not is_transient(error):
                    raise
                await self._retry_later(batch, error)

    async def _dead_letter(self, message: Msg, error: Exception) -> None:
        reason = ("invalid_payload" if isinstance(error, ValidationError) else
                  SOURCE_MISMATCH if isinstance(error, SourceMismatchError) else
                  "processing_failed")  # fmt: skip
        log.error("%s: message %d is poison (%s: %s); dead-lettered as %s",
                  self.durable, sequence(message), type(error).__name__, error, reason)  # fmt: skip
        while True:  # the letter and the tracked position must both be stored
            try:
                await self.dead_letters.publish(
                    reason, f"{type(error).__name__}: {error}", self.source_of(message)
                )
                self._running = [] if isinstance(error, SourceMismatchError) else [message]
                self._handed = 0
                await asyncio.to_thread(self.skip, self.tracking(sequence(message)))
                return
            except Exception as outage:
                if not is_transient(outage):
                    raise
                await self._retry_later([message], outage)

    async def _run(self, process: Process, batch: list[Msg], lock: asyncio.Lock | None) -> None:
        self._running, self._handed = batch, 0
        if lock is None:
            await process(batch)
        else:
            async with lock:
                await process(batch)

    async def _retry_later(self, batch: list[Msg], error: BaseException) -> None:
        self.metrics.retries.labels(self.metrics.service, self.durable).inc()
        log.warning("%s: batch of %d failed (%s: %s); retrying in %.1fs",
                    self.durable, len(batch), type(error).__name__, error,
                    self._backoff.delay)  # fmt: skip
        self.heartbeat.trouble(f"{type(error).__name__}: {error}")
        try:  # keep the messages ours while we retry (no redelivery meanwhile)
            await asyncio.gather(*(m.in_progress() for m in batch))
        except Exception as nats_down:
            log.debug("%s: in_progress failed: %s", self.durable, nats_down)
        await self._backoff.wait()

    async def _ack(self, message: Msg) -> None:
        """Ack after commit; a lost ack only means a redelivery, which is skipped."""
        try:
            await message.ack()
        except Exception as error:
            log.warning("%s: ack of %d failed (%s); it will be redelivered and skipped",
                        self.durable, sequence(message), error)  # fmt: skip


def events_consumer(
    js: JetStreamContext,
    app: Any,
    namespace: str,
    durable: str,
    skip: Callable[[Tracking], None],
    dead_letters: DeadLetters,
    batch_size: int = 500,
    ack_wait: float = 300,
    service: str | None = None,
    heartbeat: Heartbeat | None = None,
) -> PullConsumer:
    """A durable consumer of the integration events of the namespace (``SPN_EVENTS``),
    every service's or one ``service``'s, from the application's tracked position
    (``app.position(name)``), forgetting its cached aggregates after a failed batch."""
    return PullConsumer(
        js, stream=events_stream(namespace), subject=events_wildcard(namespace, service),
        durable=durable, position=app.position, skip=skip, forget=lambda: forget_cached(app),
        dead_letters=dead_letters, batch_size=batch_size, ack_wait=ack_wait,
        heartbeat=heartbeat, events_namespace=namespace,
    )  # fmt: skip
