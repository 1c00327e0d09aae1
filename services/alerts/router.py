"""NATS request/reply entry points of the alerts service."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import alerts as al
from contracts import timeline as tl
from services.alerts.endpoints import AlertsEndpoints
from services.shared import routes
from services.shared.metrics import ServiceMetrics
from services.shared.scope import DirectoryTables


def create_router(
    metrics: ServiceMetrics, namespace: str, endpoints: AlertsEndpoints,
    directory: DirectoryTables | None = None,
) -> NatsRouter:
    return routes.create_router(metrics, namespace, [
        (al.ListAlerts, endpoints.list_alerts),
        (al.ShowMessage, endpoints.show_message),
        (al.ResendMessage, endpoints.resend_message),
        (al.SendTestMessage, endpoints.send_test_message),
        (tl.GetPlanAlertsTimeline, endpoints.get_timeline),
    ], directory)  # fmt: skip
