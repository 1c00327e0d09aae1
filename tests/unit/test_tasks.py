"""Supervised background tasks: restarted when they end, and honest about their state."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import CollectorRegistry

from services.shared.metrics import ServiceMetrics
from services.shared.tasks import Heartbeat, TaskSupervisor, in_thread_under


async def test_a_task_that_fails_is_restarted_and_health_says_so_meanwhile():
    runs = []
    second_run = asyncio.Event()

    async def flaky() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("boom")
        second_run.set()
        await asyncio.Event().wait()  # then runs until stopped

    supervisor = TaskSupervisor(ServiceMetrics(CollectorRegistry(), "svc"))
    supervisor.start("flaky", flaky)
    while not runs:
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert supervisor.checks()["flaky"].startswith("restarting since")
    assert "RuntimeError: boom" in supervisor.checks()["flaky"]
    await asyncio.wait_for(second_run.wait(), 5)
    assert supervisor.checks() == {"flaky": "ok"}
    await supervisor.stop()


def test_a_heartbeat_busy_without_progress_is_stuck_and_a_retry_is_reported():
    beat = Heartbeat()
    assert beat.check(stuck_after=60) == "ok"
    with beat.busy():
        assert beat.check(stuck_after=60) == "ok"
        assert beat.check(stuck_after=-1).startswith("stuck since")
    assert beat.check(stuck_after=-1) == "ok"  # idle is not stuck
    beat.trouble("OperationalError: connection refused")
    assert beat.check(stuck_after=60).startswith("retrying since")
    beat.well()
    assert beat.check(stuck_after=60) == "ok"


async def test_a_cancelled_caller_keeps_the_lock_until_its_thread_is_done():
    """A thread cannot be stopped: another writer must not run beside it."""
    lock = asyncio.Lock()
    started, release = threading.Event(), threading.Event()

    def work() -> int:
        started.set()
        release.wait(10)
        return 1

    caller = asyncio.create_task(in_thread_under(lock, work))
    await asyncio.to_thread(started.wait, 10)
    caller.cancel()
    for _ in range(20):  # let the cancellation be taken
        await asyncio.sleep(0)
    assert lock.locked() and not caller.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert not lock.locked()
