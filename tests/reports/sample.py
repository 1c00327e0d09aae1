"""A report with known data: the plan of tests/unit/test_status_terms.py (its structure,
reports and closes), a rollup with its measures, and one support case."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from eventsourcing.persistence import Tracking

from contracts.periods import term_periods
from contracts.plans import ImprovementPlan
from services.status.translator import progress_result
from spn.reports.document import plan_report, shown_terms
from tests.factories import plan_document
from tests.unit.test_status_terms import KEY, STRUCTURE, _school


def sample_plan() -> dict[str, Any]:
    """birch-school's plan, its strategies those of STRUCTURE."""
    document = plan_document("birch-school")
    area = copy.deepcopy(document["priority_areas"][0])
    template = area["strategies"][0]
    area["strategies"] = [
        {**copy.deepcopy(template), "number": s["number"], "practice": s["practice"],
         "milestones": [
             {"number": m["number"], "description": f"Milestone {m['number']} is met",
              "due": m["due"], "actions": [
                  {**a, "description": f"Action {a['number']}", "person_responsible": "Coach",
                   "anticipated_outputs": [f"Output of {a['number']}"]}
                  for a in m["actions"]]}
             for m in s["milestones"]]}
        for s in STRUCTURE["strategies"]
    ]  # fmt: skip
    document["priority_areas"] = [area]
    document["supports"] = [{"needed": "Coaching on walk-throughs", "provided": "Two visits",
                             "provider": "lakeview-district", "source": "District",
                             "how_used": "Trained the leadership team",
                             "effectiveness": "Walk-throughs doubled"}]  # fmt: skip
    plan = ImprovementPlan.model_validate(document).to_jsonable()
    return {"summary": {"key": KEY}, "plan": plan}


ROLLUP = {
    "organization": {"code": "birch-school", "name": "Birch Elementary School"},
    "strategies": [{"number": "1.1", "practice": "1A", "status": "implemented_not_working",
                    "measures": [{"measure": "strategy:1.1:1", "indicator": "Lesson plans",
                                  "baseline": 26, "target": 36, "value": 31,
                                  "period": "2026-12", "on_target": False}]}],
    "goals": [{"number": "1", "measures": [{"measure": "goal:1:1", "indicator": "Growth",
                                            "baseline": 18, "target": 28, "value": 22,
                                            "period": "2026-12", "on_target": False}]}],
}  # fmt: skip
CASES = [{"case_id": "c1", "recipient": "birch-school", "addressed_to": "lakeview-district",
          "practice": "1A", "opened": "2026-11", "status": "supported", "practices": ["1A"],
          "reasons": ["actions behind schedule"],
          "support": {"provider": "lakeview-district", "what": "A coach for 1A", "on":
                      "2026-11-20", "period": "2026-11"},
          "judgment": {"effective": True, "on_time_before": 40.0, "on_time_after": 75.0}}]


def assessment_rows(*dated: tuple[str, dict[str, int]]) -> list[dict[str, Any]]:
    """birch-school's Tool C read-model rows, one per (date, levels not 2) given."""
    from uuid import uuid4

    from tests.factories import assessment_document

    return [{"assessment_id": uuid4(), "key": f"birch-school/tool-c/{on}", "version": 1,
             "recorded_by": "Pat", "instrument": "tool-c", "on_date": on,
             "document": assessment_document("birch-school", on=on, levels=levels)}
            for on, levels in dated]  # fmt: skip


TWO_YEARS: tuple[tuple[str, dict[str, int]], ...] = (
    ("2025-09-15", {}), ("2026-09-15", {"1a1": 4, "4c3": 1}))


def sample_assessments() -> list[dict[str, Any]]:
    """birch-school's Tool C a year apart, as ``ListAssessments`` answers: 2025 every
    element at 2; 2026 1a1 at 4 and 4c3 at 1, the rest at 2."""
    from services.plans.translator import assessment_views

    return [v.model_dump(mode="json") for v in assessment_views(assessment_rows(*TWO_YEARS))]


