"""Automatic period close: each month is closed N days after it ends.

Only the wall clock decides *when*; the close itself evaluates as of the period's last day.
A month is due from its last day + N days for one month; a month missed entirely (the
service was down throughout) is not backfilled: close it with `spn period close`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from services.status.domain.periods import last_day, plan_year_periods


def due_periods(today: date, plan_years: Iterable[str], days_after: int) -> list[str]:
    """Periods of these plan years whose turn to be closed it is today."""
    if days_after <= 0:
        return []
    due = set()
    for plan_year in plan_years:
        for period in plan_year_periods(plan_year):
            opens = last_day(period) + timedelta(days=days_after)
            if opens <= today < opens + timedelta(days=31):
                due.add(period)
    return sorted(due)
