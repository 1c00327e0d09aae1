"""Shared event-store helpers, on the in-memory store."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from services.shared.eventstore import find, forget_cached


class Counter(Aggregate):
    @event("Created")
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


def test_forgetting_the_cache_drops_what_was_changed_in_place_and_never_stored():
    """eventsourcing's LRUCache.clear() resets its recency list but keeps its entries."""
    app: Application[UUID] = Application(
        {"PERSISTENCE_MODULE": "eventsourcing.popo", "AGGREGATE_CACHE_MAXSIZE": "10"}
    )
    counter = Counter()
    app.save(counter)
    cached = find(app, counter.id, copy=False)
    cached.increment()  # changed in place; its save fails (it is never stored)
    assert find(app, counter.id).count == 1
    forget_cached(app)
    assert find(app, counter.id).count == 0
