"""A period close of any size: step by step, each step one bounded transaction under the
write lock, so reports keep flowing between steps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.status.application import CloseStep, StatusApplication


async def close_period(
    app: StatusApplication, period: str, lock: asyncio.Lock, on_stored: Callable[[], None]
) -> tuple[bool, int]:
    """Close the period (or finish a close cut short); (whether anything changed, plans
    evaluated)."""
    changed = False
    while True:
        async with lock:
            step: CloseStep = await asyncio.to_thread(app.close_period_step, period)
        if step.changed:
            changed = True
            on_stored()
        if step.finished:
            return changed, step.plans_evaluated
