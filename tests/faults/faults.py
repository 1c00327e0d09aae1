"""The faults, each injected while a month's reports are being ingested and the month
before is closing; each returns once the part hurt is back."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats
from nats.js.errors import NotFoundError

from contracts.status import inbox_stream
from contracts.subjects import events_stream
from services.shared.credentials import connect_options
from tests.faults.rounds import NAMESPACE
from tests.faults.stack import ACK_WAIT, FaultStack
from tests.integration.helpers import Walk, stream_headers, walk

Inject = Callable[[FaultStack], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    name: str
    inject: Inject
    copies: int = 1  # each report sent this many times (under different message ids)
    shuffle: bool = False
    hits_deliveries: bool = False  # it must have made alert deliveries fail and be retried
    hits_stream: bool = False  # it must have made the relays refill SPN_EVENTS
    holds_unacked: bool = False  # the paused service must have held unacknowledged messages


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


def paused(part: str, seconds: float, holding: str | None = None) -> Inject:
    """SIGSTOP for ``seconds`` (longer than the ack wait), then SIGCONT, as a VM pause or a
    swap storm would; with ``holding`` (a consumer of the inbox), once it holds messages it
    fetched and has not acknowledged: they are acknowledged after their ack wait."""

    async def inject(stack: FaultStack) -> None:
        if holding is not None:
            stack.evidence.append(f"held {await stopped_mid_batch(stack, part, holding)} "
                                  "unacked")  # fmt: skip
        else:
            await asyncio.to_thread(stack.signal, part, signal.SIGSTOP)
        try:
            await asyncio.sleep(seconds)
        finally:
            await asyncio.to_thread(stack.signal, part, signal.SIGCONT)

    return inject


async def stopped_mid_batch(stack: FaultStack, part: str, consumer: str) -> int:
    """SIGSTOP ``part`` while its inbox consumer holds messages it fetched and has not
    acknowledged (a stopped process acknowledges nothing: counted after the stop; if it
    held none, SIGCONT and try again); how many (0: never within 30 s, left stopped)."""
    nc = await nats.connect(stack.nats_url, **connect_options(stack.credentials))
    try:
        js = nc.jetstream(timeout=5)
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            info = await js.consumer_info(inbox_stream(NAMESPACE), consumer)
            if info.num_ack_pending or asyncio.get_running_loop().time() > deadline:
                pid = await asyncio.to_thread(stack.signal, part, signal.SIGSTOP)
                held = int((await js.consumer_info(inbox_stream(NAMESPACE), consumer)
                            ).num_ack_pending or 0)  # fmt: skip
                if held or asyncio.get_running_loop().time() > deadline:
                    return held
                os.kill(pid, signal.SIGCONT)
            await asyncio.sleep(0.02)
    finally:
        await nc.close()


def webhook_down(seconds: float) -> Inject:
    """The LEA's webhook receiver stops listening for ``seconds``, then comes back."""

    async def inject(stack: FaultStack) -> None:
        stack.receiver.down()
        try:
            await asyncio.sleep(seconds)
        finally:
            stack.receiver.up()

    return inject


def events_lost(how: str) -> Inject:
    """SPN_EVENTS purged or deleted by a careless operator; back once the relays have
    refilled it with every event it held."""

    async def inject(stack: FaultStack) -> None:
        options = connect_options(stack.credentials)
        before = walk(NAMESPACE, await stream_headers(stack.nats_url, NAMESPACE, **options))
        nc = await nats.connect(stack.nats_url, **options)
        try:
            js = nc.jetstream()
            stream = events_stream(NAMESPACE)
            await (js.purge_stream(stream) if how == "purged" else js.delete_stream(stream))
        finally:
            await nc.close()
        deadline = asyncio.get_running_loop().time() + 120
        while asyncio.get_running_loop().time() < deadline:
            try:
                now = walk(NAMESPACE, await stream_headers(stack.nats_url, NAMESPACE, **options))
            except NotFoundError:  # not made again yet
                now = Walk()
            if all(set(ids) <= set(now.taken.get(s, [])) for s, ids in before.taken.items()):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"SPN_EVENTS {how}: not refilled within 120 s")

    return inject


def together(*injects: Inject) -> Inject:
    """Faults at the same time; back when every part is."""

    async def inject(stack: FaultStack) -> None:
        await asyncio.gather(*(one(stack) for one in injects))

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
    Fault(f"status SIGSTOP {3 * ACK_WAIT:g}s mid-batch (acked past the ack wait)",
          paused("status", 3 * ACK_WAIT, holding="status-inbox"), holds_unacked=True),
    Fault("SMTP server SIGKILLed for 5s", held_down("smtp-sink", 5), hits_deliveries=True),
    Fault("webhook receiver down 5s; SPN_EVENTS deleted meanwhile",
          together(webhook_down(5), events_lost("deleted")), hits_deliveries=True,
          hits_stream=True),
    Fault("SPN_EVENTS purged; inbox: every report twice, out of order", events_lost("purged"),
          copies=2, shuffle=True, hits_stream=True),
]
