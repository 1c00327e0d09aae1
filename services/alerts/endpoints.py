"""What each alerts request does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any
from uuid import UUID, uuid4

from contracts import alerts as al
from contracts import timeline as tl
from services.alerts.application import AlertsApplication
from services.alerts.channels import DeliveryError, SmtpChannel
from services.alerts.domain.errors import UnknownAlertError
from services.alerts.domain.routing import shown_target
from services.shared.scope import OutOfScopeError, Scope


class AlertsEndpoints:
    def __init__(self, app: AlertsApplication, on_stored: Callable[[], None],
                 email: SmtpChannel):  # fmt: skip
        self._app = app
        self._on_stored = on_stored
        self._email = email

    async def send_test_message(self, request: al.SendTestMessage) -> al.TestMessageSent:
        message_id = uuid4()
        now = datetime.now(UTC)
        message = {
            "message_id": message_id, "target": str(request.to), "composed_at": now,
            "subject": "SPN: a test message from the alerts service",
            "text": f"{request.by} sent this test at {now:%Y-%m-%d %H:%M %Z}; alerts reach "
            "this address the same way.\n",
            "html": f"<p>{escape(request.by)} sent this test; alerts reach this address the "
            "same way.</p>",
        }  # fmt: skip
        try:
            await self._email.send(message)
        except DeliveryError as error:
            return al.TestMessageSent(to=str(request.to), message_id=str(message_id),
                                      delivered=False, error=str(error))  # fmt: skip
        return al.TestMessageSent(to=str(request.to), message_id=str(message_id),
                                  delivered=True)  # fmt: skip

    def list_alerts(self, request: al.ListAlerts) -> al.AlertList:
        rows = self._app.alert_rows(request.organization, request.period)
        fields = al.AlertView.model_fields
        shown = [al.AlertView.model_validate({k: r[k] for k in fields if k in r}) for r in rows]
        matched = [a for a in shown if request.status in (None, a.status)]
        return al.AlertList(alerts=matched[-request.limit:], total=len(matched))

    def get_timeline(self, request: tl.GetPlanAlertsTimeline) -> tl.PlanTimeline:
        found = self._app.timeline(request.plan)
        return tl.PlanTimeline(plan=request.plan, service="alerts", entries=found)

    def show_message(self, request: al.ShowMessage, scope: Scope) -> al.MessageView:
        """A message whose every alert is about the asker or an organization beneath it
        (to an organization, one that does not exist is refused in the same words)."""
        family = scope.family()
        refused = OutOfScopeError(f"{request.id} is no message or alert only about "
                                  f"{scope.organization} or organizations beneath it")
        try:
            row = self._app.message_row(request.id)
        except UnknownAlertError:
            if family is not None:
                raise refused from None
            raise
        about = set(self._app.organizations_of(row))
        if family is not None and not (about and about <= family):
            raise refused
        return _view(row)

    def resend_message(self, request: al.ResendMessage) -> al.MessageView:
        message_id = self._app.message_row(request.id)["message_id"]
        self._app.resend(UUID(str(message_id)), datetime.now(UTC), by=request.by)
        self._on_stored()
        return _view(self._app.message_row(message_id))


def _view(row: dict[str, Any]) -> al.MessageView:
    shown = {k: v for k, v in row.items() if k not in ("next_attempt", "raised_at")}
    return al.MessageView.model_validate(shown | {"target": shown_target(row["target"])})
