"""The status service's part of a plan's timeline: its progress aggregate's events, every
monthly report with all it says, the slips and misses, each close with its figures."""

from __future__ import annotations

from typing import Any

from services.shared.timeline import Describe, Entry, entry

SERVICE = "status"
REPORT_FIELDS = ("report_id", "action", "status", "completed_on", "outputs_completed",
                 "cause_and_adjustments", "resources_used", "budget_used", "comments",
                 "evidence")  # fmt: skip


def _adopted(event: Any) -> Entry:
    return entry(event, SERVICE, "status.adopted", "adopted for monthly reporting "
                 f"({len(event.structure['strategies'])} strategies)")  # fmt: skip


def _revised(event: Any) -> Entry:
    return entry(event, SERVICE, "status.structure_revised", "strategies, milestones and "
                 "actions revised (the approved plan was adjusted)")  # fmt: skip


def _ended(event: Any) -> Entry:
    return entry(event, SERVICE, "status.ended", "no longer reported (the plan closed)")


def _reported(event: Any) -> Entry:
    reporter = event.reporter
    who = f"{reporter.get('name')} ({reporter.get('organization')})"
    done = f" on {event.completed_on}" if event.completed_on else ""
    return entry(event, SERVICE, "status.reported", f"action {event.action}: "
                 f"{event.status}{done}", who=who, effective=event.period,
                 details={f: getattr(event, f) for f in REPORT_FIELDS})  # fmt: skip


def _overdue(event: Any) -> Entry:
    days = f"{event.days_overdue} day{'s' if event.days_overdue != 1 else ''}"
    return entry(event, SERVICE, "status.action_overdue", f"action {event.action} "
                 f"{days} overdue (due {event.due})", effective=event.period,
                 details={"action": event.action, "strategy": event.strategy,
                          "due": event.due, "days_overdue": event.days_overdue})  # fmt: skip


def _slipped(event: Any) -> Entry:
    return entry(event, SERVICE, "status.milestone_slipped", f"milestone {event.milestone} "
                 f"slipped: {event.reason}", effective=event.period,
                 details={"milestone": event.milestone, "strategy": event.strategy,
                          "due": event.due, "reason": event.reason,
                          "incomplete_actions": list(event.incomplete_actions)})  # fmt: skip


def _missing(event: Any) -> Entry:
    return entry(event, SERVICE, "status.report_missing", "no report for the period",
                 effective=event.period)  # fmt: skip


def _closed(event: Any) -> Entry:
    f = event.figures
    return entry(event, SERVICE, "status.period_closed", f"period closed: on time "
                 f"{_pct(f['actions_on_time_pct'])}, behind {_pct(f['actions_behind_pct'])}, "
                 f"completed {_pct(f['actions_completed_pct'])}", effective=event.period,
                 details={"as_of": event.as_of, "figures": f})  # fmt: skip


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value}%"


DESCRIBED: dict[str, Describe] = {
    "PlanProgress.Adopted": _adopted,
    "PlanProgress.StructureRevised": _revised,
    "PlanProgress.Ended": _ended,
    "PlanProgress.StatusRecorded": _reported,
    "PlanProgress.ActionOverdue": _overdue,
    "PlanProgress.MilestoneSlipped": _slipped,
    "PlanProgress.ReportMissing": _missing,
    "PlanProgress.PeriodClosed": _closed,
}
