"""A report with known data: the plan of tests/unit/test_status_terms.py (its structure,
reports and closes), a rollup with its measures, and one support case."""

from __future__ import annotations

import copy
from typing import Any

from contracts.plans import ImprovementPlan
from services.status.translator import progress_result
from spn.reports.document import plan_report
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


def sample_report(term: str = "2026-Q2") -> dict[str, Any]:
    app = _school()
    progress = progress_result(app.plan_row(KEY), app.period_figures(KEY),
                               app.action_reports(KEY)).to_jsonable()  # fmt: skip
    return plan_report(term, sample_plan(), progress, ROLLUP, CASES)
