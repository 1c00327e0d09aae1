import pytest

from services.plans.domain.errors import (
    AdjustmentRequiredError,
    NotAuthorizedError,
    PlanRuleError,
    PlanStatusError,
)
from services.plans.domain.plan import ImprovementPlan, PlanStatus
from tests.factories import plan_document, with_change

GOAL_STATEMENT = ["direction", "goals", 0, "statement"]


def approved_plan() -> ImprovementPlan:
    plan = ImprovementPlan.draft(plan_document("lincoln-elementary"), by="Pat")
    plan.submit(organization="lincoln-elementary", by="Pat")
    plan.approve(organization="riverside-usd", approver="riverside-usd", by="Sam")
    return plan


def test_draft_submit_approve_close():
    plan = approved_plan()
    assert plan.status is PlanStatus.APPROVED
    assert plan.approved_by == "riverside-usd"
    plan.close(organization="lincoln-elementary", approver="riverside-usd", by="Pat")
    assert plan.status is PlanStatus.CLOSED
    names = [type(e).__name__ for e in plan.collect_events()]
    assert names == ["Drafted", "Submitted", "Approved", "Closed"]


def test_same_plan_same_id():
    doc = plan_document("lincoln-elementary")
    assert ImprovementPlan.draft(doc, by="a").id == ImprovementPlan.draft(doc, by="b").id


def test_a_school_cannot_approve_its_own_plan():
    plan = ImprovementPlan.draft(plan_document("lincoln-elementary"), by="Pat")
    plan.submit(organization="lincoln-elementary", by="Pat")
    with pytest.raises(NotAuthorizedError, match="only by riverside-usd, not by lincoln"):
        plan.approve(organization="lincoln-elementary", approver="riverside-usd", by="Pat")
    assert plan.status is PlanStatus.SUBMITTED


def test_only_the_owner_submits():
    plan = ImprovementPlan.draft(plan_document("lincoln-elementary"), by="Pat")
    with pytest.raises(NotAuthorizedError):
        plan.submit(organization="riverside-usd", by="Sam")


def test_approving_again_by_the_same_approver_changes_nothing():
    plan = approved_plan()
    plan.collect_events()
    assert not plan.approve(organization="riverside-usd", approver="riverside-usd", by="Sam")
    assert plan.collect_events() == []
    with pytest.raises(NotAuthorizedError):  # anyone else is still refused
        plan.approve(organization="lincoln-elementary", approver="riverside-usd", by="Pat")


def test_a_draft_cannot_be_approved():
    plan = ImprovementPlan.draft(plan_document("lincoln-elementary"), by="Pat")
    with pytest.raises(PlanStatusError, match="is draft; only a submitted plan can be approved"):
        plan.approve(organization="riverside-usd", approver="riverside-usd", by="Sam")


def test_return_sends_a_submitted_plan_back_to_draft_with_a_reason():
    plan = ImprovementPlan.draft(plan_document("lincoln-elementary"), by="Pat")
    plan.submit(organization="lincoln-elementary", by="Pat")
    with pytest.raises(PlanRuleError):
        plan.return_to_draft(
            organization="riverside-usd", approver="riverside-usd", by="S", reason=" "
        )
    plan.return_to_draft(
        organization="riverside-usd", approver="riverside-usd", by="Sam", reason="Measures vague"
    )
    assert plan.status is PlanStatus.DRAFT


def test_revising_a_draft_with_the_same_document_records_nothing():
    doc = plan_document("lincoln-elementary")
    plan = ImprovementPlan.draft(doc, by="Pat")
    assert plan.revise(dict(doc), by="Pat") is False
    assert plan.revise(with_change(doc, GOAL_STATEMENT, "Every student grows."), by="Pat")
    assert [type(e).__name__ for e in plan.collect_events()] == ["Drafted", "DraftRevised"]


def test_an_approved_plan_changes_only_by_adjustment():
    plan = approved_plan()
    changed = with_change(plan.document, GOAL_STATEMENT, "Every student grows.")
    with pytest.raises(AdjustmentRequiredError):
        plan.revise(changed, by="Pat")
    with pytest.raises(AdjustmentRequiredError, match="needs both a cause and a justification"):
        plan.adjust(changed, cause="Data showed a gap", justification="", by="Pat")
    assert plan.adjust(changed, cause="Data", justification="Sharper goal", by="Pat")
    adjusted = plan.collect_events()[-1]
    assert type(adjusted).__name__ == "Adjusted"
    assert adjusted.cause == "Data" and adjusted.justification == "Sharper goal"
    assert adjusted.changes == ["direction changed"]
    assert plan.adjustment_count == 1


def test_an_adjustment_still_obeys_the_plan_rules():
    plan = approved_plan()
    broken = with_change(
        plan.document,
        ["priority_areas", 0, "strategies", 0, "milestones", 0, "actions", 0, "due"],
        "2028-01-01",
    )
    with pytest.raises(PlanRuleError, match="outside the plan year"):
        plan.adjust(broken, cause="c", justification="j", by="Pat")


def test_a_closed_plan_cannot_be_adjusted():
    plan = approved_plan()
    plan.close(organization="riverside-usd", approver="riverside-usd", by="Sam")
    changed = with_change(plan.document, GOAL_STATEMENT, "x")
    with pytest.raises(PlanStatusError, match="is closed"):
        plan.adjust(changed, cause="c", justification="j", by="Pat")
