"""PlanProgress aggregate: one approved plan's action reports and its period closes."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from contracts.periods import last_day, plan_year_periods
from services.status.domain.errors import (
    CompletedAfterPeriodError,
    ForeignReporterError,
    PeriodOutsidePlanYearError,
    PlanNotActiveError,
    UnknownActionError,
)
from services.status.domain.figures import milestone_counts, milestone_states, total

NAMESPACE = UUID("0b6f7f8e-3f0e-4f0a-9a43-5e0c8a3c2d11")
REPORT_FIELDS = (
    "report_id", "action", "period", "status", "completed_on", "outputs_completed",
    "cause_and_adjustments", "resources_used", "budget_used", "comments", "reporter",
    "evidence",
)  # fmt: skip


class PlanProgress(Aggregate):
    """``structure``: the plan's strategies (number, practice), milestones (number, due) and
    actions (number, start, due), as approved or last adjusted."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE, f"progress:{key}")

    @event("Adopted")
    def __init__(
        self, *, plan_id: UUID, key: str, organization: str, plan_year: str, structure: dict
    ) -> None:
        self.plan_id = plan_id
        self.key = key
        self.organization = organization
        self.plan_year = plan_year
        self.structure = structure
        self.active = True
        self.report_ids: set[str] = set()
        self.reports: dict[str, list[tuple[str, date | None]]] = {}
        self.periods_reported: set[str] = set()
        self.periods_closed: set[str] = set()
        self.slipped: set[str] = set()

    # -- the plan --------------------------------------------------------------------------

    def revise(self, structure: dict) -> bool:
        if structure == self.structure:
            return False
        self._revise(structure=structure)
        return True

    @event("StructureRevised")
    def _revise(self, *, structure: dict) -> None:
        self.structure = structure

    def end(self) -> None:
        if self.active:
            self._end()

    @event("Ended")
    def _end(self) -> None:
        self.active = False

    # -- reports ---------------------------------------------------------------------------

    def record(self, report: dict[str, Any]) -> bool:
        """Record one action status report; False when its report id was seen before. A
        reporter of another organization is refused first, so it cannot learn which ids
        the plan's own reports have."""
        self._check_reporter(report)
        if report["report_id"] in self.report_ids:
            return False
        self.check_report(report)
        fields: dict[str, Any] = {name: report.get(name) for name in REPORT_FIELDS}
        fields["evidence"] = list(report.get("evidence") or [])
        self._record(**fields)
        return True

    def _check_reporter(self, report: dict[str, Any]) -> None:
        if report["reporter"]["organization"] != self.organization:
            raise ForeignReporterError(
                f"reporter of {report['reporter']['organization']} cannot report for "
                f"{self.organization}'s plan {self.key}"
            )

    def check_report(self, report: dict[str, Any]) -> None:
        if not self.active:
            raise PlanNotActiveError(f"plan {self.key} is closed; it takes no more reports")
        if report["action"] not in self.action_numbers():
            raise UnknownActionError(f"plan {self.key} has no action {report['action']}")
        period = report["period"]
        if period not in plan_year_periods(self.plan_year):
            raise PeriodOutsidePlanYearError(
                f"period {period} is outside plan year {self.plan_year} of plan {self.key}"
            )
        completed_on = report.get("completed_on")
        if completed_on and date.fromisoformat(completed_on) > last_day(period):
            raise CompletedAfterPeriodError(
                f"action {report['action']} completed on {completed_on}, after period {period}"
            )

    class StatusRecorded(Aggregate.Event):
        """One report taken. Version 2 added ``evidence`` (what backs the report: document
        names or links); a version 1 event is read with none."""

        class_version = 2
        report_id: str
        action: str
        period: str
        status: str
        completed_on: str | None
        outputs_completed: list[str]
        cause_and_adjustments: str | None
        resources_used: str | None
        budget_used: str | None
        comments: str | None
        reporter: dict[str, Any]
        evidence: list[str]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["evidence"] = []

    @event(StatusRecorded)
    def _record(
        self,
        *,
        report_id: str,
        action: str,
        period: str,
        status: str,
        completed_on: str | None,
        outputs_completed: list[str],
        cause_and_adjustments: str | None,
        resources_used: str | None,
        budget_used: str | None,
        comments: str | None,
        reporter: dict[str, Any],
        evidence: list[str],
    ) -> None:
        self.report_ids.add(report_id)
        entry = (period, date.fromisoformat(completed_on) if completed_on else None)
        self.reports.setdefault(action, []).append(entry)
        self.periods_reported.add(period)

    # -- period close ----------------------------------------------------------------------

    def close_period(self, period: str) -> dict[str, Any] | None:
        """Evaluate the plan as of the period's last day: its figures (``as_of``,
        ``figures``, ``strategies``), kept by a read model, not here; None if closed before."""
        if period in self.periods_closed or period not in plan_year_periods(self.plan_year):
            return None
        as_of = last_day(period)
        states = milestone_states(self.structure, self.completions_as_of(period))
        practice = {s["number"]: s["practice"] for s in self.structure["strategies"]}
        for strategy, milestones in states.items():
            for milestone in milestones:
                for action in milestone.actions:
                    if action.overdue(as_of):
                        self._action_overdue(
                            period=period, action=action.number, strategy=strategy,
                            practice=practice[strategy], due=action.due.isoformat(),
                            days_overdue=(as_of - action.due).days,
                        )  # fmt: skip
                reason = milestone.slip_reason(as_of)
                if reason and milestone.number not in self.slipped:
                    self._milestone_slipped(
                        period=period, milestone=milestone.number, strategy=strategy,
                        practice=practice[strategy], due=milestone.due.isoformat(),
                        reason=reason, incomplete_actions=milestone.incomplete_actions(),
                    )  # fmt: skip
        if period not in self.periods_reported:
            self._report_missing(period=period)
        counts = {
            strategy: [milestone_counts(m, as_of) for m in milestones]
            for strategy, milestones in states.items()
        }
        close: dict[str, Any] = {
            "as_of": as_of.isoformat(),
            "figures": total(c for cs in counts.values() for c in cs).figures(),
            "strategies": [
                {
                    "number": strategy,
                    "practice": practice[strategy],
                    "figures": total(counts[strategy]).figures(),
                    "milestones": [
                        {"number": m.number, "figures": c.figures()}
                        for m, c in zip(milestones, counts[strategy], strict=True)
                    ],
                }
                for strategy, milestones in states.items()
            ],
        }
        self._period_closed(period=period, **close)
        return close

    def completions_as_of(self, period: str) -> dict[str, date | None]:
        """Each action's completion date per its latest report for a period up to ``period``."""
        result: dict[str, date | None] = {}
        for action, entries in self.reports.items():
            upto = [entry for entry in entries if entry[0] <= period]
            if upto:
                latest_period = max(p for p, _ in upto)
                result[action] = [c for p, c in upto if p == latest_period][-1]
        return result

    def placement(self, action: str) -> dict[str, str]:
        """The milestone, strategy and practice an action belongs to, as the plan stands."""
        return placement(self.structure, action)

    def action_numbers(self) -> set[str]:
        return {
            a["number"]
            for s in self.structure["strategies"]
            for m in s["milestones"]
            for a in m["actions"]
        }

    @event("ActionOverdue")
    def _action_overdue(
        self, *, period: str, action: str, strategy: str, practice: str, due: str, days_overdue: int
    ) -> None:
        pass

    @event("MilestoneSlipped")
    def _milestone_slipped(
        self,
        *,
        period: str,
        milestone: str,
        strategy: str,
        practice: str,
        due: str,
        reason: str,
        incomplete_actions: list[str],
    ) -> None:
        self.slipped.add(milestone)

    @event("ReportMissing")
    def _report_missing(self, *, period: str) -> None:
        pass

    @event("PeriodClosed")
    def _period_closed(
        self, *, period: str, as_of: str, figures: dict[str, Any], strategies: list[dict[str, Any]]
    ) -> None:
        self.periods_closed.add(period)


def placement(structure: dict[str, Any], action: str) -> dict[str, str]:
    for s in structure["strategies"]:
        for m in s["milestones"]:
            if any(a["number"] == action for a in m["actions"]):
                return {"milestone": m["number"], "strategy": s["number"],
                        "practice": s["practice"]}  # fmt: skip
    raise UnknownActionError(f"no action {action} in the plan")


def plan_structure(plan: dict[str, Any]) -> dict[str, Any]:
    """The part of a plan document the status service needs."""
    return {
        "strategies": [
            {
                "number": s["number"],
                "practice": s["practice"],
                "milestones": [
                    {
                        "number": m["number"],
                        "due": m["due"],
                        "actions": [
                            {"number": a["number"], "start": a["start"], "due": a["due"]}
                            for a in m["actions"]
                        ],
                    }
                    for m in s["milestones"]
                ],
            }
            for area in plan["priority_areas"]
            for s in area["strategies"]
        ]
    }
