"""What each status request does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from contracts import replay as rp
from contracts import status as st
from contracts import timeline as tl
from contracts.periods import last_day, plan_year_of_term, term_periods
from services.shared.scope import Scope
from services.status import closing, translator
from services.status.application import StatusApplication
from services.status.domain.errors import PeriodNotEndedError, TermOutsidePlanYearError


def utc_today() -> date:
    """The day it is in UTC: when a month has ended, for closing it by hand or by itself."""
    return datetime.now(UTC).date()


class StatusEndpoints:
    def __init__(
        self, app: StatusApplication, on_stored: Callable[[], None], write_lock: asyncio.Lock,
        today: Callable[[], date],  # the clock of "ended": the service's one (UTC)
    ):  # fmt: skip
        self._today = today
        self._app = app
        self._on_stored = on_stored
        self._lock = write_lock

    async def close_period(self, request: st.ClosePeriod) -> st.PeriodCloseResult:
        """Takes the write lock step by step (not for the whole close)."""
        ends = last_day(request.period)
        if ends >= self._today() and not request.early:
            raise PeriodNotEndedError(
                f"{request.period} has not ended: its last day is {ends:%Y-%m-%d} (UTC); a "
                "close cannot be undone (close it early only on purpose: --early)")  # fmt: skip
        closed, evaluated = await closing.close_period(
            self._app, request.period, self._lock, self._on_stored
        )
        return st.PeriodCloseResult(
            period=request.period,
            result="closed" if closed else "unchanged",
            plans_evaluated=evaluated,
        )

    def get_report_outcomes(self, request: st.GetReportOutcomes, scope: Scope
                            ) -> st.ReportOutcomes:  # fmt: skip
        """Of the reports the asker and those beneath it sent (another's: pending)."""
        senders = scope.family()
        if request.sender is not None:
            scope.require(request.sender, f"the reports of {request.sender}")
            senders = {request.sender}
        found = self._app.report_outcomes(request.report_ids, senders)
        return st.ReportOutcomes(
            outcomes=[
                st.ReportOutcome(**_without_sender(found[r])) if r in found else st.ReportOutcome(
                    report_id=r, outcome="pending")
                for r in request.report_ids
            ]
        )  # fmt: skip

    def replay(self, request: rp.ReplayPlanStatus) -> rp.PlanStatusAsOf:
        return rp.PlanStatusAsOf(**self._app.progress_as_of(request.plan, request.as_of))

    def get_timeline(self, request: tl.GetPlanStatusTimeline) -> tl.PlanTimeline:
        found = self._app.timeline(request.plan)
        return tl.PlanTimeline(plan=request.plan, service="status", entries=found)

    def get_plan_progress(self, request: st.GetPlanProgress) -> st.PlanProgressReport:
        plan = self._app.plan_row(request.plan)
        closes = self._app.period_figures(request.plan)
        if request.term and plan_year_of_term(request.term) != plan["plan_year"]:
            raise TermOutsidePlanYearError(
                f"term {request.term} is of plan year {plan_year_of_term(request.term)}, not "
                f"of {plan['plan_year']} (plan {request.plan})")  # fmt: skip
        months = term_periods(request.term) if request.term else [max(closes)] if closes else []
        reports = self._app.action_reports(request.plan, months) if months else []
        return translator.progress_result(plan, closes, reports, request.term)


def _without_sender(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "sender"}
