"""PerformanceMeasure aggregate: the values reported for one goal or strategy measure of an
approved plan (seed 004, Tool A: performance measures by year), one event per value."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("3f6a1c8e-2b4d-4e7f-9a0c-5d8e1b3f7a26")


class PerformanceMeasure(Aggregate):
    @staticmethod
    def create_id(plan: str, measure: str) -> UUID:
        return uuid5(NAMESPACE, f"measure:{plan}:{measure}")

    @event("Started")
    def __init__(self, *, plan: str, measure: str, organization: str) -> None:
        self.plan = plan
        self.measure = measure
        self.organization = organization
        self.values: dict[str, float] = {}  # period (YYYY-MM or year:YYYY-YY) -> value

    def report(self, *, period: str, value: float, by: str) -> bool:
        """Record a value for a period (a later one replaces it); the same value again
        records nothing. Returns whether a value was recorded."""
        if self.values.get(period) == value:
            return False
        self._report(period=period, value=value, by=by)
        return True

    @event("ValueReported")
    def _report(self, *, period: str, value: float, by: str) -> None:
        self.values[period] = value
