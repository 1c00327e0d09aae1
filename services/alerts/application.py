"""The alerts service layer: facts in (with tracking) become alerts, stored before any
delivery; alerts of one recipient are gathered into one message after the group wait;
each delivery attempt is recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from contracts.periods import plan_year_periods, term_label
from services.alerts import content
from services.alerts import timeline as alerts_timeline
from services.alerts.domain.alert import Alert
from services.alerts.domain.errors import UnknownAlertError
from services.alerts.domain.message import STANDARD_WEBHOOKS, Message, RetryPolicy
from services.alerts.domain.preferences import Preference, due_at
from services.alerts.domain.routing import (
    Fact,
    QuarterClosed,
    quarterly_facts,
    responsible,
    shown_target,
)
from services.alerts.recorder import AlertsMemoryRecorder, AlertsReadModels, AlertsRecorder, Row
from services.shared.eventstore import (
    events_of,
    find,
    process_recorder,
    retry_on_conflict,
    stored_aggregate,
)


class AlertsApplication(Application[UUID]):
    name = "alerts"

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        time_zone: str = "UTC",
        webhooks: Mapping[str, Mapping[str, str]] | None = None,
        webhook_policy: RetryPolicy = STANDARD_WEBHOOKS,
        preferences: Mapping[str, Preference] | None = None,
        digest_hour: int = 7,
        max_age: timedelta | None = None,
        report_link: str | None = None,
    ):
        super().__init__(env)
        self.report_link = report_link  # where a quarterly report is read (None: a command)
        self.policy = policy or RetryPolicy()
        self.webhooks = webhooks or {}  # organization -> {"url", "secret"}
        self.webhook_policy = webhook_policy
        self.preferences = preferences or {}  # by address or organization code
        self.digest_hour = digest_hour
        self.time_zone = time_zone  # of the dates a message shows
        self.max_age = max_age  # a fact older than this when first seen is kept, not sent

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, AlertsRecorder, AlertsMemoryRecorder)

    @property
    def view(self) -> AlertsReadModels:
        assert isinstance(self.recorder, AlertsReadModels)
        return self.recorder

    def position(self, source: str) -> int:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder.max_tracking_id(source) or 0

    def take(self, tracking: Tracking, rows: Iterable[Row],
             facts: Iterable[Fact | QuarterClosed], at: datetime) -> list[str]:  # fmt: skip
        """A batch's directory rows, and an alert for each new fact, with the tracking
        record of its last message (a fact alerted already raises nothing; one about an
        organization with nobody above it, nothing; one older than the age limit, a stale
        alert that is never sent: a service first started on a stream of years does not
        flood every liaison with them). Returns the kinds of those raised."""
        rows = list(rows)
        parents = self._parents(rows)
        raised: dict[UUID, Alert] = {}
        for fact in self._facts(facts, rows):
            alert_id = Alert.create_id(fact.key)
            known = fact.organization in parents
            nobody = known and responsible(fact.organization, fact.addressed_to, parents) is None
            if nobody or alert_id in raised or find(self, alert_id) is not None:
                continue
            raised[alert_id] = Alert(
                key=fact.key, kind=fact.kind, organization=fact.organization,
                period=fact.period, addressed_to=fact.addressed_to, details=dict(fact.details),
                raised_at=at, stale=self._stale(fact, at),
            )  # fmt: skip
            rows.append(row_of_alert(raised[alert_id]))
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(*raised.values(), view_rows=rows)
        self._notify(self._record(processing))
        return [alert.kind for alert in raised.values()]

    def _facts(self, facts: Iterable[Fact | QuarterClosed], rows: list[Row]) -> list[Fact]:
        """The facts, a quarter's close as one quarterly report per organization with
        figures in it (those stored, and those of this batch)."""
        found: list[Fact] = []
        for fact in facts:
            if isinstance(fact, Fact):
                found.append(fact)
                continue
            figures = self.view.figures_of_periods(list(fact.periods)) + [
                r for t, r in rows if t == "figures" and r["period"] in fact.periods]
            found += quarterly_facts(fact, figures, term_label(fact.term), self.report_link)
        return found

    def _stale(self, fact: Fact, at: datetime) -> bool:
        return bool(self.max_age and fact.occurred_at and at - fact.occurred_at > self.max_age)

    def compose_due(self, now: datetime, group_wait: timedelta) -> list[Message]:
        """One message per target (a liaison's address, a webhook) whose oldest alert not
        yet sent to it has waited (the group wait, or till the digest hour), routed by the
        directory as it is now (an alert about an organization not in it yet, or for a
        liaison with no address yet, waits for them). An alert is complete once it is in a
        message to each of its targets."""
        contacts = self.view.contacts()
        parents = {c: o["parent"] for c, o in contacts.items()}
        gone = self.view.gone_webhooks()
        pending = self.view.ungrouped()
        sent = self.view.targets_of([a["alert_id"] for a in pending])
        by_target: dict[tuple[str, str], tuple[str, list[dict[str, Any]]]] = {}
        targets_of: dict[UUID, set[str]] = {}
        for row in pending:
            recipient = responsible(row["organization"], row["addressed_to"], parents)
            if recipient is None:
                continue
            targets = self._targets(recipient, contacts, parents, gone)
            targets_of[row["alert_id"]] = {target for _, target, _ in targets}
            for channel, target, who in targets:
                if target not in sent.get(row["alert_id"], {}):
                    by_target.setdefault((channel, target), (who, []))[1].append(row)
        self._complete_sent([i for i, t in targets_of.items()
                             if t and t <= set(sent.get(i, {}))], now)  # fmt: skip
        composed: list[Message] = []
        for (channel, target), (who, alerts) in sorted(by_target.items()):
            preference = self._preference(target)
            due = due_at(alerts[0]["raised_at"], preference, group_wait, self.digest_hour)
            if due <= now:
                composed.append(self._compose(channel, target, who, alerts, targets_of, now,
                                              preference.time_zone))  # fmt: skip
        return composed

    def _complete_sent(self, alert_ids: list[UUID], now: datetime) -> None:
        """Alerts in a message to each of their targets already (a target that went,
        an alert of a store older than the Completed event) are complete: never sent
        again, never waiting."""
        alerts = [find(self, i) for i in alert_ids]
        for alert in alerts:
            alert.complete(now)
        if alerts:
            self.save(*alerts, view_rows=[row_of_alert(a) for a in alerts])

    def _preference(self, target: str) -> Preference:
        """The target's (an address, a webhook URL), else immediate in the service's time
        zone."""
        return self.preferences.get(target) or Preference(time_zone=self.time_zone)

    def _targets(
        self, recipient: str, contacts: Mapping[str, Mapping[str, Any]],
        parents: Mapping[str, str | None], gone: set[str],
    ) -> list[tuple[str, str, str]]:  # fmt: skip
        """(channel, target, whom) of a recipient: its liaison's address, and the webhook
        of each organization it is beneath (or is) that has one and has not gone."""
        contact = contacts.get(recipient, {})
        targets = []
        if contact.get("liaison_email"):
            name = contact.get("liaison_name") or "liaison"
            targets.append(("email", contact["liaison_email"], name))
        org: str | None = recipient
        while org is not None:
            url = self.webhooks.get(org, {}).get("url")
            if url and url not in gone:
                targets.append(("webhook", url, org))
            org = parents.get(org)
        return targets

    @retry_on_conflict
    def _compose(self, channel: str, target: str, who: str, alerts: list[dict[str, Any]],
                 targets_of: Mapping[UUID, set[str]], now: datetime, zone: str
                 ) -> Message:  # fmt: skip
        ids = [str(a["alert_id"]) for a in alerts]
        message_id = f"<{Message.create_id(target, ids)}@spn.alerts>"
        context = self.view.context(sorted({a["organization"] for a in alerts}))
        shown = content.render(who, alerts, now, zone, message_id, context)
        text, html = shown.text, shown.html
        if channel == "webhook":  # the body signed and sent: the same at every attempt
            text, html = content.webhook_body(message_id, who, shown, alerts), ""
        message = Message(
            recipient=who, channel=channel, target=target, alerts=ids,
            subject=shown.subject, text=text, html=html, at=now,
            since=min(a["raised_at"] for a in alerts),
        )  # fmt: skip
        grouped = [find(self, UUID(i)) for i in ids]
        rows = [row_of_message(message)]
        for alert in grouped:
            alert.group(target, message.id)
            if targets_of.get(alert.id, set()) <= set(alert.messages):
                alert.complete(now)
            rows += [("alert_targets", {"alert_id": alert.id, "target": target,
                                        "message": message.id}), row_of_alert(alert)]  # fmt: skip
        self.save(message, *grouped, view_rows=rows)
        return message

    def _parents(self, rows: list[Row]) -> dict[str, str | None]:
        parents = {c: o["parent"] for c, o in self.view.contacts().items()}
        return parents | {r["code"]: r["parent"] for t, r in rows if t == "contacts"}

    def due(self, now: datetime) -> list[dict[str, Any]]:
        return self.view.due(now)

    @retry_on_conflict
    def record_attempt(self, message_id: UUID, at: datetime, error: str | None,
                       final: bool = False) -> Message:  # fmt: skip
        message = self._message(message_id)
        policy = self.webhook_policy if message.channel == "webhook" else self.policy
        message.attempted(at=at, error=error, policy=policy, final=final)
        self.save(message, view_rows=[row_of_message(message)])
        return message

    @retry_on_conflict
    def resend(self, message_id: UUID, at: datetime, by: str) -> Message:
        message = self._message(message_id)
        message.resend(at=at, by=by)
        self.save(message, view_rows=[row_of_message(message)])
        return message

    def alert_rows(self, organization: str | None, period: str | None) -> list[dict[str, Any]]:
        """Alerts about an organization and every one beneath it (None: all), with the
        state of the messages they went out in: failed if one failed, delivered once
        every target's is, sending while one is on its way, stale if it was never to be
        sent (too old when first seen), else pending."""
        among = self.view.family(organization) if organization else None
        alerts = self.view.alerts(period=period, among=among)
        targets = self.view.targets_of([a["alert_id"] for a in alerts])
        ids = sorted({m for sent in targets.values() for m in sent.values()})
        messages = {m["message_id"]: m for m in self.view.messages_of(ids)}
        shown = []
        for row in alerts:
            states = [messages[m]["status"] for m in targets.get(row["alert_id"], {}).values()
                      if m in messages]  # fmt: skip
            status = ("failed" if "failed" in states
                      else "stale" if not states and row["completed_at"]
                      else "pending" if not states
                      else "delivered" if row["completed_at"] and set(states) == {"delivered"}
                      else "sending")  # fmt: skip
            first = messages.get(row["message"])
            to = shown_target(first["target"]) if first else None
            shown.append(row | {"message_id": row["message"], "status": status, "to": to})
        return shown

    def timeline(self, key: str) -> list[dict[str, Any]]:
        """The alerts about the plan's organization in the plan's year and their
        messages' deliveries, as timeline entries."""
        organization, plan_year = key.split("/", 1)
        periods = set(plan_year_periods(plan_year))
        alerts = [a for a in self.view.alerts(organization) if a["period"] in periods]
        found = [alerts_timeline.alert_entry(events_of(self, a["alert_id"])[0]) for a in alerts]
        sent = self.view.targets_of([a["alert_id"] for a in alerts])
        for message_id in sorted({m for targets in sent.values() for m in targets.values()}):
            found += alerts_timeline.message_entries(events_of(self, message_id))
        return sorted(found, key=lambda e: (e["at"], e["kind"]))

    def own_rows(self, page: int = 500) -> list[Row]:
        """Each alert's row and targets and each message's row, as the store gives them."""
        topics = [get_topic(Alert.Raised), get_topic(Message.Composed)]  # type: ignore[attr-defined]
        ids: list[UUID] = []
        start = 1
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            ids += [n.originator_id for n in notifications]  # type: ignore[misc]
            start = notifications[-1].id + 1
        rows: list[Row] = []
        for some_id in ids:
            aggregate: Alert | Message = stored_aggregate(self, some_id)
            if isinstance(aggregate, Alert):
                rows.append(row_of_alert(aggregate))
                rows += [("alert_targets", {"alert_id": aggregate.id, "target": target,
                                            "message": UUID(message)})
                         for target, message in aggregate.messages.items()]  # fmt: skip
            else:
                rows.append(row_of_message(aggregate))
        return rows

    def organizations_of(self, message: dict[str, Any]) -> list[str]:
        """The organizations a message's alerts are about (``""`` for one not found)."""
        alerts = [self.view.alert(UUID(str(a))) for a in message["alerts"]]
        return [a["organization"] if a is not None else "" for a in alerts]

    def message_row(self, some_id: UUID) -> dict[str, Any]:
        """The message of this id, or the one this alert went out in."""
        found = self.view.message(some_id)
        alert = self.view.alert(some_id) if found is None else None
        if found is None and alert is not None and alert["message"] is not None:
            found = self.view.message(alert["message"])
        if found is None:
            raise UnknownAlertError(f"no alert or message {some_id}, or it is not sent yet")
        return found

    def _message(self, message_id: UUID) -> Message:
        message = find(self, message_id)
        if not isinstance(message, Message):
            raise UnknownAlertError(f"message {message_id} does not exist")
        return message


def row_of_alert(alert: Alert) -> Row:
    return "alerts", {
        "alert_id": alert.id, "key": alert.key, "kind": alert.kind,
        "organization": alert.organization, "period": alert.period,
        "addressed_to": alert.addressed_to, "raised_at": alert.raised_at,
        "details": alert.details, "message": alert.message and UUID(alert.message),
        "completed_at": alert.completed_at,
    }  # fmt: skip


def row_of_message(message: Message) -> Row:
    return "messages", {
        "message_id": message.id, "recipient": message.recipient, "channel": message.channel,
        "target": message.target,
        "subject": message.subject, "text": message.text, "html": message.html,
        "alerts": message.alerts,
        "status": message.status, "attempts": message.attempts,
        "next_attempt": message.next_attempt if message.status == "pending" else None,
        "last_error": message.last_error, "composed_at": message.created_on,
        "raised_at": message.since,
        "delivered_at": message.delivered_at,
    }  # fmt: skip
