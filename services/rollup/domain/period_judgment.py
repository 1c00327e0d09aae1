"""PeriodJudgment aggregate: that a closed period's waning rules and support cases were
judged, once. A replay of the events stream (a rebuild) finds it and judges nothing
again, so no flag, case or judgment is made twice, whatever the cases' states are now."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("b7e1c4d2-6a3f-4c8e-9d15-0f2a7b3c9e44")


class PeriodJudgment(Aggregate):
    @staticmethod
    def create_id(period: str) -> UUID:
        return uuid5(NAMESPACE, f"judged:{period}")

    @event("Judged")
    def __init__(self, *, period: str, flags: int) -> None:
        self.period = period
        self.flags = flags

    def row(self) -> tuple[str, dict[str, object]]:
        """As its read-model row."""
        return "judged_periods", {"period": self.period, "flags": self.flags}
