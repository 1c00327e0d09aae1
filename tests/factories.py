"""Small valid documents for tests, built through the contracts (canonical JSON form)."""

from __future__ import annotations

import copy
from typing import Any
from uuid import uuid4

from contracts.organizations import Organization
from contracts.plans import ImprovementPlan


def unique_code(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


def organization(code: str, kind: str, parent: str | None = None, name: str | None = None) -> dict:
    data: dict[str, Any] = {"code": code, "kind": kind, "name": name or code.title()}
    if parent:
        data["parent"] = parent
        data["liaison"] = {"name": f"Liaison of {code}", "email": f"liaison@{code}.example.org"}
    return Organization.model_validate(data).to_jsonable()


def _measure(indicator: str, baseline: float) -> dict:
    return {
        "indicator": indicator,
        "data_source": "State assessments using the state growth model",
        "baseline": baseline,
        "targets": [{"year": "2026-27", "value": baseline + 10}, {"year": "2027-28", "value": 50}],
    }


def _action(number: str, start: str, due: str) -> dict:
    return {
        "number": number,
        "description": f"Action {number}",
        "start": start,
        "due": due,
        "anticipated_outputs": [f"Output of {number}"],
        "person_responsible": "Principal",
    }


def _strategy(number: str, practice: str) -> dict:
    return {
        "number": number,
        "theory_of_action": {
            "if": "we engage our instructional teams in developing standards-aligned units",
            "then": "teachers will plan and deliver standards-based personalized instruction",
            "and": "each student will meet his or her growth targets each year",
        },
        "practice": practice,
        "goals": [1],
        "measures": [_measure("Lesson plans that are standards-based", 26)],
        "milestones": [
            {
                "number": f"{number}.1",
                "description": f"Milestone {number}.1",
                "due": "2027-06-15",
                "actions": [
                    _action(f"{number}.1.1", "2026-08-15", "2026-10-31"),
                    _action(f"{number}.1.2", "2026-11-01", "2027-03-31"),
                ],
            }
        ],
    }


def plan_document(organization: str, plan_year: str = "2026-27") -> dict:
    """A valid two-priority plan whose strategies cover all four domains."""
    raw = {
        "organization": organization,
        "plan_year": plan_year,
        "at_a_glance": {
            "date_of_plan": "2026-08-20",
            "essa_status": "CSI",
            "title_i": "schoolwide",
            "district_liaison": {"name": "Dana Liaison", "email": "dana@example.org"},
            "leadership_team": [{"name": "Pat Principal", "position": "Principal"}],
        },
        "direction": {
            "vision": "Every student thrives.",
            "mission": "We teach each student to meet or exceed growth targets.",
            "goals": [
                {
                    "number": 1,
                    "statement": "Each student will meet his or her growth targets each year.",
                    "explanation": "Growth is the measure of our teaching.",
                    "measures": [_measure("Students that meet growth goals", 18)],
                }
            ],
        },
        "needs_assessment": {
            "elements": ["student_outcomes", "professional_practice"],
            "process": "Leadership team, 5 Whys root cause analysis",
            "stakeholder_input": "Family survey",
            "root_causes": ["High teacher turnover"],
        },
        "priority_areas": [
            {
                "number": 1,
                "title": "Instruction",
                "strategies": [_strategy("1.1", "3B"), _strategy("1.2", "1A")],
            },
            {
                "number": 2,
                "title": "Talent and families",
                "strategies": [_strategy("2.1", "2B"), _strategy("2.2", "4c")],
            },
        ],
    }
    return ImprovementPlan.model_validate(raw).to_jsonable()


def oversized_plan(organization: str) -> dict:
    """A plan of 1,280 actions (4 areas x 4 strategies x 2 milestones x 40 actions), well
    within the server's payload limit; a school's plan has about 64."""
    document = plan_document(organization)
    area = document["priority_areas"][0]
    strategy = area["strategies"][0]
    milestone = strategy["milestones"][0]
    action = milestone["actions"][0]
    document["priority_areas"] = [
        {**area, "number": p, "strategies": [
            {**strategy, "number": f"{p}.{s}", "milestones": [
                {**milestone, "number": f"{p}.{s}.{m}", "actions": [
                    {**action, "number": f"{p}.{s}.{m}.{a}"} for a in range(1, 41)]}
                for m in (1, 2)]}
            for s in range(1, 5)]}
        for p in range(1, 5)
    ]  # fmt: skip
    return document


def with_change(document: dict, path: list[Any], value: Any) -> dict:
    """A deep copy of ``document`` with the value at ``path`` replaced."""
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def assessment_document(organization: str, instrument_code: str = "tool-c",
                        on: str = "2026-09-15", levels: dict[str, int] | None = None,
                        level: int = 2) -> dict:
    """A complete self-assessment: every element rated (``levels`` by element, else
    ``level``; a percent element at 60, a met element met), in canonical JSON form."""
    from contracts.assessments import SelfAssessment
    from contracts.instruments import Rating, instrument

    ratings = []
    for element in instrument(instrument_code).elements():
        if element.rating is Rating.LEVEL:
            ratings.append({"element": element.code,
                            "level": (levels or {}).get(element.code, level)})  # fmt: skip
        elif element.rating is Rating.PERCENT:
            ratings.append({"element": element.code, "percent": 60})
        else:
            ratings.append({"element": element.code, "met": True})
    return SelfAssessment.model_validate({
        "organization": organization, "instrument": instrument_code, "on": on,
        "team": [{"name": "Alex Rivera", "position": "Superintendent"}], "ratings": ratings,
    }).to_jsonable()  # fmt: skip
