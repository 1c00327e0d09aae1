"""The alerts service layer on the in-memory store: routing, one alert per fact, grouping
per recipient after the group wait, retries with backoff, failure and resend."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from eventsourcing.persistence import Tracking

from services.alerts.application import AlertsApplication
from services.alerts.domain.errors import AlertsError
from services.alerts.domain.message import RetryPolicy
from services.alerts.domain.preferences import Preference
from services.alerts.domain.routing import Fact, responsible

EVENTS = "SPN_EVENTS"
T0 = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
WAIT = timedelta(minutes=3)
PARENTS = {"sea": None, "lea": "sea", "elm": "lea", "oak": "lea"}


def contact(code: str, kind: str, parent: str | None) -> tuple[str, dict]:
    return "contacts", {"code": code, "kind": kind, "name": code.title(), "parent": parent,
                        "liaison_name": f"{code} liaison" if parent else None,
                        "liaison_email": f"{code}@liaisons.example.org" if parent else None}


def memory_app(policy: RetryPolicy | None = None) -> AlertsApplication:
    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"}, policy=policy)
    rows = [contact("sea", "SEA", None), contact("lea", "LEA", "sea"),
            contact("elm", "SCHOOL", "lea"), contact("oak", "SCHOOL", "lea")]  # fmt: skip
    app.take(Tracking(EVENTS, 1), rows, [], T0)
    return app


def waning(org: str, rule: str = "behind", period: str = "2026-10") -> Fact:
    return Fact("waning", org, period, rule, {"rule": rule, "evidence": {"actions_behind_pct": 75}})


def test_a_school_is_its_liaisons_and_a_case_goes_to_the_addressees_person():
    assert responsible("elm", None, PARENTS) == "elm"  # elm's liaison: the LEA's person
    assert responsible("lea", None, PARENTS) == "lea"  # the LEA's SEA contact
    assert responsible("sea", None, PARENTS) is None  # nobody above the SEA
    assert responsible("elm", "lea", PARENTS) == "elm"
    assert responsible("elm", "sea", PARENTS) == "lea"  # escalated: the SEA contact of its LEA
    assert responsible("elm", "other-sea", PARENTS) == "elm"  # moved: its own liaison


def test_one_alert_per_fact_and_one_message_per_recipient_after_the_group_wait():
    app = memory_app()
    assert app.take(Tracking(EVENTS, 2), [], [waning("elm"), waning("elm"), waning("oak")], T0) == [
        "waning", "waning"]
    assert app.take(Tracking(EVENTS, 3), [], [waning("elm")], T0) == []  # the same fact again
    assert app.compose_due(T0 + WAIT - timedelta(seconds=1), WAIT) == []  # still gathering
    app.take(Tracking(EVENTS, 4), [], [Fact("report_missing", "elm", "2026-10", "report")], T0)
    messages = app.compose_due(T0 + WAIT, WAIT)
    assert sorted((m.recipient, m.target, len(m.alerts)) for m in messages) == [
        ("elm liaison", "elm@liaisons.example.org", 2),
        ("oak liaison", "oak@liaisons.example.org", 1)]
    elm = next(m for m in messages if m.recipient == "elm liaison")
    assert "* elm, 2026-10: progress waning (behind)" in elm.text
    assert "actions behind pct: 75" in elm.text and "spn flags --org elm" in elm.html
    assert app.compose_due(T0 + 2 * WAIT, WAIT) == []  # grouped once
    assert {a["message"] for a in app.view.alerts("elm")} == {elm.id}


def test_a_failing_delivery_backs_off_then_fails_and_can_be_resent():
    app = memory_app(RetryPolicy(first_delay=10, max_delay=40, max_attempts=4))
    app.take(Tracking(EVENTS, 2), [], [waning("elm")], T0)
    [message] = app.compose_due(T0 + WAIT, WAIT)
    now, waits = T0 + WAIT, []
    for _ in range(3):
        [due] = app.due(now)
        failed = app.record_attempt(due["message_id"], now, "SMTP down")
        waits.append((failed.next_attempt - now).total_seconds())
        assert app.due(now) == []  # not before its next attempt
        now = failed.next_attempt
    assert [5 <= w <= 10 for w in waits[:1]] == [True]  # 10 s with jitter: 5 to 10
    assert 10 <= waits[1] <= 20 and 20 <= waits[2] <= 40
    assert app.record_attempt(message.id, now, "SMTP down").status == "failed"
    assert app.due(now + timedelta(days=1)) == []
    assert [m["message_id"] for m in app.view.messages("failed")] == [message.id]
    with pytest.raises(AlertsError, match="is failed, not pending"):
        app.record_attempt(message.id, now, None)
    app.resend(message.id, now, by="Sam")
    assert app.record_attempt(message.id, now, None).status == "delivered"
    assert app.view.messages("delivered")[0]["delivered_at"] == now


def test_an_alert_for_someone_with_no_address_yet_waits_for_one():
    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.take(Tracking(EVENTS, 1), [contact("lea", "LEA", "sea")], [], T0)
    app.take(Tracking(EVENTS, 2), [], [waning("elm"), waning("sea")], T0)  # neither known yet
    assert app.compose_due(T0 + WAIT, WAIT) == []  # kept, waiting to be routed
    app.take(Tracking(EVENTS, 3), [("contacts", {**contact("elm", "SCHOOL", "lea")[1],
                                       "liaison_email": None}), contact("sea", "SEA", None)],
             [waning("elm", "silent"), waning("sea", "silent")], T0)  # fmt: skip
    assert app.compose_due(T0 + WAIT, WAIT) == []  # routed to elm, no address yet
    assert [a["key"] for a in app.view.alerts("sea")] == ["waning:sea:behind:2026-10"]
    app.take(Tracking(EVENTS, 4), [contact("elm", "SCHOOL", "lea")], [], T0)
    [message] = app.compose_due(T0 + WAIT, WAIT)
    assert (message.target, len(message.alerts)) == ("elm@liaisons.example.org", 2)


def test_one_liaison_of_several_schools_gets_one_message():
    app = memory_app()
    shared = {"liaison_name": "Pat", "liaison_email": "pat@lea.example.org"}
    app.take(Tracking(EVENTS, 2), [("contacts", contact("elm", "SCHOOL", "lea")[1] | shared),
                         ("contacts", contact("oak", "SCHOOL", "lea")[1] | shared)],
             [waning("elm"), waning("oak")], T0)  # fmt: skip
    [message] = app.compose_due(T0 + WAIT, WAIT)
    assert (message.target, message.recipient, len(message.alerts)) == (
        "pat@lea.example.org", "Pat", 2)
    assert message.subject == "SPN: 2 alerts for elm, oak (2026-10)"


def test_a_digest_recipient_gets_one_message_a_day_in_their_time_zone():
    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"}, digest_hour=7,
                            preferences={"elm@liaisons.example.org": Preference(
                                "digest", "America/Chicago")})  # fmt: skip
    contacts = [contact("lea", "LEA", "sea"), contact("elm", "SCHOOL", "lea")]
    app.take(Tracking(EVENTS, 1), contacts, [], T0)
    app.take(Tracking(EVENTS, 2), [], [waning("elm")], T0)  # 09:00 UTC, 03:00 in Chicago
    assert app.compose_due(T0 + WAIT, WAIT) == []  # not before 07:00 Chicago (13:00 UTC)
    app.take(Tracking(EVENTS, 3), [], [waning("elm", "silent")], T0 + timedelta(hours=2))
    [message] = app.compose_due(datetime(2026, 11, 5, 13, 0, tzinfo=UTC), WAIT)
    assert len(message.alerts) == 2 and "07:00 CST" in message.text


def test_an_alert_reaches_each_of_its_targets_each_on_its_own_schedule():
    """A webhook of the LEA and each school's liaison: oak's alert comes 100 s after elm's;
    at elm's due time the webhook takes both, oak's liaison still waits for oak's own."""
    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            webhooks={"lea": {"url": "https://hooks.example.org/t/secret"}})
    rows = [contact("sea", "SEA", None), contact("lea", "LEA", "sea"),
            contact("elm", "SCHOOL", "lea"), contact("oak", "SCHOOL", "lea")]  # fmt: skip
    app.take(Tracking(EVENTS, 1), rows, [waning("elm")], T0)
    app.take(Tracking(EVENTS, 2), [], [waning("oak")], T0 + timedelta(seconds=100))
    first = app.compose_due(T0 + WAIT, WAIT)
    assert sorted((m.target, len(m.alerts)) for m in first) == [
        ("elm@liaisons.example.org", 1), ("https://hooks.example.org/t/secret", 2)]
    [later] = app.compose_due(T0 + WAIT + timedelta(seconds=100), WAIT)
    assert (later.target, len(later.alerts)) == ("oak@liaisons.example.org", 1)
    assert app.compose_due(T0 + 10 * WAIT, WAIT) == []  # every alert complete
    listed = {a["organization"]: a for a in app.alert_rows(None, None)}
    assert listed["elm"]["status"] == "sending" and listed["elm"]["to"] == (
        "elm@liaisons.example.org")
    [hook] = [m for m in first if m.channel == "webhook"]
    app.record_attempt(hook.id, T0 + WAIT, "410 Gone: the endpoint is disabled", final=True)
    assert {a["status"] for a in app.alert_rows(None, None)} == {"failed"}  # it shows


