"""What every service's translator (domain events to integration events) shares: the
envelope of an integration event, and the aggregates' first versions."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Repository
from pydantic import BaseModel, ValidationError

T = TypeVar("T")
Readers = Mapping[str, tuple[type[BaseModel], Callable[[Any], Iterable[T]]]]
"""Relative subject -> (its contract, what a service makes of one)."""


def read_event(readers: Readers[T], relative_subject: str, body: bytes
               ) -> list[T] | ValidationError:  # fmt: skip
    """What a service makes of an integration event (nothing for the subjects it ignores),
    or why the event can never be read (for the dead-letter path)."""
    found = readers.get(relative_subject)
    if found is None:
        return []
    contract, reader = found
    try:
        return list(reader(contract.model_validate_json(body)))
    except ValidationError as error:
        return error


def envelope(domain_event: Any) -> dict[str, Any]:
    """``event_id`` (aggregate id and version: the same for a republished event, so the
    stream deduplicates it), ``version`` and ``occurred_at`` of an integration event."""
    return {
        "event_id": f"{domain_event.originator_id}:{domain_event.originator_version}",
        "version": domain_event.originator_version,
        "occurred_at": domain_event.timestamp,
    }


class FirstVersions:
    """What never changes of an aggregate (whose it is, its keys): these ``fields`` of its
    first version, loaded once each and kept in a least-recently-used cache."""

    def __init__(self, repository: Repository[UUID], fields: tuple[str, ...],
                 limit: int = 50_000):  # fmt: skip
        self._repository = repository
        self._fields = fields
        self._limit = limit
        self._found: OrderedDict[UUID, dict[str, Any]] = OrderedDict()

    def of(self, domain_event: Any) -> dict[str, Any]:
        key = domain_event.originator_id
        found = self._found.get(key)
        if found is None:
            first: Any = self._repository.get(key, version=1)
            found = {f: getattr(first, f) for f in self._fields}
            self._found[key] = found
            if len(self._found) > self._limit:
                self._found.popitem(last=False)
        else:
            self._found.move_to_end(key)
        return found
