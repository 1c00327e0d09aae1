"""The service layer on the in-memory event store (the same code runs on PostgreSQL in the
integration tests)."""

from uuid import UUID

import pytest

from services.plans.application import PlansApplication
from services.plans.domain.errors import (
    NotAuthorizedError,
    OrganizationConflictError,
    OrganizationNotFoundError,
    PlanNotFoundError,
)
from services.plans.domain.ids import plan_id
from tests.factories import plan_document, with_change


def network() -> PlansApplication:
    app = PlansApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.register_organization(code="sea", kind="SEA", name="SEA", parent=None, profile={})
    app.register_organization(code="lea", kind="LEA", name="LEA", parent="sea", profile={})
    app.register_organization(code="school", kind="SCHOOL", name="S", parent="lea", profile={})
    return app


def test_importing_the_same_plan_twice_changes_nothing():
    app = network()
    first = app.import_plan(plan_document("school"), by="Pat")
    before = app.recorder.max_notification_id()
    second = app.import_plan(plan_document("school"), by="Pat")
    assert (first.result, second.result, second.changed) == ("drafted", "unchanged", False)
    assert app.recorder.max_notification_id() == before


def test_a_plan_needs_a_registered_organization():
    with pytest.raises(OrganizationNotFoundError, match="nowhere-school is not registered"):
        network().import_plan(plan_document("nowhere-school"), by="Pat")


def test_approval_follows_the_tree():
    app = network()
    for owner in ("sea", "lea", "school"):
        app.import_plan(plan_document(owner), by="p")
        app.submit_plan(plan_id(owner, "2026-27"), organization=owner, by="p")
    school_plan = plan_id("school", "2026-27")
    with pytest.raises(NotAuthorizedError):
        app.approve_plan(school_plan, organization="school", by="p")
    with pytest.raises(NotAuthorizedError):
        app.approve_plan(school_plan, organization="sea", by="p")
    assert app.approve_plan(school_plan, organization="lea", by="p").result == "approved"
    again = app.approve_plan(school_plan, organization="lea", by="p")  # idempotent
    assert (again.result, again.changed) == ("unchanged", False)
    assert app.approve_plan(plan_id("lea", "2026-27"), organization="sea", by="p").changed
    assert app.approve_plan(plan_id("sea", "2026-27"), organization="sea", by="p").changed


def approved_then_adjusted(app: PlansApplication) -> tuple[UUID, dict]:
    """school's plan, submitted, approved by lea, then adjusted by Pat (cause Survey,
    justification Clarity); its id and the adjusted document."""
    doc = plan_document("school")
    outcome = app.import_plan(doc, by="Pat")
    app.submit_plan(outcome.id, organization="school", by="Pat")
    app.approve_plan(outcome.id, organization="lea", by="Sam")
    changed = with_change(doc, ["direction", "mission"], "A sharper mission.")
    adjusted = app.import_plan(changed, by="Pat", cause="Survey", justification="Clarity")
    assert adjusted.result == "adjusted"
    return outcome.id, changed


def test_an_adjustment_is_kept_in_the_history():
    app = network()
    plan, changed = approved_then_adjusted(app)
    again = app.import_plan(changed, by="Pat", cause="Survey", justification="Clarity")
    assert again.result == "unchanged"
    history = app.plan_history(plan)
    assert [type(e).__name__ for e in history] == ["Drafted", "Submitted", "Approved", "Adjusted"]
    assert history[-1].cause == "Survey"


def test_re_registering_with_another_parent_is_refused():
    app = network()
    app.register_organization(code="lea2", kind="LEA", name="L2", parent="sea", profile={})
    with pytest.raises(OrganizationConflictError):
        app.register_organization(code="school", kind="SCHOOL", name="S", parent="lea2", profile={})


def test_unknown_plan():
    with pytest.raises(PlanNotFoundError):
        network().get_plan(plan_id("school", "2030-31"))


def test_a_save_with_nothing_new_leaves_the_directory_row_as_stored():
    """A request that loaded the plan before another approved it must not write its older
    row back when it changes nothing."""
    app = network()
    app.import_plan(plan_document("school"), by="Pat")
    stale = app.get_plan(plan_id("school", "2026-27"))  # loaded, then the plan moves on
    app.submit_plan(stale.id, organization="school", by="Pat")
    app.save(stale)  # nothing pending
    [row] = app.view.plans({"school"})
    assert (row["status"], row["version"]) == ("submitted", stale.version + 1)


def test_the_directory_is_rebuilt_from_the_store():
    app = network()
    app.import_plan(plan_document("school"), by="Pat")
    before = (app.view.organizations(), app.view.plans())
    assert app.rebuild_directory() == 4  # three organizations and a plan
    assert (app.view.organizations(), app.view.plans()) == before
    assert not app.view.incomplete()
