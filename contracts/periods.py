"""Reporting periods are months, ``YYYY-MM``; a plan year runs July to June (the calendar
every service and the CLI share)."""

from __future__ import annotations

import calendar
from datetime import date


def last_day(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year, month, calendar.monthrange(year, month)[1])


def first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def plan_year_periods(plan_year: str) -> list[str]:
    """``2026-27`` -> ``2026-07`` ... ``2027-06``."""
    start = int(plan_year[:4])
    return [f"{start}-{m:02d}" for m in range(7, 13)] + [
        f"{start + 1}-{m:02d}" for m in range(1, 7)
    ]



def plan_year_of(period: str) -> str:
    """``2026-10`` -> ``2026-27``; ``2027-03`` -> ``2026-27`` (July to June)."""
    year, month = int(period[:4]), int(period[5:7])
    start = year if month >= 7 else year - 1
    return f"{start}-{(start + 1) % 100:02d}"
