"""The faults, each injected while a month's reports are being ingested and the month
before is closing; each returns once the part hurt is back."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.faults.stack import ACK_WAIT, FaultStack

Inject = Callable[[FaultStack], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Inject
    copies: int = 1  # each report sent this many times (under different message ids)
    shuffle: bool = False
    hits_deliveries: bool = False  # it must have made alert deliveries fail and be retried


def killed(part: str) -> Inject:
    """SIGKILL, as a crash or the OOM killer would; ``spn up`` starts it again."""

    async def inject(stack: FaultStack) -> None:
        pid = await asyncio.to_thread(stack.signal, part, signal.SIGKILL)
        await asyncio.to_thread(stack.wait_restarted, part, pid)

    return inject


def held_down(part: str, seconds: float) -> Inject:
    """SIGKILLed again each time ``spn up`` brings it back, for ``seconds``; then let be."""

    async def inject(stack: FaultStack) -> None:
        deadline = asyncio.get_running_loop().time() + seconds
        pid = 0
        while asyncio.get_running_loop().time() < deadline:
            if await asyncio.to_thread(stack.alive, part):
                pid = await asyncio.to_thread(stack.signal, part, signal.SIGKILL)
            await asyncio.sleep(0.05)
        await asyncio.to_thread(stack.wait_restarted, part, pid)

    return inject


def paused(part: str, seconds: float) -> Inject:
    """SIGSTOP for ``seconds`` (longer than the ack wait: NATS delivers its batch again),
    then SIGCONT, as a VM pause or a swap storm would."""

    async def inject(stack: FaultStack) -> None:
        await asyncio.to_thread(stack.signal, part, signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(stack.signal, part, signal.SIGCONT)

    return inject


def webhook_down(seconds: float) -> Inject:
    """The LEA's webhook receiver stops listening for ``seconds``, then comes back."""

    async def inject(stack: FaultStack) -> None:
        stack.receiver.down()
        try:
            await asyncio.sleep(seconds)
        finally:
            stack.receiver.up()

    return inject


async def nothing(stack: FaultStack) -> None:
    """No process is hurt: the messages are (duplicated and out of order)."""


FAULTS = [
    Fault("plans SIGKILL (a plan approved meanwhile)", killed("plans")),
    Fault("status SIGKILL", killed("status")),
    Fault("rollup SIGKILL", killed("rollup")),
    Fault("alerts SIGKILL", killed("alerts")),
    Fault("PostgreSQL SIGKILL", killed("postgresql")),
    Fault("nats-server SIGKILL", killed("nats")),
    Fault(f"status SIGSTOP {3 * ACK_WAIT:g}s (past the ack wait)", paused("status", 3 * ACK_WAIT)),
    Fault("SMTP server SIGKILLed for 5s", held_down("smtp-sink", 5), hits_deliveries=True),
    Fault("webhook receiver down 5s", webhook_down(5), hits_deliveries=True),
    Fault("inbox: every report twice, out of order", nothing, copies=2, shuffle=True),
]
