"""Automatic period close: each month is closed N days after it ends.

Only the wall clock decides *when*; the close itself evaluates as of the period's last day.
A month is due from its last day + N days until the next month is; a month missed entirely (the
service was down throughout) is not backfilled: close it with `spn period close`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from contracts.periods import last_day, next_period, plan_year_periods


def due_periods(today: date, plan_years: Iterable[str], days_after: int) -> list[str]:
    """Periods of these plan years whose turn to be closed it is today."""
    if days_after <= 0:
        return []

    def opens(period: str) -> date:
        return last_day(period) + timedelta(days=days_after)

    return sorted(
        {
            period
            for plan_year in plan_years
            for period in plan_year_periods(plan_year)
            if opens(period) <= today < opens(next_period(period))
        }
    )
