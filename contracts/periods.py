"""Reporting periods are months, ``YYYY-MM``; a plan year runs from its first month
(``SPN_PLAN_YEAR_START``, default 7: July to June) for twelve months, named by the two
calendar years it spans (``2026-27``). Every service and the CLI share this calendar: set
it once for a deployment, before its first plan (a plan's periods follow it)."""

from __future__ import annotations

import calendar
import os
import re
from datetime import date

PLAN_YEAR_START = "SPN_PLAN_YEAR_START"
DEFAULT_PLAN_YEAR_START = 7


def plan_year_start() -> int:
    """The plan year's first month, 2 to 12 (a plan year spans two calendar years)."""
    raw = os.environ.get(PLAN_YEAR_START, "").strip() or str(DEFAULT_PLAN_YEAR_START)
    if not raw.isascii() or not raw.isdigit() or not 2 <= int(raw) <= 12:
        raise ValueError(f"{PLAN_YEAR_START}={raw!r}: the plan year's first month, 2 to 12 "
                         "(7: July to June; a plan year spans two calendar years)")  # fmt: skip
    return int(raw)


def last_day(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def plan_year_periods(plan_year: str, first: int | None = None) -> list[str]:
    """``2026-27`` -> ``2026-07`` ... ``2027-06`` (``first``: the first month; None: the
    deployment's)."""
    year, first = int(plan_year[:4]), first or plan_year_start()
    return [f"{year}-{m:02d}" for m in range(first, 13)] + [
        f"{year + 1}-{m:02d}" for m in range(1, first)
    ]


def plan_year_of(period: str, first: int | None = None) -> str:
    """``2026-10`` -> ``2026-27``; ``2027-03`` -> ``2026-27`` (July to June)."""
    year, month = int(period[:4]), int(period[5:7])
    start = year if month >= (first or plan_year_start()) else year - 1
    return f"{start}-{(start + 1) % 100:02d}"


# -- terms: the quarters, semesters and year of a plan year ---------------------------------
#
# Seed 004: status is reported monthly, shared with the district quarterly, milestones are
# reviewed each semester and measures yearly. The terms follow the plan year (by default
# July to June): Q1 Jul-Sep, Q2 Oct-Dec, Q3 Jan-Mar, Q4 Apr-Jun; S1 Jul-Dec, S2 Jan-Jun;
# each the plan year's first, second ... three or six months whatever its first month. A
# term is named by the plan year's first calendar year: ``2026-Q2`` is October to December
# 2026, ``2026-S2`` January to June 2027, and the year is the plan year itself, ``2026-27``.

TERM_MONTHS = {"Q": 3, "S": 6}
TERM_KINDS = {"Q": "quarter", "S": "semester"}


def term_periods(term: str) -> list[str]:
    """The months of a term: ``2026-Q2`` -> ``2026-10`` ... ``2026-12``; ``2026-27`` -> its
    twelve months (ValueError for anything else)."""
    found = re.fullmatch(r"(\d{4})-([QS])([1-4])", term, re.ASCII)
    if found and int(found[3]) <= 12 // TERM_MONTHS[found[2]]:
        size, index = TERM_MONTHS[found[2]], int(found[3])
        return plan_year_periods(f"{found[1]}-00")[(index - 1) * size : index * size]
    if re.fullmatch(r"\d{4}-\d{2}", term, re.ASCII) and int(term[5:]) == (int(term[:4]) + 1) % 100:
        return plan_year_periods(term)
    shown = term if len(term) <= 40 else term[:40] + "…"
    raise ValueError(f"term {shown!r} must be a quarter (2026-Q2: Oct-Dec 2026), a semester "
                     "(2026-S1: Jul-Dec 2026) or a plan year (2026-27)")  # fmt: skip


def term_kind(term: str) -> str:
    """quarter, semester or year."""
    term_periods(term)
    return TERM_KINDS.get(term[5], "year")


def plan_year_of_term(term: str) -> str:
    return plan_year_of(term_periods(term)[0])


def terms_of_plan_year(plan_year: str) -> list[str]:
    """``2026-27`` -> its four quarters, two semesters and itself, in that order."""
    start = plan_year[:4]
    return [f"{start}-Q{n}" for n in range(1, 5)] + [f"{start}-S{n}" for n in (1, 2)] + [
        plan_year
    ]


def terms_ending(period: str) -> list[str]:
    """The terms whose last month is ``period``: ``2026-12`` -> ``2026-Q2``, ``2026-S1``."""
    return [t for t in terms_of_plan_year(plan_year_of(period)) if term_periods(t)[-1] == period]


def term_label(term: str) -> str:
    """``2026-Q2`` -> ``Q2 2026-27 (Oct-Dec 2026)``, for people."""
    months = term_periods(term)
    first, last = first_day(months[0]), first_day(months[-1])
    span = f"{first:%b %Y}-{last:%b %Y}" if first.year != last.year else (
        f"{first:%b}-{last:%b %Y}")  # fmt: skip
    kind = term_kind(term)
    name = plan_year_of_term(term) if kind == "year" else f"{term[5:]} {plan_year_of_term(term)}"
    return f"{name} ({span})"
