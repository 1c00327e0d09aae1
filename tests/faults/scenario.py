"""The fault suite's school year: a network, its plans and each month's status reports, all
worked out in advance (deterministic), so what the services hold can be compared with what
the rules say of the reports sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from contracts.instruments import instrument
from tests.factories import assessment_document, organization, plan_document

SEA, LEA = "fs-sea", "fs-lea"
SCHOOLS = [f"fs-s{n:02d}" for n in range(1, 25)]
LATE_SCHOOL = "fs-s25"  # its plan is approved while the plans service is killed
ASSESSED = [LEA, *SCHOOLS[:4]]  # record Tool C self-assessments while plans is killed
ASSESSED_ON = ("2024-09-15", "2025-09-15", "2026-09-15")
PLAN_YEAR = "2026-27"
MONTHS = [f"2026-{m:02d}" for m in range(8, 13)] + [f"2027-{m:02d}" for m in range(1, 7)]


def organizations() -> list[dict[str, Any]]:
    schools = [organization(code, "SCHOOL", LEA) for code in [*SCHOOLS, LATE_SCHOOL]]
    return [organization(SEA, "SEA"), organization(LEA, "LEA", SEA), *schools]


def plan_key(school: str) -> str:
    return f"{school}/{PLAN_YEAR}"


def plan(school: str) -> dict[str, Any]:
    return plan_document(school, PLAN_YEAR)


def actions(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for area in document["priority_areas"] for s in area["strategies"]
            for m in s["milestones"] for a in m["actions"]]  # fmt: skip


def last_day(period: str) -> date:
    year, month = map(int, period.split("-"))
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - timedelta(days=1)


def completion_month(school: str, index: int) -> str | None:
    """When the school reports its ``index``-th action complete; None: never this year. A
    spread, so some schools are behind, some on time, some catch up late."""
    n = int(school.removeprefix("fs-s"))
    slot = (n * 3 + index * 5) % 15
    return MONTHS[slot] if slot < len(MONTHS) else None


def silent(school: str, period: str) -> bool:
    """A school that sends no report in the month (the silent rule)."""
    n = int(school.removeprefix("fs-s"))
    return (n + MONTHS.index(period)) % 9 == 0


@dataclass(frozen=True)
class Report:
    body: dict[str, Any]

    @property
    def report_id(self) -> str:
        return str(self.body["report_id"])

    @property
    def organization(self) -> str:
        return str(self.body["reporter"]["organization"])


def month_reports(school: str, period: str) -> list[Report]:
    """The school's reports for one month: each action started and not yet complete
    (complete in this month: reported so); none once reported complete."""
    if silent(school, period):
        return []
    found = []
    for index, action in enumerate(actions(plan(school))):
        done = completion_month(school, index)
        if done is not None and done < period:
            continue
        if action["start"] > last_day(period).isoformat():
            status, completed_on = "not_started", None
        elif done == period:
            status, completed_on = "complete", f"{period}-{10 + index:02d}"
        else:
            status, completed_on = "in_progress", None
        found.append(Report({
            "report_id": f"{school}:{action['number']}:{period}",
            "plan": plan_key(school),
            "action": action["number"],
            "period": period,
            "status": status,
            "completed_on": completed_on,
            "outputs_completed": [f"Output of {action['number']}"] if completed_on else [],
            "comments": f"Reported for {period}",
            "reporter": {"name": "Pat Principal", "organization": school},
        }))  # fmt: skip
    return found


def schools_reporting(period: str) -> list[str]:
    """Schools whose plans are approved before the month's reports are sent."""
    return SCHOOLS if period == MONTHS[0] else [*SCHOOLS, LATE_SCHOOL]


def poison(period: str) -> tuple[bytes, Report]:
    """What a careless or hostile client sends each month: bytes that are no JSON, and a
    report that breaks its contract (complete without a completion date)."""
    school = SCHOOLS[0]
    broken = Report({
        "report_id": f"{school}:broken:{period}", "plan": plan_key(school),
        "action": "1.1.1.1", "period": period, "status": "complete",
        "reporter": {"name": "Pat Principal", "organization": school},
    })  # fmt: skip
    return b"\x00\xffnot json {", broken


def assessments(org: str) -> list[dict[str, Any]]:
    """The organization's Tool C self-assessments, a year apart (oldest first): levels
    spread by organization, year and element."""
    n = ASSESSED.index(org)
    codes = [e.code for e in instrument("tool-c").elements()]
    return [assessment_document(org, "tool-c", on,
                                levels={c: (n + y + i) % 4 + 1 for i, c in enumerate(codes)})
            for y, on in enumerate(ASSESSED_ON)]  # fmt: skip
