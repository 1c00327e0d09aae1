"""The rules of an improvement plan that span its document (seed 004, Tool A).

They work on the plan's canonical JSON form (a document whose fields the ImprovementPlan
contract has validated): the plans service enforces them on every draft, revision and
adjustment, and the CLI checks files offline with the same code. Plain Python, no schema
library, so the plans domain uses them as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from contracts.periods import first_day, last_day, plan_year_periods

MAX_GOALS = 4
MAX_PRIORITY_AREAS = 4
PRACTICE_CODE = re.compile(r"^[1-4][ABC]$")
"""Four Domains practices: domain 1-4, practice A-C (1A ... 4C)."""


def plan_year_bounds(plan_year: str) -> tuple[date, date]:
    """A plan year such as ``2026-27`` runs from 1 July 2026 to 30 June 2027 (by default:
    ``contracts.periods``)."""
    months = plan_year_periods(plan_year)
    return first_day(months[0]), last_day(months[-1])


@dataclass(frozen=True)
class Violation:
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def plan_violations(document: Mapping[str, Any]) -> list[Violation]:
    """Every rule the document breaks (none: it is a valid plan)."""
    return list(_violations(document))


def _violations(doc: Mapping[str, Any]) -> Iterator[Violation]:
    goals = doc["direction"]["goals"]
    if len(goals) > MAX_GOALS:
        yield Violation("direction.goals", f"at most {MAX_GOALS} goals, found {len(goals)}")
    yield from _unique_numbers("direction.goals", [g["number"] for g in goals])
    areas = doc["priority_areas"]
    if len(areas) > MAX_PRIORITY_AREAS:
        yield Violation(
            "priority_areas", f"at most {MAX_PRIORITY_AREAS} priority areas, found {len(areas)}"
        )
    yield from _unique_numbers("priority_areas", [a["number"] for a in areas])
    goal_numbers = {g["number"] for g in goals}
    first_day, last_day = plan_year_bounds(doc["plan_year"])
    seen: set[str] = set()
    for i, area in enumerate(areas):
        for j, strategy in enumerate(area["strategies"]):
            where = f"priority_areas[{i}].strategies[{j}]"
            yield from _numbered(where, strategy["number"], str(area["number"]), seen)
            yield from _strategy_violations(where, strategy, goal_numbers)
            for k, milestone in enumerate(strategy["milestones"]):
                m_where = f"{where}.milestones[{k}]"
                yield from _numbered(m_where, milestone["number"], strategy["number"], seen)
                if not milestone.get("due"):
                    yield Violation(
                        m_where + ".due", f"milestone {milestone['number']} has no due date"
                    )
                for n, action in enumerate(milestone["actions"]):
                    a_where = f"{m_where}.actions[{n}]"
                    yield from _numbered(a_where, action["number"], milestone["number"], seen)
                    yield from _action_dates(a_where, action, first_day, last_day)


def _unique_numbers(where: str, numbers: list[int]) -> Iterator[Violation]:
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        yield Violation(where, f"numbers must be unique, repeated: {duplicates}")


def _numbered(where: str, number: str, parent: str, seen: set[str]) -> Iterator[Violation]:
    if number.rsplit(".", 1)[0] != parent:
        yield Violation(where + ".number", f"{number} is not numbered under its parent {parent}")
    if number in seen:
        yield Violation(where + ".number", f"{number} is used more than once")
    seen.add(number)


def _strategy_violations(
    where: str, strategy: Mapping[str, Any], goal_numbers: set[int]
) -> Iterator[Violation]:
    practice = strategy.get("practice")
    if not practice or not PRACTICE_CODE.match(practice):
        yield Violation(
            where + ".practice",
            f"strategy {strategy['number']} must be coded to a practice 1A-4C, got {practice!r}",
        )
    unknown = sorted(set(strategy.get("goals", ())) - goal_numbers)
    if unknown:
        yield Violation(
            where + ".goals", f"strategy {strategy['number']} names unknown goals {unknown}"
        )


def _action_dates(
    where: str, action: Mapping[str, Any], first_day: date, last_day: date
) -> Iterator[Violation]:
    start, due = date.fromisoformat(action["start"]), date.fromisoformat(action["due"])
    if start > due:
        yield Violation(
            where, f"action {action['number']} starts ({start}) after it is due ({due})"
        )
    for name, day in (("start", start), ("due", due)):
        if not first_day <= day <= last_day:
            yield Violation(
                f"{where}.{name}",
                f"action {action['number']} {name} {day} is outside the plan year "
                f"({first_day} to {last_day})",
            )