def test_a_fact_older_than_the_age_limit_is_kept_as_stale_and_never_sent():
    app = memory_app()
    app.max_age = timedelta(days=14)
    old = replace(waning("elm"), occurred_at=T0 - timedelta(days=15))
    fresh = replace(waning("oak"), occurred_at=T0 - timedelta(days=13))
    assert app.take(Tracking(EVENTS, 2), [], [old, fresh], T0) == ["waning", "waning"]
    messages = app.compose_due(T0 + WAIT, WAIT)
    assert [m.target for m in messages] == ["oak@liaisons.example.org"]
    status = {r["organization"]: r["status"] for r in app.alert_rows(None, None)}
    assert status == {"elm": "stale", "oak": "sending"}
    assert app.take(Tracking(EVENTS, 3), [], [old], T0) == []  # told once, stale or not


def test_a_quarters_close_shares_each_schools_quarterly_report_with_its_liaison_once():
    from services.alerts.domain.routing import QuarterClosed

    app = AlertsApplication({"PERSISTENCE_MODULE": "eventsourcing.popo"},
                            report_link="https://reports.example.org/{plan}/{term}.pdf")
    rows = [contact("sea", "SEA", None), contact("lea", "LEA", "sea"),
            contact("elm", "SCHOOL", "lea"), contact("oak", "SCHOOL", "lea")]  # fmt: skip
    figures = [("figures", {"organization": org, "period": period, "on_time_pct": on_time,
                            "behind_pct": 100 - on_time, "completed_pct": 40.0})
               for org, period, on_time in (("elm", "2026-11", 50.0), ("elm", "2026-12", 25.0),
                                            ("oak", "2026-12", 100.0), ("oak", "2027-01", 90.0))]
    cases = [("cases", {"case_id": "6d0b6a4e-1c53-4d0e-9f5e-0b8a7d1c2e3f", "recipient": "elm",
                        "addressed_to": "lea", "practice": "1A", "opened": "2026-11",
                        "status": "supported", "support": "lea on 2026-11-20: a coach",
                        "verdict": None})]  # fmt: skip
    app.take(Tracking(EVENTS, 1), rows + figures[:1] + cases, [], T0)
    quarter = QuarterClosed("2026-Q2", ("2026-10", "2026-11", "2026-12"))
    # December's figures come in the same batch as the close: they count
    assert app.take(Tracking(EVENTS, 2), figures[1:], [quarter], T0) == [
        "quarterly_report", "quarterly_report"]  # elm and oak; lea has no figures
    assert app.take(Tracking(EVENTS, 3), [], [quarter], T0) == []  # redelivered: once
    messages = {m.target: m for m in app.compose_due(T0 + WAIT, WAIT)}
    assert sorted(messages) == ["elm@liaisons.example.org", "oak@liaisons.example.org"]
    texts = messages["elm@liaisons.example.org"].text
    assert "* elm, 2026-12: quarterly report" in texts
    assert "actions on time pct: 25.0" in texts  # elm's latest month in the quarter
    assert "term: Q2 2026-27 (Oct-Dec 2026)" in texts
    assert "report: https://reports.example.org/elm/2026-27/2026-Q2.pdf" in texts
    assert "support case with lea on 1A (opened 2026-11): supported; support: lea on " \
           "2026-11-20: a coach" in texts  # the supports discussed


