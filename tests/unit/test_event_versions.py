"""Schema evolution: events written by version 1 of ``PlanProgress.StatusRecorded``
(frozen in tests/data/events, stored by the code of that time) replay through the current
code, which reads them with ``evidence`` empty (its ``upcast_v1_v2``); a store holding
both versions replays in order."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.shared import timeline
from services.shared.eventstore import events_of
from services.status import timeline as status_timeline
from services.status.application import StatusApplication
from services.status.domain.plan_progress import PlanProgress

FROZEN = Path(__file__).resolve().parents[1] / "data" / "events" / "plan-progress-v1.json"


def store_with_version_1_events() -> tuple[StatusApplication, UUID]:
    app = StatusApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    rows = json.loads(FROZEN.read_text())["events"]
    app.recorder.insert_events([StoredEvent(
        originator_id=UUID(r["originator_id"]), originator_version=r["originator_version"],
        topic=r["topic"], state=r["state"].encode(),
    ) for r in rows])  # fmt: skip
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
