"""Tool A implementation figures as of a day, computed from a plan's structure and its
actions' completion dates. Pure functions: the same inputs give the same figures, on any
day the computation runs.

Definitions (as of day D, the period's last day):
- an action is *due* if its due date is on or before D; *complete* if reported complete
  (in a report for a period up to the one closing);
- actions completed % = complete / all actions;
- actions on time % = due actions completed on or before their due date / due actions;
- actions behind schedule % = due actions not complete / due actions;
- a milestone is *completed* when all its actions are complete; it is *behind schedule*
  (slipped) when it is past due with incomplete actions, or when one of its actions is
  overdue and the milestone is due before the end of the next period (no time left to
  catch up).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, NamedTuple


@dataclass(frozen=True)
class ActionState:
    number: str
    start: date
    due: date
    completed_on: date | None

    @property
    def complete(self) -> bool:
        return self.completed_on is not None

    @property
    def on_time(self) -> bool:
        """Completed on or before its due date (on the due date itself is on time)."""
        return self.completed_on is not None and self.completed_on <= self.due

    def overdue(self, as_of: date) -> bool:
        return self.due <= as_of and not self.complete


@dataclass(frozen=True)
class MilestoneState:
    number: str
    due: date
    actions: tuple[ActionState, ...]

    @property
    def complete(self) -> bool:
        return all(a.complete for a in self.actions)

    def slip_reason(self, as_of: date) -> str | None:
        if self.complete:
            return None
        if self.due <= as_of:
            return "past_due"
        next_period_end = (as_of.replace(day=1) + timedelta(days=62)).replace(day=1) - timedelta(
            days=1
        )
        if any(a.overdue(as_of) for a in self.actions) and self.due <= next_period_end:
            return "running_late"
        return None

    def incomplete_actions(self) -> list[str]:
        return [a.number for a in self.actions if not a.complete]


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class Counts(NamedTuple):
    """What the figures are computed from; counts of milestones add up to a strategy's and
    a plan's, so each action is looked at once per close."""

    actions_total: int = 0
    actions_due: int = 0
    actions_completed: int = 0
    actions_on_time: int = 0
    actions_behind: int = 0
    milestones_total: int = 0
    milestones_completed: int = 0
    milestones_behind: int = 0

    def figures(self) -> dict[str, Any]:
        return {
            "actions_total": self.actions_total,
            "actions_due": self.actions_due,
            "actions_completed": self.actions_completed,
            "actions_on_time": self.actions_on_time,
            "actions_behind": self.actions_behind,
            "actions_completed_pct": pct(self.actions_completed, self.actions_total),
            "actions_on_time_pct": pct(self.actions_on_time, self.actions_due),
            "actions_behind_pct": pct(self.actions_behind, self.actions_due),
            "milestones_total": self.milestones_total,
            "milestones_completed": self.milestones_completed,
            "milestones_completed_pct": pct(self.milestones_completed, self.milestones_total),
            "milestones_behind": self.milestones_behind,
        }


def milestone_counts(milestone: MilestoneState, as_of: date) -> Counts:
    due = [a for a in milestone.actions if a.due <= as_of]
    complete = milestone.complete
    return Counts(
        actions_total=len(milestone.actions),
        actions_due=len(due),
        actions_completed=sum(1 for a in milestone.actions if a.complete),
        actions_on_time=sum(1 for a in due if a.on_time),
        actions_behind=sum(1 for a in due if not a.complete),
        milestones_total=1,
        milestones_completed=int(complete),
        milestones_behind=int(milestone.slip_reason(as_of) is not None),
    )


def total(counts: Iterable[Counts]) -> Counts:
    return Counts(*map(sum, zip(*counts, strict=True)))  # none: all zero


def figures(milestones: Iterable[MilestoneState], as_of: date) -> dict[str, Any]:
    return total(milestone_counts(m, as_of) for m in milestones).figures()


def milestone_states(
    structure: Mapping[str, Any], completed_on: Mapping[str, date | None]
) -> dict[str, list[MilestoneState]]:
    """Milestone states per strategy number, from the plan structure and completions."""
    result: dict[str, list[MilestoneState]] = {}
    for strategy in structure["strategies"]:
        result[strategy["number"]] = [
            MilestoneState(
                number=m["number"],
                due=date.fromisoformat(m["due"]),
                actions=tuple(
                    ActionState(
                        number=a["number"],
                        start=date.fromisoformat(a["start"]),
                        due=date.fromisoformat(a["due"]),
                        completed_on=completed_on.get(a["number"]),
                    )
                    for a in m["actions"]
                ),
            )
            for m in strategy["milestones"]
        ]
    return result
