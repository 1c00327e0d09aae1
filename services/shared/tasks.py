"""Background tasks that are never lost: each runs under a supervisor that restarts it with
a growing delay when it ends, and each tells the health check how it is doing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from services.shared.metrics import ServiceMetrics

T = TypeVar("T")

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, None]]


def _stamp(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")


class Heartbeat:
    """What a long-running loop is doing: idle, busy (since when, last sign of progress), or
    retrying after an error. Safe to read from any thread."""

    def __init__(self) -> None:
        self.busy_since: float | None = None
        self.last_beat = time.monotonic()
        self.problem: str | None = None
        self._problem_since = 0.0

    def beat(self) -> None:
        self.last_beat = time.monotonic()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        self.busy_since, self.last_beat = time.time(), time.monotonic()
        try:
            yield
        finally:
            self.busy_since = None

    def trouble(self, what: str) -> None:
        """A retry is under way (cleared by ``well``)."""
        if self.problem is None:
            self._problem_since = time.time()
        self.problem = what
        self.beat()

    def well(self) -> None:
        self.problem = None

    def check(self, stuck_after: float) -> str:
        """``ok``, or what is wrong."""
        if self.problem is not None:
            return f"retrying since {_stamp(self._problem_since)}: {self.problem}"
        silent = time.monotonic() - self.last_beat
        if self.busy_since is not None and silent > stuck_after:
            since = _stamp(time.time() - silent)
            return f"stuck since {since} (busy since {_stamp(self.busy_since)})"
        return "ok"


class TaskSupervisor:
    """Runs each task; one that ends (an error, or returning) is logged, counted and
    started again after a growing delay, until the supervisor is stopped."""

    def __init__(self, metrics: ServiceMetrics, stuck_after: float = 120):
        self.service = metrics.service
        self.stuck_after = stuck_after
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._heartbeats: dict[str, Heartbeat] = {}
        self._restarting: dict[str, str] = {}
        self._metrics = metrics
        self._restarts = metrics.task_restarts

    def start(self, name: str, factory: TaskFactory, heartbeat: Heartbeat | None = None) -> None:
        self._heartbeats[name] = heartbeat or Heartbeat()
        self._metrics.task_started(name)
        task = asyncio.create_task(self._supervise(name, factory), name=f"{self.service}-{name}")
        self._tasks[name] = task

    def checks(self) -> dict[str, str]:
        found = {}
        for name, task in self._tasks.items():
            if task.done():
                found[name] = "stopped"
            elif name in self._restarting:
                found[name] = self._restarting[name]
            else:
                found[name] = self._heartbeats[name].check(self.stuck_after)
        return found

    async def stop(self) -> None:
        """Cancel every task, again if one swallowed it (a library may), never waiting long:
        stopping must not hang."""
        pending = set(self._tasks.values())
        for _ in range(10):
            for task in pending:
                task.cancel()
            if not pending:
                break
            _, pending = await asyncio.wait(pending, timeout=1.0)
        for task in pending:
            log.error("%s: %s did not stop", self.service, task.get_name())
        self._tasks.clear()

    async def _supervise(self, name: str, factory: TaskFactory) -> None:
        delay = 0.5
        while True:
            started = time.monotonic()
            try:
                await factory()
                why = "it returned"
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is None or current.cancelling():
                    raise  # we are being stopped
                why = "CancelledError (a cancellation leaked from a library)"
                log.error("%s: task %s was cancelled from within; restarting in %.1fs",
                          self.service, name, delay)  # fmt: skip
            except Exception as error:
                why = f"{type(error).__name__}: {error}"
                log.error("%s: task %s failed; restarting in %.1fs", self.service, name, delay,
                          exc_info=error)  # fmt: skip
            else:
                log.error("%s: task %s ended; restarting in %.1fs", self.service, name, delay)
            self._restarts.labels(self.service, name).inc()
            self._restarting[name] = f"restarting since {_stamp(time.time())}: {why}"
            if time.monotonic() - started > 60:
                delay = 0.5  # it had been running a while: not a crash loop
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)
            self._restarting.pop(name, None)


async def in_thread_under(lock: asyncio.Lock, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)`` in a worker thread, holding ``lock`` until the thread is done, even
    when the caller is cancelled meanwhile (a thread cannot be stopped: releasing the lock
    early would let another writer run beside it)."""
    async with lock:
        running = asyncio.ensure_future(asyncio.to_thread(call, *args))
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])
            raise
