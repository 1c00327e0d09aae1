"""The relay: stored events reach JetStream from the notification log, never by dual write.

It tails an eventsourcing application's notification log, translates each domain event to
its integration event, and publishes what it read as atomic batches (``batches``) to the
events stream, each message with header ``Nats-Msg-Id: <app>:<notification id>``. A batch
is stored whole and in order or not at all, so the stream never holds a later event
without the earlier ones; the relay resumes from the later of its tracked position (in
PostgreSQL) and the last message of its own in the stream, so a crash at any point
publishes nothing twice and loses nothing. A failure never skips an event: the relay logs
it, backs off, finds its position again and goes on from there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking, TrackingRecorder
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.plan_events import IntegrationEvent
from contracts.subjects import events_stream, events_wildcard, subject
from services.shared.batches import BatchRefusedError, Outgoing, publish_batch, split
from services.shared.metrics import ServiceMetrics
from services.shared.tasks import Heartbeat

log = logging.getLogger(__name__)

Translate = Callable[[Any], IntegrationEvent | None]


class RelayPositionError(RuntimeError):
    """The stream holds events this event store never stored: wrong database or stream."""


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
    ):
        self._app = app
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
        self.position = await self.resume_position()
        self._resumed = True
        log.info("relay %s resuming after notification %d", self._app.name, self.position)
        backoff, lost_place = 0.1, False
        while True:
            try:
                with self.heartbeat.busy():
                    if lost_place:  # what failed may have been stored after all
                        self.position = await self.resume_position()
                        lost_place = False
                    relayed = await self._relay_batch()
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
        tracked = await asyncio.to_thread(self._tracking.max_tracking_id, self._app.name)
        in_stream = await self._last_in_stream()
        stored = await asyncio.to_thread(self._app.recorder.max_notification_id) or 0
        if in_stream > stored:
            raise RelayPositionError(
                f"stream {self._stream} already holds {self._app.name} event {in_stream}, but "
                f"this event store has only {stored}: is the service pointed at another "
                "database than the one that filled the stream?"
            )
        return max(tracked or 0, in_stream)

    async def _relay_batch(self) -> bool:
        """Publish the next notifications; False when there was nothing to relay."""
        self._wake.clear()
        translated = await asyncio.to_thread(self._next_batch)
        if not translated:
            return False
        published = [(n, message) for n, message in translated if message is not None]
        numbers = [n for n, _ in published]
        done = 0
        for batch in split([self._outgoing(n, message) for n, message in published]):
            await publish_batch(self._nc, self._stream, batch, self._publish_timeout)
            self._metrics.relay_published.labels(self._metrics.service).inc(len(batch))
            done += len(batch)
            self._advance(numbers[done - 1])
        self._advance(translated[-1][0])  # and past any event that is not published
        await asyncio.to_thread(
            self._tracking.insert_tracking, Tracking(self._app.name, self.position)
        )
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
            "Nats-Msg-Id": f"{self._app.name}:{notification_id}",
            "Spn-Schema": f"{message.SCHEMA_NAME}.v{message.schema_version}",
        }
        return Outgoing(subject(self._namespace, message.SUBJECT), message.to_json(), headers)

    def _next_batch(self) -> list[tuple[int, IntegrationEvent | None]]:
        """Read and translate the next notifications (blocking: runs in a worker thread)."""
        notifications = self._app.recorder.select_notifications(self.position + 1, self._batch_size)
        return [(n.id, self._translate(self._app.mapper.to_domain_event(n))) for n in notifications]

    async def _last_in_stream(self) -> int:
        try:
            last = await self._js.get_last_msg(
                self._stream, events_wildcard(self._namespace, self._app.name)
            )
        except NotFoundError:
            return 0
        msg_id = (last.headers or {}).get("Nats-Msg-Id", "")
        app_name, _, number = msg_id.partition(":")
        return int(number) if app_name == self._app.name and number.isdigit() else 0

    async def _sleep_until_woken(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation
        # that arrives as it times out, and the relay would never stop
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._idle_seconds):
                await self._wake.wait()
