"""Alert aggregate: one fact someone must know, stored before any delivery is tried (the
outbox), then grouped into one message to its recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("e2c7a9f1-4b6d-4f3a-8c2e-1d9b7a5f3c60")


class Alert(Aggregate):
    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE, f"alert:{key}")

    class Raised(Aggregate.Created):
        """Version 2 added ``raised_at`` (the service's clock when it took the fact); a
        version 1 event is read with its own timestamp."""

        class_version = 2
        key: str
        kind: str
        organization: str
        period: str
        addressed_to: str | None
        details: dict[str, Any]
        stale: bool
        raised_at: datetime

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["raised_at"] = state["timestamp"]

    @event(Raised)
    def __init__(
        self,
        *,
        key: str,
        kind: str,
        organization: str,
        period: str,
        addressed_to: str | None,
        details: dict[str, Any],
        raised_at: datetime,
        stale: bool = False,
    ) -> None:
        self.key = key
        self.kind = kind
        self.organization = organization
        self.period = period
        self.addressed_to = addressed_to  # who is asked (a support case), else its parent
        # whose liaison is told is worked out when the message is composed, from the
        # directory as it is then: a liaison changed since takes effect
        self.details = details
        self.stale = stale  # older than the service's age limit when first seen: not sent
        self.raised_at = raised_at
        self.messages: dict[str, str] = {}  # target (an address, a webhook) -> message
        self._completed_at: datetime | None = None

    @property
    def message(self) -> str | None:
        """The first message it went out in."""
        return next(iter(self.messages.values()), None)

    def group(self, target: str, message: UUID) -> None:
        """It goes out to ``target`` in ``message`` (once per target)."""
        if target not in self.messages:
            self._group(target=target, message=str(message))

    @event("Grouped")
    def _group(self, *, target: str, message: str) -> None:
        self.messages[target] = message

    def complete(self, at: datetime) -> None:
        """It is in a message to each of its targets (once)."""
        if self.completed_at is None:
            self._complete(at=at)

    @event("Completed")
    def _complete(self, *, at: datetime) -> None:
        self._completed_at = at

    @property
    def completed_at(self) -> datetime | None:
        """When it was in a message to each of its targets (a stale one: when raised)."""
        return self._completed_at or (self.raised_at if self.stale else None)