def test_a_quarterly_report_not_answered_delays_the_message_and_one_refused_is_left_out():
    from services.alerts.attachments import QuarterlyReports
    from services.alerts.channels import DeliveryError
    from services.alerts.domain.routing import QuarterClosed
    from services.shared.asking import RefusedAnswerError, UnansweredError

    app = memory_app()
    figures = ("figures", {"organization": "elm", "period": "2026-12", "on_time_pct": 50.0,
                           "behind_pct": 50.0, "completed_pct": 40.0})  # fmt: skip
    app.take(Tracking(EVENTS, 2), [figures],
             [QuarterClosed("2026-Q2", ("2026-10", "2026-11", "2026-12"))], T0)
    [message] = app.compose_due(T0 + WAIT, WAIT)

    class Asker:
        def __init__(self, error: Exception):
            self.error, self.asked = error, 0

        async def request(self, command: object) -> dict:
            self.asked += 1
            raise self.error

    down = Asker(UnansweredError("no answer"))
    row = {"alerts": [str(a) for a in message.alerts], "message_id": "m-1"}
    with pytest.raises(DeliveryError, match="the report of elm/2026-27, 2026-Q2") as failed:
        asyncio.run(QuarterlyReports(app, down).of(row))
    assert not failed.value.final and down.asked == 1  # tried again later
    refused = Asker(RefusedAnswerError("qry.plans.get_plan: unknown_plan: no plan"))
    assert asyncio.run(QuarterlyReports(app, refused).of(row)) == []  # the message goes
