"""Simulated monthly status reports for the demo: deterministic, from the plans themselves.

An organization on track completes each action three days before it is due. While it
slips (a window of months), every other action due in the window is finished three weeks
late and the rest stall; when it recovers, stalled actions are finished in the first week
of the recovery month and later ones on time again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from contracts.periods import first_day, last_day
from contracts.plans import ImprovementPlan
from contracts.status import ActionStatus, ActionStatusReported, Reporter


@dataclass(frozen=True)
class Slip:
    """Actions due from ``start`` to the end of ``until`` slip; ``recovers`` next month."""

    start: str
    until: str
    recovers: str


def monthly_reports(
    plan: ImprovementPlan, period: str, *, slip: Slip | None, reporter: str
) -> list[ActionStatusReported]:
    """The reports an organization's teams would file for ``period``."""
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
        done = completion(action.start, action.due, index, slip)
        if done < start:
            continue  # reported complete in an earlier month
        complete = done <= end
        late = complete and done > action.due
        reports.append(
            ActionStatusReported(
                report_id=f"demo:{plan.key}:{action.number}:{period}",
                plan=plan.key,
                action=action.number,
                period=period,
                status=ActionStatus.COMPLETE if complete else ActionStatus.IN_PROGRESS,
                completed_on=done if complete else None,
                outputs_completed=action.anticipated_outputs if complete else [],
                cause_and_adjustments=(
                    "Staff turnover delayed the work; the team re-sequenced the remaining steps"
                    if late or (not complete and action.due <= end)
                    else None
                ),
                resources_used=action.resources if complete else None,
                budget_used=action.budget if complete else None,
                comments=f"Done on {done:%b %d}; evidence kept by the leadership team"
                if complete else None,
                reporter=Reporter(name=reporter, organization=plan.organization),
            )
        )
    return reports


def completion(start: date, due: date, index: int, slip: Slip | None) -> date:
    on_time = max(start, due - timedelta(days=3))
    if slip is None or not first_day(slip.start) <= due <= last_day(slip.until):
        return on_time
    if index % 2 == 0:
        return due + timedelta(days=21)
    return first_day(slip.recovers) + timedelta(days=4)  # stalled until the recovery
