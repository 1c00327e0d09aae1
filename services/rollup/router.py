"""NATS request/reply entry points of the rollup service."""

from __future__ import annotations

from faststream.nats import NatsRouter

from contracts import replay as rp
from contracts import rollup as ru
from contracts import timeline as tl
from services.rollup.endpoints import RollupEndpoints
from services.shared import routes
from services.shared.metrics import ServiceMetrics
from services.shared.scope import DirectoryTables


def create_router(
    metrics: ServiceMetrics, namespace: str, endpoints: RollupEndpoints,
    directory: DirectoryTables | None = None,
) -> NatsRouter:
    return routes.create_router(metrics, namespace, [
        (ru.GetRollup, endpoints.get_rollup),
        (ru.PerformanceMeasureReported, endpoints.report_measure),
        (ru.ListFlags, endpoints.list_flags),
        (ru.ListSupportCases, endpoints.list_support_cases),
        (ru.ProvideSupport, endpoints.provide_support),
        (tl.GetPlanRollupTimeline, endpoints.get_timeline),
        (rp.ReplayPlanRollup, endpoints.replay),
    ], directory)  # fmt: skip
