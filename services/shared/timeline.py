"""What every service's part of a plan's timeline shares: one entry per domain event, in
the shape of ``contracts.timeline.TimelineEntry``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Entry = dict[str, Any]
Describe = Callable[[Any], Entry | None]
"""A domain event as a timeline entry (via ``entry``), or None for one not shown."""


def entry(
    event: Any, service: str, kind: str, summary: str, *, who: str | None = None,
    effective: str | None = None, details: Mapping[str, Any] | None = None,
) -> Entry:  # fmt: skip
    return {
        "at": event.timestamp, "effective": effective, "service": service, "kind": kind,
        "who": who, "summary": summary, "details": dict(details or {}),
        "version": event.originator_version,
    }  # fmt: skip


def entries(events: Iterable[Any], described: Mapping[str, Describe]) -> list[Entry]:
    """The entries of the events a service describes (by the event class's qualified
    name, e.g. ``ImprovementPlan.Adjusted``), oldest first."""
    found = []
    for event in events:
        describe = described.get(type(event).__qualname__)
        shown = describe(event) if describe else None
        if shown is not None:
            found.append(shown)
    return sorted(found, key=lambda e: (e["at"], e["version"] or 0))
