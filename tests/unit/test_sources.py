"""An integration event's source, from its headers: which service, which notification,
which one before it; and whether a consumer takes it."""

from __future__ import annotations

from contracts.subjects import chain_start, event_mark, event_msg_id, event_source
from services.shared.sources import Claimed, Verdict, claimed


def test_an_event_id_names_its_service_and_notification_with_or_without_a_refill_mark():
    assert event_msg_id("plans", 41) == "plans:41"
    assert event_msg_id("plans", 41, "1200") == "plans:41~1200"
    assert event_source("plans:41~1200.7") == ("plans", 41)
    assert event_mark("plans:41~1200.7") == "1200.7" and event_mark("plans:41") is None
    assert event_source("oak-school:report-1") is None  # a report's id, not an event's
    assert event_mark("plans:41~x") is None
    assert (chain_start(None), chain_start("1200"), chain_start("1200.7")) == (1, 1201, 1201)


def test_an_event_whose_id_does_not_name_its_subjects_service_has_no_source():
    subject = "spn.evt.plans.plan.approved"
    assert claimed("spn", subject, {"Nats-Msg-Id": "plans:3", "Spn-Previous": "2"}) == \
        Claimed("plans", 3, 2)  # fmt: skip
    assert claimed("spn", subject, {"Nats-Msg-Id": "status:3"}) is None
    assert claimed("spn", subject, {}) is None
    assert claimed("spn", subject, None) is None
    assert claimed("other", subject, {"Nats-Msg-Id": "plans:3"}) is None
    assert claimed("spn", subject, {"Nats-Msg-Id": "plans:3"}) == Claimed("plans", 3, None)


def test_an_event_is_taken_once_and_only_after_the_one_before_it():
    assert Claimed("plans", 3, 2).verdict(taken=2) is Verdict.TAKE
    assert Claimed("plans", 3, 2).verdict(taken=3) is Verdict.REPEAT
    assert Claimed("plans", 3, 2).verdict(taken=1) is Verdict.GAP
    assert Claimed("plans", 3, None).verdict(taken=0) is Verdict.TAKE  # from before the header
    assert Claimed("plans", 5, 3).verdict(taken=3) is Verdict.TAKE  # 4 was not published
