"""Schema evolution: events written by version 1 of ``PlanProgress.StatusRecorded``
(frozen in tests/data/events, stored by the code of that time) replay through the current
code, which reads them with ``evidence`` empty (its ``upcast_v1_v2``); a store holding
both versions replays in order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.alerts.application import AlertsApplication
from services.alerts.domain.alert import Alert
from services.plans.application import PlansApplication
from services.plans.domain.plan import ImprovementPlan, PlanStatus
from services.shared import timeline
from services.shared.eventstore import events_of
from services.status import timeline as status_timeline
from services.status.application import StatusApplication
from services.status.domain.plan_progress import PlanProgress
from tests.factories import plan_document, with_change

FROZEN = Path(__file__).resolve().parents[1] / "data" / "events" / "plan-progress-v1.json"


def stored(row: dict) -> StoredEvent:
    """A frozen row as the store holds it."""
    return StoredEvent(originator_id=UUID(row["originator_id"]),
                       originator_version=row["originator_version"], topic=row["topic"],
                       state=row["state"].encode())  # fmt: skip


def store_with_version_1_events() -> tuple[StatusApplication, UUID]:
    app = StatusApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    rows = json.loads(FROZEN.read_text())["events"]
    app.recorder.insert_events([stored(r) for r in rows])
    return app, UUID(rows[0]["originator_id"])


def test_version_1_events_replay_through_the_current_code():
    app, progress_id = store_with_version_1_events()
    assert '"evidence"' not in FROZEN.read_text()  # written before the field existed
    progress = app.repository.get(progress_id)
    assert progress.report_ids == {"v1-report"} and progress.periods_closed == {"2026-10"}
    [recorded] = [e for e in events_of(app, progress_id)
                  if type(e).__qualname__ == "PlanProgress.StatusRecorded"]  # fmt: skip
    assert recorded.evidence == [] and recorded.comments == "written by version 1"


def test_a_store_of_both_versions_replays_in_order():
    app, progress_id = store_with_version_1_events()
    progress = app.repository.get(progress_id)
    progress.record({
        "report_id": "v2-report", "plan": "oak-school/2026-27", "action": "1.2.1.1",
        "period": "2026-11", "status": "in_progress", "completed_on": None,
        "outputs_completed": [], "comments": None, "reporter": {"name": "Pat",
                                                                "organization": "oak-school"},
        "evidence": ["walk-through notes 2026-11-12.pdf"],
    })  # fmt: skip
    app.save(progress)
    [stored_v2] = [s for s in app.recorder.select_events(progress_id)
                   if b"v2-report" in s.state]  # fmt: skip
    assert json.loads(stored_v2.state)["class_version"] == 2
    again = app.repository.get(progress_id)
    assert again.report_ids == {"v1-report", "v2-report"}
    entries = timeline.entries(events_of(app, progress_id), status_timeline.DESCRIBED)
    reported = [e["details"] for e in entries if e["kind"] == "status.reported"]
    assert [(r["report_id"], r["evidence"]) for r in reported] == [
        ("v1-report", []), ("v2-report", ["walk-through notes 2026-11-12.pdf"])]  # fmt: skip
    assert isinstance(again, PlanProgress)


ALERTS_V1 = FROZEN.parent / "alerts-v1.json"


def alerts_store_of_version_1() -> AlertsApplication:
    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.recorder.insert_events([stored(r) for r in json.loads(ALERTS_V1.read_text())["events"]])
    return app


def test_version_1_alerts_replay_and_one_sent_already_is_completed_not_sent_again():
    """Alert.Raised version 1 had no ``raised_at`` (read as the event's timestamp), and
    the store of then has no Completed event: rebuilt from its events, the delivered
    alert is not complete, and the next round completes it without a second message."""
    app = alerts_store_of_version_1()
    frozen = json.loads(ALERTS_V1.read_text())["events"]
    assert not any('"raised_at"' in e["state"] or "Completed" in e["topic"] for e in frozen)
    rows = {table: row for table, row in app.own_rows()}
    [raised] = [e for e in app.recorder.select_notifications(1, 10) if "Alert.Raised" in e.topic]
    alert = app.repository.get(raised.originator_id)
    assert isinstance(alert, Alert) and alert.raised_at == alert.created_on
    assert rows["alerts"]["completed_at"] is None and rows["alerts"]["message"] is not None
    assert rows["messages"]["status"] == "delivered"
    assert rows["messages"]["delivered_at"] is not None  # from the Delivered event's time
    app.view.upsert([("contacts", {"code": "elm", "kind": "school", "name": "Elm",
                                   "parent": "river", "liaison_name": "elm liaison",
                                   "liaison_email": "elm@liaisons.example.org"}),
                     ("contacts", {"code": "river", "kind": "lea", "name": "River"})])
    app.view.replace_tables(["alerts", "alert_targets", "messages"], app.own_rows())
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert app.compose_due(now, timedelta(0)) == []  # not sent again
    assert app.repository.get(alert.id).completed_at == now
    assert app.view.ungrouped() == []  # and no longer waiting


PLAN_V1 = FROZEN.parent / "plan-v1-snapshot.json"


def plans_store_with_a_version_1_snapshot() -> tuple[PlansApplication, UUID]:
    app = PlansApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    frozen = json.loads(PLAN_V1.read_text())
    app.recorder.insert_events([stored(r) for r in frozen["events"]])
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events([stored(frozen["snapshot"])])
    return app, UUID(frozen["snapshot"]["originator_id"])


def test_a_version_1_snapshot_is_read_through_the_aggregate_s_upcast():
    """ImprovementPlan's state version 1 kept ``status`` as the enum (read back from JSON
    as text) and no return; the snapshot of the approved plan, taken by the code of then,
    reads as version 2: a PlanStatus, and no return (it was submitted again since)."""
    app, plan_id = plans_store_with_a_version_1_snapshot()
    state = json.loads(json.loads(PLAN_V1.read_text())["snapshot"]["state"])["state"]
    assert "status" in state and "_status" not in state and "class_version" not in state
    from_snapshot = app.repository.get(plan_id)
    assert isinstance(from_snapshot, ImprovementPlan)
    assert from_snapshot.status is PlanStatus.APPROVED and from_snapshot.version == 5
    assert from_snapshot.returned is None and from_snapshot.approved_by == "lea"
    returned = app.repository.get(plan_id, version=3)  # from the events alone (v1 events)
    assert returned.status is PlanStatus.DRAFT
    assert returned.returned == {"by": "lea", "reason": "Goal 1 needs a baseline"}


def test_replay_as_of_a_moment_starts_from_the_snapshot_of_then_and_agrees_with_the_events():
    app = PlansApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for code, kind, parent in (("sea", "SEA", None), ("lea", "LEA", "sea"),
                               ("school", "SCHOOL", "lea")):  # fmt: skip
        app.register_organization(code=code, kind=kind, name=code, parent=parent, profile={})
    doc = plan_document("school")
    plan_id = app.import_plan(doc, by="Pat").id
    app.submit_plan(plan_id, organization="school", by="Pat")
    app.approve_plan(plan_id, organization="lea", by="Sam")
    moments = []
    for n in range(24):  # two snapshots (versions 10 and 20) on the way
        doc = with_change(doc, ["direction", "mission"], f"Mission, take {n}.")
        app.import_plan(doc, by="Pat", cause="Survey", justification=f"take {n}")
        moments.append(app.get_plan(plan_id).modified_on)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(plan_id)] == [10, 20]
    events = app.plan_history(plan_id)
    for moment in (moments[3], moments[8], moments[17], moments[-1]):
        plan, recorded = app.plan_as_of(plan_id, as_of=moment)
        upto = [e for e in events if e.timestamp <= moment]
        by_events = app.repository.get(plan_id, version=upto[-1].originator_version)
        assert (plan.version, plan.document, recorded) == (
            by_events.version, by_events.document, upto[-1].timestamp)
