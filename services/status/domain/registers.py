"""Which plans are active, and which periods are closed."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.status.domain.plan_progress import NAMESPACE


class ActivePlans(Aggregate):
    """The plans a period close evaluates: approved and not closed."""

    ID = uuid5(NAMESPACE, "active-plans")

    @staticmethod
    def create_id() -> UUID:
        return ActivePlans.ID

    @event("Started")
    def __init__(self) -> None:
        self.keys: list[str] = []

    def add(self, key: str) -> None:
        if key not in self.keys:
            self._add(key=key)

    @event("Added")
    def _add(self, *, key: str) -> None:
        self.keys.append(key)

    def remove(self, key: str) -> None:
        if key in self.keys:
            self._remove(key=key)

    @event("Removed")
    def _remove(self, *, key: str) -> None:
        self.keys.remove(key)


class ReportingPeriod(Aggregate):
    """A month; closing it twice changes nothing."""

    @staticmethod
    def create_id(period: str) -> UUID:
        return uuid5(NAMESPACE, f"period:{period}")

    @event("Closed")
    def __init__(self, *, period: str, plans_evaluated: int) -> None:
        self.period = period
        self.plans_evaluated = plans_evaluated


class ReportingTerm(Aggregate):
    """A quarter, a semester or a plan year, closed with the close of its last month."""

    @staticmethod
    def create_id(term: str) -> UUID:
        return uuid5(NAMESPACE, f"term:{term}")

    @event("Closed")
    def __init__(self, *, term: str, plans_evaluated: int) -> None:
        self.term = term
        self.plans_evaluated = plans_evaluated
