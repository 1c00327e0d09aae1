"""Simulated monthly status reports for the demo: deterministic, from the plans themselves.

A school on track completes each action three days before it is due; a slipping school
completes only every other action, three weeks late, and leaves the rest in progress.
"""

from __future__ import annotations

from datetime import date, timedelta

from contracts.plans import ImprovementPlan
from contracts.status import ActionStatus, ActionStatusReported, Reporter
from services.status.domain.periods import first_day, last_day


def monthly_reports(
    plan: ImprovementPlan, period: str, *, slipping: bool, reporter: str
) -> list[ActionStatusReported]:
    """The reports a school's teams would file for ``period``."""
    start, end = first_day(period), last_day(period)
    reports = []
    actions = [
        action
        for area in plan.priority_areas
        for strategy in area.strategies
        for milestone in strategy.milestones
        for action in milestone.actions
    ]
    for index, action in enumerate(actions):
        if action.start > end:
            continue
        done = _completion(action.start, action.due, slipping and index % 2 == 0, slipping)
        if done is not None and done < start:
            continue  # reported complete in an earlier month
        status = (
            ActionStatus.COMPLETE if done is not None and done <= end else ActionStatus.IN_PROGRESS
        )
        reports.append(
            ActionStatusReported(
                report_id=f"demo:{plan.key}:{action.number}:{period}",
                plan=plan.key,
                action=action.number,
                period=period,
                status=status,
                completed_on=done if status is ActionStatus.COMPLETE else None,
                outputs_completed=action.anticipated_outputs
                if status is ActionStatus.COMPLETE
                else [],
                cause_and_adjustments=(
                    "Staff turnover delayed the work; the team re-sequenced the remaining steps"
                    if slipping and status is ActionStatus.IN_PROGRESS and action.due <= end
                    else None
                ),
                reporter=Reporter(name=reporter, organization=plan.organization),
            )
        )
    return reports


def _completion(start: date, due: date, late: bool, stalled: bool) -> date | None:
    if stalled and not late:
        return None  # a slipping school leaves every other action in progress
    if late:
        return due + timedelta(days=21)
    return max(start, due - timedelta(days=3))
