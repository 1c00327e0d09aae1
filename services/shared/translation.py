"""What every service's translator (domain events to integration events) shares: the
envelope of an integration event, and the aggregates' first versions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Repository


def envelope(domain_event: Any) -> dict[str, Any]:
    """``event_id`` (aggregate id and version: the same for a republished event, so the
    stream deduplicates it), ``version`` and ``occurred_at`` of an integration event."""
    return {
        "event_id": f"{domain_event.originator_id}:{domain_event.originator_version}",
        "version": domain_event.originator_version,
        "occurred_at": domain_event.timestamp,
    }


class FirstVersions:
    """Aggregates as they started, loaded once each (what never changes: whose they are,
    their keys), a bounded cache."""

    def __init__(self, repository: Repository[UUID], limit: int = 10_000):
        self._repository = repository
        self._limit = limit
        self._found: dict[UUID, Any] = {}

    def of(self, domain_event: Any) -> Any:
        found = self._found.get(domain_event.originator_id)
        if found is None:
            if len(self._found) >= self._limit:
                self._found.clear()
            found = self._repository.get(domain_event.originator_id, version=1)
            self._found[domain_event.originator_id] = found
        return found
