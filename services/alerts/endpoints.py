"""What each alerts request does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from contracts import alerts as al
from services.alerts.application import AlertsApplication


class AlertsEndpoints:
    def __init__(self, app: AlertsApplication, on_stored: Callable[[], None]):
        self._app = app
        self._on_stored = on_stored

    def list_alerts(self, request: al.ListAlerts) -> al.AlertList:
        rows = self._app.alert_rows(request.organization, request.period)
        fields = al.AlertView.model_fields
        shown = [al.AlertView.model_validate({k: r[k] for k in fields if k in r}) for r in rows]
        return al.AlertList(alerts=[a for a in shown if request.status in (None, a.status)])

    def show_message(self, request: al.ShowMessage) -> al.MessageView:
        return _view(self._app.message_row(request.id))

    def resend_message(self, request: al.ResendMessage) -> al.MessageView:
        message_id = self._app.message_row(request.id)["message_id"]
        self._app.resend(UUID(str(message_id)), datetime.now(UTC), by=request.by)
        self._on_stored()
        return _view(self._app.message_row(message_id))


def _view(row: dict[str, Any]) -> al.MessageView:
    return al.MessageView.model_validate(
        {k: v for k, v in row.items() if k not in ("next_attempt", "raised_at")}
    )
