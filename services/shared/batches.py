"""Atomic batch publishing (JetStream, ADR-50, nats-server 2.12+).

A batch of up to 1,000 messages is stored whole and in order, or not at all: a message lost
on the way (a reconnect drops what was in the socket) leaves a gap the server refuses, and
a batch that repeats a ``Nats-Msg-Id`` still in the duplicate window is refused whole
(error 10201), so a batch that was stored but whose acknowledgement was lost is never
stored twice. The stream needs ``allow_atomic``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from nats.aio.client import Client

MAX_MESSAGES = 1000  # the server's limit per batch
MAX_BYTES = 4 * 2**20  # the server holds a batch in memory until its commit
DUPLICATE_MESSAGE_ID = 10201


@dataclass(frozen=True)
class Outgoing:
    subject: str
    body: bytes
    headers: dict[str, str]


class BatchRefusedError(Exception):
    """The server stored nothing of the batch, and said why."""

    def __init__(self, err_code: int, description: str):
        super().__init__(f"batch refused ({err_code}): {description}")
        self.err_code = err_code

    @property
    def duplicate(self) -> bool:
        """It repeats a message already stored (an earlier attempt of it got through)."""
        return self.err_code == DUPLICATE_MESSAGE_ID


def split(messages: list[Outgoing]) -> list[list[Outgoing]]:
    """Consecutive batches within the server's limits, in order."""
    batches: list[list[Outgoing]] = []
    size = 0
    for message in messages:
        length = len(message.body) + len(message.subject) + 200  # headers, roughly
        if not batches or len(batches[-1]) >= MAX_MESSAGES or size + length > MAX_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(message)
        size += length
    return batches


async def publish_batch(nc: Client, stream: str, batch: list[Outgoing], timeout: float) -> int:
    """Store ``batch`` in ``stream`` atomically; the stream sequence of its last message."""
    batch_id = uuid.uuid4().hex
    last = len(batch)
    for number, message in enumerate(batch, start=1):
        headers = {
            **message.headers,
            "Nats-Expected-Stream": stream,
            "Nats-Batch-Id": batch_id,
            "Nats-Batch-Sequence": str(number),
        }
        if number == last:
            headers["Nats-Batch-Commit"] = "1"
        if number == 1 or number == last:  # the start is confirmed, the commit acknowledged
            reply = await nc.request(message.subject, message.body, timeout, headers=headers)
            if number != last:
                _check_started(reply.data)
        else:
            await nc.publish(message.subject, message.body, headers=headers)
    return _sequence(reply.data, batch_id, last)


def _check_started(data: bytes) -> None:
    if data:  # an error, or a server that ignores batches and stored the message alone
        answer = json.loads(data)
        error = answer.get("error")
        if error:
            raise BatchRefusedError(error.get("err_code", 0), error.get("description", ""))
        raise BatchRefusedError(0, f"the server does not take atomic batches: {answer}")


def _sequence(data: bytes, batch_id: str, count: int) -> int:
    answer = json.loads(data)
    error = answer.get("error")
    if error:
        raise BatchRefusedError(error.get("err_code", 0), error.get("description", ""))
    if answer.get("batch") != batch_id or answer.get("count") != count:
        raise BatchRefusedError(0, f"unexpected acknowledgement {answer}")
    return int(answer["seq"])
