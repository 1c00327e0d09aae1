"""NATS request/reply entry points of the rollup service."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import replay as rp
from contracts import rollup as ru
from contracts import timeline as tl
from services.rollup.endpoints import RollupEndpoints
from services.shared import routes
from services.shared.metrics import ServiceMetrics


def create_router(
    metrics: ServiceMetrics, namespace: str, endpoints: RollupEndpoints
) -> NatsRouter:
    return routes.create_router(metrics, namespace, [
        (ru.GetRollup, endpoints.get_rollup),
        (ru.PerformanceMeasureReported, endpoints.report_measure),
        (ru.ListFlags, endpoints.list_flags),
        (ru.ListSupportCases, endpoints.list_support_cases),
        (ru.ProvideSupport, endpoints.provide_support),
        (tl.GetPlanRollupTimeline, endpoints.get_timeline),
        (rp.ReplayPlanRollup, endpoints.replay),
    ])  # fmt: skip