class SampleServices:
    """Answers ``spn report plan`` asks for birch-school from the sample's data, and its
    assessments from ``rows`` as the plans service selects them; the commands asked."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.asked: list[Any] = []
        self._school = _school()

    async def request(self, command: Any) -> dict[str, Any]:
        from contracts import plan_commands, rollup, status
        from contracts.assessments import ListAssessments
        from services.plans.translator import assessment_views

        self.asked.append(command)
        app = self._school
        plan, closes = app.plan_row(KEY), app.period_figures(KEY)
        if isinstance(command, plan_commands.GetPlan):
            return sample_plan()
        if isinstance(command, status.GetPlanProgress):
            periods = term_periods(command.term) if command.term else [max(closes)]
            return progress_result(plan, closes, app.action_reports(KEY, periods),
                                   command.term).to_jsonable()  # fmt: skip
        if isinstance(command, rollup.GetRollup):
            return ROLLUP
        if isinstance(command, rollup.ListSupportCases):
            return {"cases": CASES}
        assert isinstance(command, ListAssessments), command
        up_to = command.up_to.isoformat() if command.up_to else "9999"
        kept = [r for r in self.rows if r["on_date"] <= up_to]
        return {"organization": command.organization, "assessments": [
            v.model_dump(mode="json") for v in assessment_views(kept, command.latest)]}


def sample_report(term: str = "2026-Q2", assessments: list[dict[str, Any]] | None = None
                  ) -> dict[str, Any]:  # fmt: skip
    """As ``spn report plan`` gathers it: the progress, then each term shown on its own."""
    app = _school()
    plan, closes = app.plan_row(KEY), app.period_figures(KEY)
    progress = progress_result(plan, closes, app.action_reports(KEY, [max(closes)]))
    detailed = {}
    for shown in shown_terms(term):
        asked = progress_result(plan, closes, app.action_reports(KEY, term_periods(shown)),
                                shown)  # fmt: skip
        detailed[shown] = asked.to_jsonable()["terms"][0]
    return plan_report(term, sample_plan(), progress.to_jsonable(), ROLLUP, CASES, detailed,
                       assessments)


def sample_network(term: str = "2026-Q2") -> dict[str, Any]:
    """The LEA of tests/unit/test_rollup_application.py through Oct-Dec: elm falls behind
    (a flag, a case, a support that does not work, escalated), oak on time, with measures."""
    from contracts.rollup import SupportCaseView, WaningFlag
    from services.rollup import translator
    from spn.reports.network import network_report
    from tests.unit.test_rollup_application import (
        _strategy_measure,
        closed,
        figures,
        memory_app,
    )

    app = memory_app()
    app.take(Tracking("SPN_EVENTS", 5), [_strategy_measure("elm", "1.1", 1, 75),
                                         _strategy_measure("oak", "1.1", 1, 75)])  # fmt: skip
    app.report_measure("oak/2026-27", "strategy:1.1:1", "2026-10", 80, "Lee")
    closed(app, 10, "2026-10", elm=figures(4, 3, 1))
    [case] = app.support_cases()
    app.provide_support(case["case_id"], provider="lea", practice=None, on=date(2026, 10, 20),
                        what="coaching", by="Sam")  # fmt: skip
    closed(app, 20, "2026-11", elm=figures(6, 4, 2))
    closed(app, 30, "2026-12", elm=figures(8, 6, 2))
    rollups = {p: translator.report(app.rollup("lea", p)).to_jsonable()
               for p in ("2026-10", "2026-11", "2026-12")}  # fmt: skip
    flags = [WaningFlag.model_validate(r).model_dump(mode="json")
             for r in app.list_flags("lea", None)]
    cases = [SupportCaseView.model_validate(r).to_jsonable() for r in app.support_cases()]
    schools = [app.rollup(s, "2026-12") for s in ("elm", "oak")]  # their measures
    return network_report(term, rollups, flags, cases, schools)
