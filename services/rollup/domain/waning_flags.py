"""OrganizationWaning aggregate: the waning flags of one organization, each raised once per
rule and period, and cleared when the organization recovers."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.rollup.domain.waning import Flag

NAMESPACE = UUID("5d2b9c1e-8f7a-4e3b-a1c6-2f9e7d4b8a10")


class OrganizationWaning(Aggregate):
    @staticmethod
    def create_id(organization: str) -> UUID:
        return uuid5(NAMESPACE, f"waning:{organization}")

    @event("Started")
    def __init__(self, *, organization: str) -> None:
        self.organization = organization
        self.raised: set[tuple[str, str]] = set()
        self.active: dict[str, str] = {}  # rule -> period raised
        self.last_period = ""

    def judge(self, period: str, flags: list[Flag]) -> list[dict[str, Any]]:
        """Record this period's flags and clear rules that no longer hold; return the
        changes. Judging a period again (a rebuild replays them in order) changes nothing."""
        if period < self.last_period:
            return []
        changes = []
        rules = {flag.rule for flag in flags}
        for flag in flags:
            if (flag.rule, period) not in self.raised:
                self._raise(
                    rule=flag.rule,
                    period=period,
                    evidence=flag.evidence,
                    strategies=flag.strategies,
                )
                changes.append(
                    flag_change(
                        self.organization,
                        "raised",
                        flag.rule,
                        period,
                        flag.evidence,
                        flag.strategies,
                    )
                )
        for rule in sorted(set(self.active) - rules):
            self._clear(rule=rule, period=period)
            changes.append(flag_change(self.organization, "cleared", rule, period))
        return changes

    @event("Raised")
    def _raise(
        self, *, rule: str, period: str, evidence: dict[str, Any], strategies: list[dict[str, str]]
    ) -> None:
        self.raised.add((rule, period))
        self.active[rule] = period
        self.last_period = max(self.last_period, period)

    @event("Cleared")
    def _clear(self, *, rule: str, period: str) -> None:
        self.active.pop(rule, None)
        self.last_period = max(self.last_period, period)


def flag_change(
    organization: str,
    change: str,
    rule: str,
    period: str,
    evidence: dict[str, Any] | None = None,
    strategies: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A flag raised or cleared, as its read-model row."""
    return {"organization": organization, "rule": rule, "period": period, "change": change,
            "evidence": evidence, "strategies": strategies}  # fmt: skip
