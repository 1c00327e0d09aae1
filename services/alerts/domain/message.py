"""Message aggregate: the alerts of one recipient, gathered over the group wait, as one
message on one channel (an email to the liaison, or a webhook of an organization above);
its id is the SMTP Message-ID and the webhook id, so a receiver can tell a repeat (a kill
between sending and recording it) from a new message. Delivery is retried with exponential
backoff and jitter until it succeeds or the attempts run out; a failed message can be
resent."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.alerts.domain.errors import AlertsError

NAMESPACE = UUID("4a9d2e6b-7c1f-4e8a-b3d5-9f0c2a6e8b17")


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float = 5.0  # seconds
    max_delay: float = 600.0
    max_attempts: int = 8  # then failed (and counted, listed, resendable)
    schedule: tuple[float, ...] = ()  # fixed delays instead (the Standard Webhooks one)

    def delay(self, attempts: int, spin: float) -> timedelta:
        """After ``attempts`` failures: doubling from the first delay, capped (or the
        schedule's delay), with ``spin`` (0..1) of it as jitter, so many messages do not
        retry together."""
        if self.schedule:
            base = self.schedule[min(attempts, len(self.schedule)) - 1]
        else:
            base = min(self.first_delay * 2 ** (attempts - 1), self.max_delay)
        return timedelta(seconds=base * (0.5 + spin / 2))


STANDARD_WEBHOOKS = RetryPolicy(
    max_attempts=8, schedule=(5, 300, 1800, 7200, 18000, 36000, 36000)
)
"""The Standard Webhooks retry schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h,
10 h."""


class Message(Aggregate):
    @staticmethod
    def create_id(target: str, alerts: list[str]) -> UUID:
        return uuid5(NAMESPACE, f"message:{target}:{','.join(sorted(alerts))}")

    @event("Composed")
    def __init__(
        self, *, recipient: str, channel: str, target: str, alerts: list[str], subject: str,
        text: str, html: str, at: datetime, since: datetime,
    ) -> None:  # fmt: skip
        self.recipient = recipient  # whom: the liaison's name, or the webhook's organization
        self.channel = channel  # email, or webhook
        self.target = target  # the address, or the URL
        self.alerts = alerts
        self.subject = subject
        self.text = text
        self.html = html
        self.since = since  # when its first alert was raised
        self.status = "pending"
        self.attempts = 0
        self.next_attempt = at
        self.last_error: str | None = None
        self.delivered_at: datetime | None = None

    @property
    def message_id(self) -> str:
        """The SMTP Message-ID (and the webhook id): the same for every attempt."""
        return f"<{self.id}@spn.alerts>"

    def attempted(self, *, at: datetime, error: str | None, policy: RetryPolicy,
                  final: bool = False) -> None:  # fmt: skip
        """Record an attempt: delivered, or failed with its error (then the next attempt's
        time, or failed for good after the last, or at once when ``final``: a webhook
        endpoint that is gone)."""
        if self.status != "pending":
            raise AlertsError(f"message {self.id} is {self.status}, not pending")
        if error is None:
            self._deliver(at=at)
            return
        attempts = self.attempts + 1
        final = final or attempts >= policy.max_attempts
        spin = random.Random(f"{self.id}:{attempts}").random()
        self._fail(at=at, error=error, final=final,
                   next_attempt=None if final else at + policy.delay(attempts, spin))  # fmt: skip

    @event("Delivered")
    def _deliver(self, *, at: datetime) -> None:
        self.status = "delivered"
        self.delivered_at = at
        self.attempts += 1

    @event("DeliveryFailed")
    def _fail(self, *, at: datetime, error: str, final: bool, next_attempt: datetime | None
              ) -> None:  # fmt: skip
        self.attempts += 1
        self.last_error = error
        if final:
            self.status = "failed"
        else:
            assert next_attempt is not None
            self.next_attempt = next_attempt

    def resend(self, *, at: datetime, by: str) -> None:
        if self.status != "failed":
            raise AlertsError(f"message {self.id} is {self.status}; only a failed one is resent")
        self._resend(at=at, by=by)

    @event("Resent")
    def _resend(self, *, at: datetime, by: str) -> None:
        self.status = "pending"
        self.attempts = 0
        self.next_attempt = at
