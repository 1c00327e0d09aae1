"""Which events of the events stream a consumer takes: each service's events once, in the
order the service published them. The relay refills a stream that lost events, so the
stream may hold an event twice (a repeat, skipped) or one whose predecessor it lacks until
the refill brings it (a gap, skipped: the refill brings that event again after it)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from nats.js import JetStreamContext

from contracts.subjects import PREVIOUS_HEADER, event_source, refill_subject, service_of_subject

NUMBER = re.compile(r"[0-9]{1,19}")
REQUEST_EVERY = 5.0  # seconds: how often a consumer asks again for the same service's refill


class Verdict(Enum):
    TAKE = "take"
    REPEAT = "repeat"
    GAP = "gap"


@dataclass(frozen=True)
class Claimed:
    """What an event says of its source: the service, its notification id, and the one the
    service published before it (None: an event from before ``Spn-Previous``)."""

    service: str
    notification: int
    previous: int | None

    def verdict(self, taken: int) -> Verdict:
        """Given the last notification of its service taken."""
        if self.notification <= taken:
            return Verdict.REPEAT
        if self.previous is not None and self.previous > taken:
            return Verdict.GAP
        return Verdict.TAKE


@dataclass
class RefillRequests:
    """A consumer that meets a gap asks the service's relay to publish its events after the
    last one taken again (the stream lost one from its middle, which the relay's own
    comparison of the stream's ends cannot see); at most every ``REQUEST_EVERY`` seconds
    per service."""

    js: JetStreamContext
    namespace: str
    _asked: dict[str, float] = field(default_factory=dict)

    async def ask(self, service: str, after: int) -> None:
        now = time.monotonic()
        if now - self._asked.get(service, -REQUEST_EVERY) < REQUEST_EVERY:
            return
        self._asked[service] = now
        nc = self.js._nc  # nats-py's connection of the context: a core NATS message
        await nc.publish(refill_subject(self.namespace, service),
                         json.dumps({"after": after}).encode())  # fmt: skip


def claimed(namespace: str, subject: str, headers: Mapping[str, str] | None) -> Claimed | None:
    """The event's source, if its ``Nats-Msg-Id`` names the service of its subject (None:
    it does not, or has none; such an event is refused)."""
    found = event_source((headers or {}).get("Nats-Msg-Id", ""))
    if found is None or found[0] != service_of_subject(namespace, subject):
        return None
    previous = (headers or {}).get(PREVIOUS_HEADER, "")
    number = NUMBER.fullmatch(previous)
    return Claimed(found[0], found[1], int(previous) if number else None)
