"""The alerts service on real NATS, PostgreSQL and a real SMTP server (aiosmtpd, in
process): a period close with a waning school gives its district liaison one message
naming the school, the rule, the strategies and practices and the figures, and the case
opened; an SMTP server that is down delays the message, which then arrives once."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry
from standardwebhooks import Webhook as Webhook_
from standardwebhooks.webhooks import WebhookVerificationError

from contracts import alerts as al
from contracts import status as st
from contracts import timeline as tl
from services.alerts.bootstrap import AlertsService
from services.alerts.settings import AlertsSettings, Webhook
from services.plans.settings import PlansSettings
from spn.cli.client import SpnClient
from tests.conftest import free_port
from tests.integration.processes import kill, start_service_process
from tests.integration.test_rollup_service import october_closed
from tests.integration.test_status_service import until
from tests.integration.test_support_cases import SCHOOLS as RIVER
from tests.integration.test_support_cases import done, network_of_river, report_and_wait


class Inbox:
    """aiosmtpd handler keeping every message received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


def smtp_server(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def alerts_settings(plans_settings: PlansSettings, smtp_port: int) -> AlertsSettings:
    return AlertsSettings(
        **plans_settings.model_dump(exclude={"http_port"}), SPN_ALERTS_HTTP_PORT=free_port(),
        SPN_SMTP_PORT=smtp_port, SPN_ALERTS_GROUP_WAIT=1, SPN_ALERTS_DISPATCH_SECONDS=0.2,
        SPN_ALERTS_RETRY_FIRST=0.3, SPN_ALERTS_RETRY_MAX=1, SPN_ALERTS_TIME_ZONE="America/Chicago",
    )  # fmt: skip


@pytest.fixture
async def alerts_service(alerts_settings: AlertsSettings) -> AsyncIterator[AlertsService]:
    service = AlertsService(alerts_settings, CollectorRegistry())
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def smtp(smtp_port: int) -> Iterator[Inbox]:
    controller, inbox = smtp_server(smtp_port)
    yield inbox
    controller.stop()


def body(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return str(part.get_content())
    raise AssertionError(f"no text/{subtype} part")


async def test_a_waning_school_s_liaison_gets_one_message_with_the_evidence(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_service, smtp,
    nats_url, namespace,
):  # fmt: skip
    """October (tests/integration/test_rollup_service.py): elm is behind (3 of 4 due
    actions) on 1.2 [1A], 2.1 [2B], 2.2 [4C], and a case of elm with river-lea opens."""
    await october_closed(client, nats_url, namespace)
    liaison = "liaison@elm-school.example.org"

    async def delivered() -> list[Message]:
        return smtp.to(liaison)

    [message] = await until(delivered, timeout=30)
    assert message["Subject"] == "SPN: 2 alerts for elm-school (2026-10)"
    text = body(message, "plain")
    assert "* elm-school, 2026-10: progress waning (behind)" in text
    assert "actions behind pct: 75.0" in text and "actions due: 4" in text
    for strategy in ("strategy 1.2, practice 1A", "strategy 2.1, practice 2B",
                     "strategy 2.2, practice 4C"):  # fmt: skip
        assert strategy in text
    assert "* elm-school, 2026-10: support case opened" in text and "to: river-lea" in text
    assert ("strategy 1.2, practice 1A: if we engage our instructional teams in developing "
            "standards-aligned units, then teachers will plan") in text  # its if/then
    assert "actions on time / behind, by period: 2026-10 25.0% / 75.0%" in text  # the trend
    assert "support case with river-lea (opened 2026-10): open" in text  # its cases
    assert " CST)" in text or " CDT)" in text  # the recipient's time zone
    assert "<h2>elm-school, 2026-10: progress waning (behind)</h2>" in body(message, "html")
    assert smtp.to("liaison@oak-school.example.org") == []  # oak is on time
    async def recorded() -> dict | None:  # the server took it; its delivery is recorded next
        listed = await client.request(al.ListAlerts(organization="elm-school"))
        done = all(a["status"] == "delivered" for a in listed["alerts"])
        return listed if done else None

    listed = await until(recorded, timeout=30)
    assert {(a["kind"], a["status"]) for a in listed["alerts"]} == {
        ("waning", "delivered"), ("case_opened", "delivered")}  # fmt: skip
    latest = await client.request(al.ListAlerts(organization="elm-school", limit=1))
    assert (latest["alerts"], latest["total"]) == (listed["alerts"][-1:], 2)
    shown = await client.request(al.ShowMessage(id=listed["alerts"][0]["alert_id"]))
    assert message["Message-ID"] == f"<{shown['message_id']}@spn.alerts>"
    await asyncio.sleep(1.5)  # a group wait and more: nothing is sent twice
    assert len(smtp.to(liaison)) == 1

    # the plan's timeline: the rollup's and the alerts' parts of it (spn history)
    rollup = await client.request(tl.GetPlanRollupTimeline(plan="elm-school/2026-27"))
    assert [(e["kind"], e["effective"]) for e in rollup["entries"]] == [
        ("rollup.flag_raised", "2026-10"), ("rollup.case_opened", "2026-10")]  # fmt: skip
    assert "behind on 1A, 2B, 4C" in rollup["entries"][0]["summary"]
    told = await client.request(tl.GetPlanAlertsTimeline(plan="elm-school/2026-27"))
    assert [e["kind"] for e in told["entries"]] == ["alerts.raised", "alerts.raised",
                                                    "alerts.delivered"]  # fmt: skip
    assert told["entries"][-1]["details"]["message_id"] == shown["message_id"]
    nothing = await client.request(tl.GetPlanAlertsTimeline(plan="oak-school/2026-27"))
    assert nothing["entries"] == []


async def test_a_message_waits_out_an_smtp_outage_and_arrives_once(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_service,
    smtp_port, nats_url, namespace,
):  # fmt: skip
    await october_closed(client, nats_url, namespace)

    async def retried() -> list[dict]:
        listed = await client.request(al.ListAlerts(organization="elm-school"))
        sending = [a for a in listed["alerts"] if a["status"] == "sending"]
        if not sending:
            return []
        shown = await client.request(al.ShowMessage(id=sending[0]["alert_id"]))
        return [shown] if shown["attempts"] >= 2 else []

    [failing] = await until(retried, timeout=30)
    assert "SMTP" in failing["last_error"] or "Connect" in failing["last_error"]
    controller, inbox = smtp_server(smtp_port)  # the server is back
    try:
        async def delivered() -> list[Message]:
            return inbox.to("liaison@elm-school.example.org")

        [message] = await until(delivered, timeout=30)
        assert message["Message-ID"] == f"<{failing['message_id']}@spn.alerts>"
        await asyncio.sleep(2)
        assert len(inbox.to("liaison@elm-school.example.org")) == 1
        shown = await client.request(al.ShowMessage(id=failing["message_id"]))
        assert shown["status"] == "delivered" and shown["attempts"] >= 3
    finally:
        controller.stop()


class KillingInbox(Inbox):
    """Takes the first message, then SIGKILLs the alerts service before it can record the
    delivery: the window between sending and recording."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: subprocess.Popen[bytes] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.victim is not None:
            kill(self.victim)
            self.victim = None
        return answer


async def test_killed_between_sending_and_recording_the_message_is_sent_again_with_its_id(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_settings,
    smtp_port, nats_url, namespace, tmp_path,
):  # fmt: skip
    """Nothing is lost: after the restart the message goes out again. The receiver can tell
    the repeat: both copies carry the same Message-ID (what the README promises)."""
    inbox = KillingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {"SPN_SMTP_PORT": str(smtp_port), "SPN_ALERTS_GROUP_WAIT": "1",
           "SPN_ALERTS_DISPATCH_SECONDS": "0.2", "SPN_ALERTS_RETRY_FIRST": "0.3"}  # fmt: skip
    log = tmp_path / "alerts.log"
    try:
        inbox.victim = start_service_process("alerts", alerts_settings, log, **env)
        first = inbox.victim
        await october_closed(client, nats_url, namespace)
        liaison = "liaison@elm-school.example.org"
        assert await until(lambda: _async(inbox.to(liaison)), timeout=30)
        first.wait(10)
        assert first.returncode == -9  # killed right after the server took the message
        restarted = start_service_process("alerts", alerts_settings, log, **env)
        try:
            async def delivered() -> bool:
                listed = await client.request(al.ListAlerts(organization="elm-school"))
                return all(a["status"] == "delivered" for a in listed["alerts"])

            assert await until(delivered, timeout=30)
            copies = inbox.to(liaison)
            assert len(copies) == 2  # the one before the kill, the one after the restart
            assert copies[0]["Message-ID"] == copies[1]["Message-ID"]  # a detectable repeat
            assert body(copies[0], "plain") == body(copies[1], "plain")
        finally:
            kill(restarted)
    finally:
        controller.stop()


async def _async(value: Any) -> Any:
    return value


SECRET = "whsec_" + base64.b64encode(b"a secret of river-lea's, 32 bytes!").decode()


class Hooks(ThreadingHTTPServer):
    """A real local HTTP endpoint keeping each call (body, headers); it answers
    ``status``."""

    def __init__(self, status: int = 204):
        self.calls: list[tuple[bytes, dict[str, str]]] = []
        self.status = status
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                hooks.calls.append((body, dict(self.headers.items())))
                self.send_response(hooks.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.shutdown()


async def test_an_lea_s_webhook_gets_its_schools_alerts_signed_by_standard_webhooks(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_settings, smtp,
    hooks, nats_url, namespace,
):  # fmt: skip
    settings = alerts_settings.model_copy(update={"webhooks": {
        "river-lea": Webhook(url=hooks.url, secret=SECRET)}})  # fmt: skip
    service = AlertsService(settings, CollectorRegistry())
    await service.start()
    try:
        await october_closed(client, nats_url, namespace)

        async def called() -> list:
            return hooks.calls

        [(body, headers)] = await until(called, timeout=30)
        payload = Webhook_(SECRET).verify(body, headers)  # the reference implementation
        assert payload["recipient"] == "river-lea"  # the webhook's organization
        assert {a["organization"] for a in payload["alerts"]} == {"elm-school"}
        assert {a["kind"] for a in payload["alerts"]} == {"waning", "case_opened"}
        [mail] = smtp.to("liaison@elm-school.example.org")
        assert headers["webhook-id"] != mail["Message-ID"]  # one message per channel
        tampered = body.replace(b"elm-school", b"oak-school")
        with pytest.raises(WebhookVerificationError):
            Webhook_(SECRET).verify(tampered, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook_("whsec_" + base64.b64encode(b"another secret").decode()).verify(body,
                                                                                      headers)
        await asyncio.sleep(1.5)
        assert len(hooks.calls) == 1  # delivered once
    finally:
        await service.stop()


async def test_a_webhook_that_is_gone_is_disabled(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_settings, smtp,
    nats_url, namespace,
):  # fmt: skip
    gone = Hooks(status=410)
    settings = alerts_settings.model_copy(update={"webhooks": {
        "river-lea": Webhook(url=gone.url, secret=SECRET)}})  # fmt: skip
    service = AlertsService(settings, CollectorRegistry())
    await service.start()
    try:
        await october_closed(client, nats_url, namespace)

        async def failed() -> bool:
            return bool(await asyncio.to_thread(service.app.view.messages, "failed"))

        assert await until(failed, timeout=30)
        [message] = service.app.view.messages("failed")
        assert (message["channel"], message["attempts"]) == ("webhook", 1)
        assert message["last_error"] == "410 Gone: the endpoint is disabled"
        assert service.app.view.gone_webhooks() == {gone.url}
        assert len(gone.calls) == 1
    finally:
        await service.stop()
        gone.shutdown()


async def test_alerts_are_counted_on_metrics(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_service, smtp,
    nats_url, namespace,
):  # fmt: skip
    def sample(name: str, **labels: str) -> float:
        return alerts_service.registry.get_sample_value(name, labels) or 0.0

    raised = sample("spn_alerts_raised_total", kind="waning")
    delivered = sample("spn_alerts_deliveries_total", channel="email", outcome="delivered")
    await october_closed(client, nats_url, namespace)
    def counted() -> float:
        return sample("spn_alerts_deliveries_total", channel="email", outcome="delivered")

    assert await until(lambda: _async(counted() > delivered), timeout=30)
    assert sample("spn_alerts_raised_total", kind="waning") == raised + 1
    assert counted() == delivered + 1
    assert sample("spn_alerts_delivery_seconds_count", channel="email") >= 1


async def test_the_sea_contact_gets_the_lea_case_and_a_recovery_is_one_notice(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_service, smtp,
    nats_url, namespace,
):  # fmt: skip
    """tests/integration/test_support_cases.py's October: three schools behind on 4C open
    river-lea's 4C case with the SEA (and its own, for its own plan); in November the
    schools complete their late action, and 'behind' clears: one recovery notice each."""
    await network_of_river(client)
    october = [done(s, f"{n}.1.1", "2026-10-20") for s in RIVER for n in ("1.1", "1.2", "2.1")]
    await report_and_wait(client, nats_url, namespace, october)
    await client.request(st.ClosePeriod(period="2026-10"))
    sea_contact = "liaison@river-lea.example.org"  # river-lea's liaison: its SEA contact

    async def told(address: str, line: str) -> list[Message]:
        return [m for m in smtp.to(address) if line in body(m, "plain")]

    [lea] = await until(lambda: told(sea_contact, "support case opened"), timeout=30)
    text = body(lea, "plain")
    assert "3 schools waning on 4C: ash-school, elm-school, oak-school" in text
    assert text.count("* river-lea, 2026-10: support case opened") == 2  # the 4C one, its own
    november = [done(s, "2.2.1.1", "2026-11-05") for s in RIVER]
    await report_and_wait(client, nats_url, namespace, november)
    await client.request(st.ClosePeriod(period="2026-11"))
    recovery = "2026-11: progress recovered (behind)"
    for school in RIVER:
        address = f"liaison@{school}.example.org"
        assert await until(lambda a=address: told(a, recovery), timeout=30)
    await asyncio.sleep(1.5)  # a group wait and more: nothing more comes
    for school in RIVER:
        notices = await told(f"liaison@{school}.example.org", recovery)
        assert len(notices) == 1 and body(notices[0], "plain").count(recovery) == 1


async def test_a_quarters_report_is_attached_to_the_message_that_shares_it(
    client: SpnClient, plans_service, status_service, rollup_service, alerts_settings, smtp,
    nats_url, namespace,
):  # fmt: skip
    """October to December closed: oak's liaison is sent oak's Q2 report as a PDF made from
    what the plans, status and rollup services answer (SPN_ALERTS_REPORT_ATTACH)."""
    from tests.reports.screenshots import pdf_text

    settings = alerts_settings.model_copy(update={"report_attach": True})
    service = AlertsService(settings, CollectorRegistry())
    await service.start()
    try:
        await october_closed(client, nats_url, namespace)
        for period in ("2026-11", "2026-12"):
            await client.request(st.ClosePeriod(period=period, early=True))

        async def attached() -> list[Message]:
            return [m for m in smtp.to("liaison@oak-school.example.org")
                    if any(p.get_filename() == "oak-school-2026-Q2.pdf"
                           for p in m.iter_attachments())]  # fmt: skip

        [message] = await until(attached, timeout=60)
        (report,) = [p for p in message.iter_attachments()]
        assert report.get_content_type() == "application/pdf"
        text = " ".join(pdf_text(report.get_content()).split())
        assert "Progress report of" in text and "Q2 2026-27 (Oct-Dec 2026)" in text
        assert "Actions Completed (%)" in text and "Milestone 1.1.1" in text
        assert ": quarterly report" in body(message, "plain")
    finally:
        await service.stop()
