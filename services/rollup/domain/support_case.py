"""SupportCase aggregate: a request for responsive support, addressed up the chain.

A waning school's case goes to its LEA; an LEA whose schools (three or more, by default)
wane on the same practice in a period, or whose own plan wanes, has a case with the SEA.
A provider records the support given; two closed periods later the support is judged
from the recipient's figures (default: effective if actions on time % rose by 10 points
or reached 75%). An ineffective support escalates the case one level up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.rollup.domain.errors import RollupError

NAMESPACE = UUID("8c4e2a7b-1d3f-4b6a-9e5c-7a2b4d6f8e01")


class SupportCaseError(RollupError):
    code = "support_case"


@dataclass(frozen=True)
class EffectivenessRule:
    rise_points: float = 10.0
    reaches_pct: float = 75.0
    after_periods: int = 2

    def effective(self, before: float | None, after: float | None) -> bool:
        if after is None:
            return False
        return after >= self.reaches_pct or (
            before is not None and after - before >= self.rise_points
        )


class SupportCase(Aggregate):
    @staticmethod
    def create_id(recipient: str, addressed_to: str, practice: str | None, opened: str) -> UUID:
        return uuid5(NAMESPACE, f"case:{recipient}>{addressed_to}:{practice or '*'}:{opened}")

    @event("Opened")
    def __init__(
        self,
        *,
        recipient: str,
        addressed_to: str,
        practice: str | None,
        opened: str,
        practices: list[str],
        reasons: list[str],
        escalated_from: str | None = None,
    ) -> None:
        self.recipient = recipient
        self.addressed_to = addressed_to
        self.practice = practice
        self.opened = opened
        self.practices = practices
        self.reasons = reasons
        self.escalated_from = escalated_from
        self.status = "open"
        self.support: dict[str, Any] | None = None
        self.judgment: dict[str, Any] | None = None
        self.escalated_to: str | None = None

    def provide(
        self,
        *,
        provider: str,
        practice: str | None,
        on: str,
        period: str,
        what: str,
        by: str,
        plan_year: str,
    ) -> None:
        """Record the support given (``period``: the month of ``on``; ``plan_year``: that of
        the case's opening: a support after it is refused)."""
        if self.status != "open":
            raise SupportCaseError(f"case of {self.recipient} is {self.status}, not open")
        if provider != self.addressed_to:
            raise SupportCaseError(
                f"this case of {self.recipient} is addressed to {self.addressed_to}; "
                f"{provider} cannot record support on it"
            )
        if not what.strip():
            raise SupportCaseError("say what was done")
        if period < self.opened:
            raise SupportCaseError(
                f"support on {on} is dated before this case of {self.recipient} opened "
                f"({self.opened})"
            )
        if period > f"{int(plan_year[:4]) + 1}-06":
            raise SupportCaseError(
                f"support on {on} is after plan year {plan_year} of {self.recipient}"
            )
        if self.practice is not None and practice not in (None, self.practice):
            raise SupportCaseError(
                f"this case of {self.recipient} is about practice {self.practice}; support on "
                f"{practice} is not support on it"
            )
        self._provide(
            provider=provider,
            practice=practice or self.practice,
            on=on,
            period=period,
            what=what,
            by=by,
        )

    @event("SupportProvided")
    def _provide(
        self, *, provider: str, practice: str | None, on: str, period: str, what: str, by: str
    ) -> None:
        self.status = "supported"
        self.support = {
            "provider": provider,
            "practice": practice,
            "on": on,
            "period": period,
            "what": what,
            "by": by,
        }

    def due_for_judgment(self, closed_periods_since: int, rule: EffectivenessRule) -> bool:
        return self.status == "supported" and closed_periods_since >= rule.after_periods

    def judge(
        self, *, period: str, before: float | None, after: float | None, rule: EffectivenessRule
    ) -> bool:
        """Record whether the support worked; return True when it did."""
        effective = rule.effective(before, after)
        self._judge(period=period, effective=effective, on_time_before=before, on_time_after=after)
        return effective

    @event("Judged")
    def _judge(
        self,
        *,
        period: str,
        effective: bool,
        on_time_before: float | None,
        on_time_after: float | None,
    ) -> None:
        self.status = "resolved" if effective else "ineffective"
        self.judgment = {
            "period": period,
            "effective": effective,
            "on_time_before": on_time_before,
            "on_time_after": on_time_after,
        }

    def escalate(self, *, to: str, period: str) -> None:
        self._escalate(to=to, period=period)

    @event("Escalated")
    def _escalate(self, *, to: str, period: str) -> None:
        self.status = "escalated"
        self.escalated_to = to


CaseKey = tuple[str, str, str | None]  # recipient, addressed to, practice


def active_case_keys(cases: list[dict[str, Any]]) -> set[CaseKey]:
    """Keys of every open or supported case, and of every level it was escalated from:
    while a case is active, none of them opens again."""
    by_id = {c["case_id"]: c for c in cases}
    keys: set[CaseKey] = set()
    for case in cases:
        if case["status"] not in ("open", "supported"):
            continue
        level: dict[str, Any] | None = case
        while level is not None and (key := _key(level)) not in keys:
            keys.add(key)
            level = by_id.get(level["escalated_from"])
    return keys


def _key(case: dict[str, Any]) -> CaseKey:
    return case["recipient"], case["addressed_to"], case["practice"]
