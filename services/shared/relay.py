"""The relay: stored events reach JetStream from the notification log, never by dual write.

It tails an eventsourcing application's notification log, translates each domain event to
its integration event, and publishes what it read as atomic batches (``batches``) to the
events stream, each message with header ``Nats-Msg-Id: <app>:<notification id>``. A batch
is stored whole and in order or not at all, so the stream never holds a later event
without the earlier ones; the relay resumes from the later of its tracked position (in
PostgreSQL) and the last message of its own in the stream, so a crash at any point
publishes nothing twice and loses nothing. A failure never skips an event: the relay logs
it, backs off, finds its position again and goes on from there.

The relay also compares the stream with its store, when it resumes and every
``check_seconds`` (not while it refills): the first and the last of its events the
stream holds must be the first and the last it published. A stream deleted (and made
again), purged or cut short is refilled from the store (from its last event there if
only the end is gone, else from its first), with ``Nats-Msg-Id`` carrying a refill mark
(``contracts.subjects.event_msg_id``); consumers skip what they already took
(``sources``). Every event names the one published before it (``Spn-Previous``); a
consumer that meets one whose predecessor it never got (the stream lost an event from its
middle) asks for a refill after the last it took (``refill_subject``), and the relay
publishes its events from there again.

A stored event whose integration event its contract now refuses (stored before a limit
the contract has since) is not published, the same way every time it is read: the relay
logs it and a dead letter ``unpublishable_event`` names it, and it goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Tracking, TrackingRecorder
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.plan_events import IntegrationEvent
from contracts.subjects import (
    PREVIOUS_HEADER,
    chain_start,
    event_mark,
    event_msg_id,
    event_source,
    events_stream,
    events_wildcard,
    refill_subject,
    subject,
)
from services.shared.batches import BatchRefusedError, Outgoing, publish_batch, split
from services.shared.dead_letters import DeadLetters, Source
from services.shared.metrics import ServiceMetrics
from services.shared.replies import first_problem
from services.shared.streams import ensure_events_stream
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)

Translate = Callable[[Any], IntegrationEvent | None]


class RelayPositionError(RuntimeError):
    """The stream holds events this event store never stored: wrong database or stream."""


REFILL_QUIET = 10.0  # seconds after a refill asked for in which a request it covers is left


@dataclass(frozen=True)
class Resumption:
    """Where the relay goes on: after ``position``, the last event of its own the stream
    holds being ``previous``, its ids carrying ``mark`` (None: plain ids)."""

    position: int
    previous: int
    mark: str | None = None


@dataclass(frozen=True)
class Unpublishable:
    """A stored event whose integration event its contract refuses."""

    notification_id: int
    topic: str
    problem: str


class Relay:
    def __init__(
        self,
        *,
        app: Application[Any],
        translate: Translate,
        nc: Client,
        js: JetStreamContext,
        namespace: str,
        tracking: TrackingRecorder,
        metrics: ServiceMetrics,
        batch_size: int = 1000,
        publish_timeout: float = 10.0,
        idle_seconds: float = 0.5,
        max_backoff: float = 5.0,
        check_seconds: float = 30.0,
        dead_letters: DeadLetters | None = None,
    ):
        self._app = app
        self._dead_letters = dead_letters
        self._translate = translate
        self._nc = nc
        self._js = js
        self._namespace = namespace
        self._stream = events_stream(namespace)
        self._tracking = tracking
        self._metrics = metrics
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout
        self._idle_seconds = idle_seconds
        self._max_backoff = max_backoff
        self._check_seconds = check_seconds
        self._checked = 0.0  # time.monotonic() of the last comparison with the stream
        self._previous = 0  # the last event of its own published
        self._mark: str | None = None  # of the ids it publishes (a refill's)
        self._tracked = 0  # the tracked position when it resumed (a refill goes below it)
        self._first_published: int | None = None  # cached: a store's first never changes
        self._none_upto = 0  # notifications read up to here, none of them published
        self._asked: int | None = None  # a consumer asked for its events after this one
        self._refilling = (0, 0, -REFILL_QUIET)  # the last refill asked: from, up to, when
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.position = 0
        self._resumed = False  # the position is known
        self.heartbeat = Heartbeat()

    def wake(self) -> None:
        """Tell the relay new events were stored; safe from any thread (it also polls)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Relay until cancelled."""
        self._loop = asyncio.get_running_loop()
        requests = await self._nc.subscribe(
            refill_subject(self._namespace, self._app.name), cb=self._on_refill_request
        )
        try:
            await self._run()
        finally:
            try:
                await requests.unsubscribe()
            except Exception as error:  # the connection is gone: nothing left to drop
                log.debug("relay %s: unsubscribe failed: %s", self._app.name, error)

    async def _run(self) -> None:
        await self._resume_and_track(await self.resumption())
        self._resumed = True
        log.info("relay %s resuming after notification %d", self._app.name, self.position)
        backoff, lost_place = 0.1, False
        while True:
            try:
                with self.heartbeat.busy():
                    if lost_place or self._check_due():  # what failed may be stored
                        await self._resume_and_track(await self.resumption())
                        lost_place = False
                    asked = self._asked
                    if asked is not None and asked < self.position:
                        self._resume(await self._refill_after(asked))
                    relayed = await self._relay_batch()
                    if asked is not None and self._asked == asked:  # its first batch is out
                        self._asked = None
            except (RelayPositionError, asyncio.CancelledError):
                raise
            except Exception as error:
                if isinstance(error, BatchRefusedError) and error.duplicate:
                    log.info("relay %s: a batch was stored already (its acknowledgement was "
                             "lost); going on from the stream", self._app.name)  # fmt: skip
                    await asyncio.sleep(0.1)  # never a tight loop, whatever the stream says
                    lost_place = True
                    continue
                self.heartbeat.trouble(f"{type(error).__name__}: {error}")
                self._metrics.relay_failures.labels(self._metrics.service).inc()
                log.exception(
                    "relay %s: notification %d failed; retrying in %.1fs",
                    self._app.name, self.position + 1, backoff,
                )  # fmt: skip
                await asyncio.sleep(backoff)
                backoff, lost_place = min(backoff * 2, self._max_backoff), True
                continue
            backoff = 0.1
            self.heartbeat.well()
            if not relayed:
                await self._sleep_until_woken()

    async def resume_position(self) -> int:
        return (await self.resumption()).position

    async def resumption(self) -> Resumption:
        """Where to go on: after the later of the tracked position and the stream's last
        event of its own, unless the stream lacks events it published; then from the last
        it holds if only the end is gone, else from the first. Makes the stream again if
        it is gone."""
        self._checked = time.monotonic()
        await ensure_events_stream(self._js, self._namespace)
        tracked = await asyncio.to_thread(self._tracking.max_tracking_id, self._app.name) or 0
        last, mark = await self._last_in_stream()
        stored = await asyncio.to_thread(self._app.recorder.max_notification_id) or 0
        if last > stored:
            raise RelayPositionError(
                f"stream {self._stream} already holds {self._app.name} event {last}, but "
                f"this event store has only {stored}: is the service pointed at another "
                "database than the one that filled the stream?"
            )
        self._tracked = tracked
        position = max(tracked, last)
        published = await asyncio.to_thread(self._published_range, position)
        first = await self._first_in_stream(chain_start(mark))
        if published is None or (first, last) == published:
            return Resumption(position, last, mark)
        cut_short = last > 0 and first == published[0]
        log.warning(
            "relay %s: stream %s holds events %s to %s of the %s to %s published; refilling "
            "from %d", self._app.name, self._stream, first or "none", last or "none",
            published[0], published[1], (last if cut_short else published[0] - 1) + 1,
        )  # fmt: skip
        self._metrics.relay_refills.labels(self._metrics.service).inc()
        if cut_short:  # the chain goes on, under ids JetStream has not seen
            return Resumption(last, last, await self._continued(mark))
        return Resumption(published[0] - 1, 0, str(await self._stream_last_seq()))

    async def _on_refill_request(self, message: Msg) -> None:
        """A consumer lacks events after ``after``: publish them again (once for a run of
        requests: one asking for what a refill under way brings is left)."""
        try:
            after = int(json.loads(message.data)["after"])
        except (ValueError, KeyError, TypeError) as error:
            log.warning("relay %s: a refill request it cannot read (%s)", self._app.name, error)
            return
        start, until, when = self._refilling
        under_way = self.position < until or time.monotonic() - when < REFILL_QUIET
        if after < 0 or after >= max(self.position, self._tracked) or (
                start <= after and under_way):  # fmt: skip
            return
        self._asked = after if self._asked is None else min(self._asked, after)
        self.wake()

    async def _refill_after(self, after: int) -> Resumption:
        mark = await self._continued(self._mark)
        log.warning("relay %s: a consumer lacks events after %d; publishing them again",
                    self._app.name, after)  # fmt: skip
        self._metrics.relay_refills.labels(self._metrics.service).inc()
        until = max(self.position, self._tracked, self._refilling[1])
        self._refilling = (after, until, time.monotonic())
        return Resumption(after, after, mark)

    async def _continued(self, mark: str | None) -> str:
        """The mark of events that go on the chain of ``mark`` (a new one: JetStream may
        remember the ids published under the old)."""
        return f"{chain_start(mark) - 1}.{await self._stream_last_seq()}"

    async def _stream_last_seq(self) -> int:
        return int((await self._js.stream_info(self._stream)).state.last_seq)

    def _resume(self, resumption: Resumption) -> None:
        self._advance(resumption.position)
        self._previous, self._mark = resumption.previous, resumption.mark

    async def _resume_and_track(self, resumption: Resumption) -> None:
        """Go on from ``resumption``, and record its position if the stream showed it past
        the one recorded (a crash or a lost PubAck between publishing and recording):
        else the tracking lags until the next event, and a lag read from it is false."""
        self._resume(resumption)
        await self._track()

    async def _track(self) -> None:
        """Record the position, if past the one recorded (below it: a refill under way)."""
        if self.position > self._tracked:
            await asyncio.to_thread(
                self._tracking.insert_tracking, Tracking(self._app.name, self.position)
            )
            self._tracked = self.position

    def _check_due(self) -> bool:
        """Time to compare the stream with the store again (not while a refill is under
        way: the stream lacks the end it is bringing)."""
        refilling = self.position < self._tracked
        return not refilling and time.monotonic() - self._checked >= self._check_seconds

    def _published_range(self, position: int) -> tuple[int, int] | None:
        """The first and the last notification up to ``position`` that is published (None:
        none is); blocking, a worker thread's."""
        if self._first_published is None and position > self._none_upto:
            self._first_published = self._first_translated(self._none_upto + 1, position)
            if self._first_published is None:
                self._none_upto = position  # nothing published up to there: not read again
        if self._first_published is None or self._first_published > position:
            return None
        return self._first_published, self._last_translated(position)

    def _first_translated(self, start: int, upto: int) -> int | None:
        while start <= upto:
            notifications = self._app.recorder.select_notifications(
                start, self._batch_size, stop=upto
            )
            for n in notifications:
                if self._publishes(n):
                    return n.id
            if not notifications:
                return None
            start = notifications[-1].id + 1
        return None

    def _publishes(self, notification: Notification) -> bool:
        """Whether the notification is published (translates to an integration event)."""
        return isinstance(self._translated(notification), IntegrationEvent)

    def _translated(self, notification: Notification) -> IntegrationEvent | Unpublishable | None:
        """Its integration event; None for an event that has none; Unpublishable for one
        its contract no longer takes (stored before a limit the contract has now): the
        relay never stops on its own history."""
        try:
            return self._translate(self._app.mapper.to_domain_event(notification))
        except ValidationError as error:
            return Unpublishable(notification.id, notification.topic, first_problem(error))

    def _last_translated(self, upto: int) -> int:
        """The last published notification at or before ``upto`` (one is: the first)."""
        window = 64
        while True:
            start = max(upto - window + 1, 1)
            notifications = self._app.recorder.select_notifications(start, window, stop=upto)
            for n in reversed(notifications):
                if self._publishes(n):
                    return n.id
            assert self._first_published is not None and start > self._first_published
            upto, window = start - 1, min(window * 4, self._batch_size)

    async def _relay_batch(self) -> bool:
        """Publish the next notifications; False when there was nothing to relay."""
        self._wake.clear()
        translated = await asyncio.to_thread(self._next_batch)
        if not translated:
            return False
        published = [(n, m) for n, m in translated if isinstance(m, IntegrationEvent)]
        for _, refused in translated:
            if isinstance(refused, Unpublishable):
                await self._dead_letter(refused)
        numbers = [n for n, _ in published]
        done = 0
        for batch in split([self._outgoing(n, message) for n, message in published]):
            await publish_batch(self._nc, self._stream, batch, self._publish_timeout)
            self._metrics.relay_published.labels(self._metrics.service).inc(len(batch))
            done += len(batch)
            self._advance(numbers[done - 1])
        self._advance(translated[-1][0])  # and past any event that is not published
        await self._track()
        return True

    def _advance(self, notification_id: int) -> None:
        self.position = notification_id
        self._metrics.relay_position.labels(self._metrics.service).set(notification_id)

    def measure_lag(self) -> int | None:
        """Events stored that are not yet published (blocking: a worker thread's); None
        (the gauge left as it was) until the relay has found its position."""
        if not self._resumed:
            return None
        stored = self._app.recorder.max_notification_id() or 0
        lag = max(stored - self.position, 0)
        self._metrics.relay_lag.labels(self._metrics.service).set(lag)
        return lag

    def _outgoing(self, notification_id: int, message: IntegrationEvent) -> Outgoing:
        headers = {
            "Nats-Msg-Id": event_msg_id(self._app.name, notification_id, self._mark),
            "Spn-Schema": f"{message.SCHEMA_NAME}.v{message.schema_version}",
            PREVIOUS_HEADER: str(self._previous),
        }
        self._previous = notification_id
        return Outgoing(subject(self._namespace, message.SUBJECT), message.to_json(), headers)

    def _next_batch(self) -> list[tuple[int, IntegrationEvent | Unpublishable | None]]:
        """Read and translate the next notifications (blocking: runs in a worker thread)."""
        notifications = self._app.recorder.select_notifications(self.position + 1, self._batch_size)
        return [(n.id, self._translated(n)) for n in notifications]

    async def _dead_letter(self, refused: Unpublishable) -> None:
        """A stored event that is not published: logged, and a dead letter names it (it is
        not in the stream, so consumers never wait for it: it names none as its
        previous)."""
        log.error("%s relay: stored event %d (%s) is not published: %s", self._app.name,
                  refused.notification_id, refused.topic, refused.problem)  # fmt: skip
        if self._dead_letters is not None:
            await self._dead_letters.publish(
                "unpublishable_event", f"{refused.topic}: {refused.problem}",
                Source(f"{self._app.name}-store", refused.notification_id, refused.topic, b""))

    async def _last_in_stream(self) -> tuple[int, str | None]:
        """The notification id (0: none) and mark of the stream's last event of its own."""
        try:
            last = await self._js.get_last_msg(
                self._stream, events_wildcard(self._namespace, self._app.name)
            )
        except NotFoundError:
            return 0, None
        msg_id = (last.headers or {}).get("Nats-Msg-Id", "")
        return self._own_id(msg_id), event_mark(msg_id)

    async def _first_in_stream(self, start: int) -> int:
        """The notification id of the first event of its own from stream message ``start``
        on (0: none)."""
        try:
            first = await self._js.get_msg(
                self._stream, seq=start, subject=events_wildcard(self._namespace, self._app.name),
                next=True,
            )  # fmt: skip
        except NotFoundError:
            return 0
        return self._own_id((first.headers or {}).get("Nats-Msg-Id", ""))

    def _own_id(self, msg_id: str) -> int:
        found = event_source(msg_id)
        return found[1] if found is not None and found[0] == self._app.name else 0

    async def _sleep_until_woken(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as it times out, and the relay would never stop
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._idle_seconds):
                await self._wake.wait()
