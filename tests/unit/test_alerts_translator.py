"""Which events tell what: no fact told twice under two kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from contracts import rollup as ru
from services.alerts import translator
from services.alerts.domain.routing import Fact

ENVELOPE = {"event_id": "x:1", "version": 1, "occurred_at": datetime(2026, 11, 1, tzinfo=UTC)}


def facts(event: ru.IntegrationEvent) -> list[Fact]:
    found = translator.read(event.SUBJECT, event.to_json())
    assert isinstance(found, list)
    return [f for f in found if isinstance(f, Fact)]


def test_a_silent_or_slipped_flag_is_told_by_the_status_events_not_twice():
    for rule in ("silent", "milestone_slipped"):
        flag = ru.ProgressWaning(**ENVELOPE, organization="elm", rule=rule, period="2026-10",
                                 evidence={}, strategies=[])  # fmt: skip
        assert facts(flag) == []
    behind = ru.ProgressWaning(**ENVELOPE, organization="elm", rule="behind", period="2026-10",
                               evidence={}, strategies=[])  # fmt: skip
    assert [f.kind for f in facts(behind)] == ["waning"]
    recovered = ru.ProgressRecovered(**ENVELOPE, organization="elm", rule="silent",
                                     period="2026-11")  # fmt: skip
    assert [f.kind for f in facts(recovered)] == ["recovered"]  # the recovery is told


def test_an_escalated_case_is_told_once_by_its_escalation():
    case = {"case_id": uuid4(), "recipient": "elm", "addressed_to": "sea", "practice": None}
    opened = ru.SupportCaseOpened(**ENVELOPE, **case, opened="2026-12", practices=[],
                                  reasons=["ineffective"], escalated_from=uuid4())  # fmt: skip
    assert facts(opened) == []
    fresh = ru.SupportCaseOpened(**ENVELOPE, **case, opened="2026-12", practices=[],
                                 reasons=["behind"])  # fmt: skip
    assert [f.kind for f in facts(fresh)] == ["case_opened"]


def test_each_fact_is_dated_by_its_event():
    behind = ru.ProgressWaning(**ENVELOPE, organization="elm", rule="behind", period="2026-10",
                               evidence={}, strategies=[])  # fmt: skip
    assert [f.occurred_at for f in facts(behind)] == [ENVELOPE["occurred_at"]]
