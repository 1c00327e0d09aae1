"""A synthetic Strategic Performance Network of any size, deterministic from a seed.

One SEA, ``leas`` districts and ``schools`` schools spread over them round-robin. Every
school's plan has the shape of Tool A at full size: four priority areas of four strategies
(coded to the 12 practices in turn), each with two milestones of two actions: 64 actions
spread over the plan year. A school year of monthly reports follows patterns drawn once per
school: most on time, some slipping for a few months then recovering, some waning for the
rest of the year, a few silent (no reports at all).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from contracts.organizations import Organization
from contracts.periods import plan_year_periods
from contracts.plans import ImprovementPlan
from contracts.practices import PRACTICES
from contracts.status import ActionStatusReported
from spn.cli.simulation import Slip, monthly_reports

PLAN_YEAR = "2026-27"
PRACTICE_CODES = [str(code) for code in PRACTICES]


class Pattern(StrEnum):
    ON_TIME = "on_time"
    SLIPPING = "slipping"  # a few months behind, then recovers
    WANING = "waning"  # behind from some month to the end of the year
    SILENT = "silent"  # reports nothing


MIX = ((Pattern.ON_TIME, 0.80), (Pattern.SLIPPING, 0.10), (Pattern.WANING, 0.06),
       (Pattern.SILENT, 0.04))  # fmt: skip


@dataclass(frozen=True)
class SyntheticNetwork:
    schools: int = 2000
    leas: int = 150
    seed: int = 2026

    @property
    def sea(self) -> str:
        return "bench-sea"

    def lea(self, index: int) -> str:
        return f"bench-lea-{index:04d}"

    def school(self, index: int) -> str:
        return f"bench-school-{index:06d}"

    def parent_of(self, school_index: int) -> str:
        return self.lea(school_index % self.leas)

    def organizations(self) -> list[Organization]:
        """Parents before children, as they must be registered."""
        found = [Organization(code=self.sea, kind="SEA", name="Bench State Department")]
        for i in range(self.leas):
            found.append(_org(self.lea(i), "LEA", self.sea))
        for i in range(self.schools):
            found.append(_org(self.school(i), "SCHOOL", self.parent_of(i)))
        return found

    def plans(self) -> Iterator[ImprovementPlan]:
        for i in range(self.schools):
            yield school_plan(self.school(i), self.liaison(i), random.Random(self.seed * 7919 + i))

    def liaison(self, school_index: int) -> dict[str, str]:
        lea = self.parent_of(school_index)
        return {"name": f"Liaison of {lea}", "email": f"liaison@{lea}.example.org"}

    def pattern(self, school_index: int) -> Pattern:
        draw = random.Random(self.seed * 104729 + school_index).random()
        for pattern, share in MIX:
            if draw < share:
                return pattern
            draw -= share
        return Pattern.ON_TIME

    def slip(self, school_index: int) -> Slip | None:
        periods = plan_year_periods(PLAN_YEAR)
        rng = random.Random(self.seed * 15485863 + school_index)
        pattern = self.pattern(school_index)
        if pattern is Pattern.SLIPPING:
            start = rng.randrange(2, 7)
            length = rng.randrange(1, 4)
            return Slip(periods[start], periods[start + length - 1], periods[start + length])
        if pattern is Pattern.WANING:
            start = rng.randrange(2, 8)
            return Slip(periods[start], periods[-1], "2027-07")
        return None

    def reports(self, plan: ImprovementPlan, school_index: int, period: str
                ) -> list[ActionStatusReported]:  # fmt: skip
        """What the school's teams file for ``period`` (nothing when it is silent)."""
        if self.pattern(school_index) is Pattern.SILENT:
            return []
        return monthly_reports(plan, period, slip=self.slip(school_index), reporter="Bench Team")


def _org(code: str, kind: str, parent: str) -> Organization:
    return Organization.model_validate({
        "code": code, "kind": kind, "name": code.replace("-", " ").title(), "parent": parent,
        "liaison": {"name": f"Liaison of {parent}", "email": f"liaison@{parent}.example.org"},
    })  # fmt: skip


def school_plan(code: str, liaison: dict[str, str], rng: random.Random) -> ImprovementPlan:
    """A full-size Tool A plan: 4 priority areas x 4 strategies x 2 milestones x 2 actions."""
    areas = []
    for a in range(1, 5):
        strategies = [_strategy(f"{a}.{s}", PRACTICE_CODES[(a * 4 + s) % 12], rng)
                      for s in range(1, 5)]  # fmt: skip
        areas.append({"number": a, "title": f"Priority area {a}", "strategies": strategies})
    return ImprovementPlan.model_validate({
        "organization": code,
        "plan_year": PLAN_YEAR,
        "at_a_glance": {
            "date_of_plan": "2026-08-20", "essa_status": "CSI", "title_i": "schoolwide",
            "district_liaison": liaison,
            "leadership_team": [{"name": "Principal of " + code, "position": "Principal"}],
        },
        "direction": {
            "vision": "Every student thrives.",
            "mission": "We teach each student to meet or exceed growth targets.",
            "goals": [{"number": 1, "statement": "Each student meets growth targets each year.",
                       "explanation": "Growth is the measure of our teaching.",
                       "measures": [_measure("Students that meet growth goals", 40)]}],
        },
        "needs_assessment": {
            "elements": ["student_outcomes", "professional_practice"],
            "process": "Leadership team, 5 Whys root cause analysis",
            "stakeholder_input": "Family survey", "root_causes": ["High teacher turnover"],
        },
        "priority_areas": areas,
    })  # fmt: skip


def _strategy(number: str, practice: str, rng: random.Random) -> dict:
    milestones = []
    for m in range(1, 3):
        actions: list[dict[str, Any]] = []
        for n in range(1, 3):
            start = date(2026, 7, 15) + timedelta(days=rng.randrange(0, 240))
            due = min(start + timedelta(days=rng.randrange(30, 120)), date(2027, 6, 20))
            actions.append({
                "number": f"{number}.{m}.{n}", "description": f"Action {number}.{m}.{n}",
                "start": start.isoformat(), "due": due.isoformat(),
                "anticipated_outputs": [f"Output of {number}.{m}.{n}"],
                "person_responsible": "Instructional coach",
            })  # fmt: skip
        last_due = max(str(a["due"]) for a in actions)
        milestones.append({"number": f"{number}.{m}", "description": f"Milestone {number}.{m}",
                           "due": last_due, "actions": actions})  # fmt: skip
    return {
        "number": number, "practice": practice, "goals": [1],
        "theory_of_action": {
            "if": "we engage our instructional teams in developing standards-aligned units",
            "then": "teachers will plan and deliver standards-based personalized instruction",
            "and": "each student will meet his or her growth targets each year",
        },
        "measures": [_measure("Lesson plans that are standards-based", 30)],
        "milestones": milestones,
    }  # fmt: skip


def _measure(indicator: str, baseline: float) -> dict:
    return {
        "indicator": indicator, "data_source": "State assessments", "baseline": baseline,
        "targets": [{"year": "2026-27", "value": baseline + 10}, {"year": "2027-28", "value": 75}],
    }  # fmt: skip
