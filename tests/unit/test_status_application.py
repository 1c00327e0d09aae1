"""The status service layer on the in-memory event store and read models (the same code
runs on PostgreSQL in the integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsourcing.persistence import Tracking

from contracts import status as st
from services.status.application import Delivery, StatusApplication
from services.status.domain.plan_progress import plan_structure
from services.status.translator import report_input
from tests.factories import plan_document

EVENTS, INBOX = "SPN_EVENTS", "SPN_STATUS_INBOX"


def memory_app() -> StatusApplication:
    return StatusApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})


def approved(sequence: int, school: str) -> Delivery:
    return Delivery(sequence, {
        "kind": "approved", "plan_id": str(uuid4()), "key": f"{school}/2026-27",
        "organization": school, "plan_year": "2026-27",
        "structure": plan_structure(plan_document(school)),
    })  # fmt: skip


def report(sequence: int, rid: str, school: str = "oak-school") -> Delivery:
    contract = st.ActionStatusReported.model_validate({
        "report_id": rid, "plan": f"{school}/2026-27", "action": "1.1.1.1", "period": "2026-10",
        "status": "complete", "completed_on": "2026-10-20",
        "reporter": {"name": "Pat", "organization": school},
    })  # fmt: skip
    return Delivery(sequence, report_input(contract), "spn.inbox.status." + school,
                    contract.to_json())  # fmt: skip


def take_reports(app: StatusApplication, *deliveries: Delivery) -> None:
    app.commit(app.prepare_reports(INBOX, list(deliveries), []))


def outcome(app: StatusApplication, rid: str) -> str:
    return app.report_outcomes([rid])[rid]["outcome"]


def test_a_report_before_its_plan_waits_and_is_recorded_when_the_plan_comes():
    app = memory_app()
    take_reports(app, report(1, "r1"))
    assert outcome(app, "r1") == "parked"
    app.commit(app.prepare_plan_events(Tracking(EVENTS, 1), [approved(1, "oak-school")]))
    assert outcome(app, "r1") == "recorded"
    assert app.plan_row("oak-school/2026-27")["reports_recorded"] == 1
    app.expire_parked(datetime.now(UTC) + timedelta(days=1), "no plan")
    assert app.expired_parked() == []  # it was taken from the parked when recorded
    assert app.position(INBOX) == 1 and app.position(EVENTS) == 1


def test_the_same_report_twice_is_recorded_once_and_a_recorded_outcome_stays():
    app = memory_app()
    app.commit(app.prepare_plan_events(Tracking(EVENTS, 1), [approved(1, "oak-school")]))
    take_reports(app, report(1, "r1"), report(2, "r1"))
    take_reports(app, report(3, "r1"))
    assert outcome(app, "r1") == "recorded"
    assert app.plan_row("oak-school/2026-27")["reports_recorded"] == 1


def test_a_parked_report_whose_plan_never_comes_expires_as_unknown_plan():
    app = memory_app()
    take_reports(app, report(1, "r1", school="elm-school"))
    app.expire_parked(datetime.now(UTC) - timedelta(days=1), "no plan")  # not yet due
    assert app.expired_parked() == []
    app.expire_parked(datetime.now(UTC) + timedelta(seconds=1), "no plan")
    app.expire_parked(datetime.now(UTC) + timedelta(seconds=1), "no plan")  # again: the same
    expired = app.expired_parked()
    assert [d.payload["report_id"] for d in expired] == ["r1"]
    assert app.report_outcomes(["r1"])["r1"] == {
        "sender": "elm-school", "report_id": "r1", "outcome": "rejected",
        "reason": "unknown_plan", "message": "no plan",
    }  # fmt: skip
    app.forget_expired(expired)
    assert app.expired_parked() == []


def test_a_period_closes_once_with_each_plans_figures():
    app = memory_app()
    both = [approved(1, "oak-school"), approved(2, "elm-school")]
    app.commit(app.prepare_plan_events(Tracking(EVENTS, 2), both))
    take_reports(app, report(1, "r1"))
    step = app.close_period_step("2026-10", chunk=1)
    while not step.finished:
        step = app.close_period_step("2026-10", chunk=1, after=step)
    assert (step.changed, step.plans_evaluated) == (True, 2)
    october = app.period_figures("oak-school/2026-27")["2026-10"]
    assert october["figures"]["actions_completed"] == 1
    again = app.close_period_step("2026-10")
    assert (again.finished, again.changed) == (True, False)
