"""A period close of any size: step by step, each step one bounded transaction under the
write lock, so reports keep flowing between steps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.shared.tasks import Heartbeat, in_thread_under
from services.status.application import CLOSE_CHUNK, CloseStep, StatusApplication


async def close_period(
    app: StatusApplication,
    period: str,
    lock: asyncio.Lock,
    on_stored: Callable[[], None],
    heartbeat: Heartbeat | None = None,
) -> tuple[bool, int]:
    """Close the period (or finish a close cut short); (whether anything changed, plans
    evaluated)."""
    changed = False
    step: CloseStep | None = None
    while True:
        # the step changes cached plans in place: the lock is held until its thread ends
        step = await in_thread_under(lock, app.close_period_step, period, CLOSE_CHUNK, step)
        if heartbeat is not None:
            heartbeat.beat()
        if step.changed:
            changed = True
            on_stored()
        if step.finished:
            return changed, step.plans_evaluated
