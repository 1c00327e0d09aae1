"""The one dead-letter path of every service: a message that can never succeed is published
to ``<namespace>.dlq.<service>.<reason>`` in the dead-letter stream with its reason and its
original body (truncated to fit the server's max payload), counted, and only then acked by
its consumer. ``Nats-Msg-Id`` is ``<service>:<source>:<sequence>``, so a retry publishes
it once (within the stream's duplicate window of a week); ``<source>`` is the name the
consumer tracks the stream under (``SPN_EVENTS@<epoch>``: a stream made again starts its
sequences over, and its letters are new ones).
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from contracts.status import DeadLetter, dead_letter_stream
from services.shared.metrics import ServiceMetrics

ENVELOPE_ROOM = 8192  # bytes kept for the letter's other fields and the headers
DUPLICATE_WINDOW_SECONDS = 7 * 24 * 3600  # a retry days later still publishes once


@dataclass(frozen=True)
class Source:
    """Where a message came from: enough to find the original again."""

    stream: str
    sequence: int
    subject: str
    body: bytes
    tracked_as: str | None = None  # the stream's tracking name, if not its own

    @property
    def letter_id(self) -> str:
        """``<source>:<sequence>`` of the letter's ``Nats-Msg-Id``."""
        return f"{self.tracked_as or self.stream}:{self.sequence}"


def letter_for(
    service: str, reason: str, message: str, source: Source, limit: int,
    report_id: str | None = None,
) -> DeadLetter:  # fmt: skip
    """The dead letter, its payload cut so the whole letter stays under ``limit`` bytes."""
    text = source.body.decode("utf-8", errors="replace")
    letter = DeadLetter(
        service=service, reason=reason, message=message[:2000], source_stream=source.stream,
        source_sequence=source.sequence, source_subject=source.subject, report_id=report_id,
        payload=text, payload_bytes=len(source.body),
    )  # fmt: skip
    budget = max(limit - ENVELOPE_ROOM, 1024)
    while len(letter.to_json()) > budget and letter.payload:
        size = len(letter.to_json())
        keep = int(len(letter.payload) * budget / size * 0.9)
        letter = letter.model_copy(update={"payload": letter.payload[:keep],
                                           "payload_truncated": True})  # fmt: skip
    return letter


class DeadLetters:
    def __init__(self, js: JetStreamContext, namespace: str, metrics: ServiceMetrics,
                 max_payload: int, consumer: str | None = None):  # fmt: skip
        self.js = js
        self.namespace = namespace
        self.service = metrics.service
        self.metrics = metrics
        self.max_payload = max_payload
        self.consumer = consumer or "-"  # whose letters (a label of the count): see of()

    def of(self, consumer: str) -> DeadLetters:
        """The same path, its letters counted as this consumer's."""
        return DeadLetters(self.js, self.namespace, self.metrics, self.max_payload, consumer)

    @property
    def stream(self) -> str:
        return dead_letter_stream(self.namespace)

    def subject(self, reason: str) -> str:
        return f"{self.namespace}.{DeadLetter.SUBJECT}.{self.service}.{reason}"

    async def publish(
        self, reason: str, message: str, source: Source, report_id: str | None = None
    ) -> None:
        """Store the letter (waits for the PubAck; raises if it is not stored)."""
        letter = letter_for(self.service, reason, message, source, self.max_payload, report_id)
        await self.js.publish(
            self.subject(reason), letter.to_json(), stream=self.stream, timeout=10,
            headers={"Nats-Msg-Id": f"{self.service}:{source.letter_id}"},
        )  # fmt: skip
        self.metrics.dead_letters.labels(self.service, self.consumer, reason).inc()
