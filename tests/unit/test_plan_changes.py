from services.plans.domain.plan_changes import summarize_changes
from tests.factories import plan_document, with_change


def test_changes_are_named_by_the_plans_numbering():
    old = plan_document("a-school")
    new = with_change(
        old,
        ["priority_areas", 0, "strategies", 0, "milestones", 0, "actions", 1, "due"],
        "2027-04-30",
    )
    new["priority_areas"][1]["strategies"].pop()
    new["direction"]["vision"] = "A new vision"
    assert summarize_changes(old, new) == [
        "direction changed",
        "action 1.1.1.2 changed",
        "strategy 2.2 removed",
        "milestone 2.2.1 removed",
        "action 2.2.1.1 removed",
        "action 2.2.1.2 removed",
    ]
