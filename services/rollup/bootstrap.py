"""Composition root of the rollup service: its application and read models, its durable
consumer of the events stream, and its request/reply entry points."""

from __future__ import annotations

import asyncio
from uuid import UUID

from faststream.nats import NatsRouter
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.consumers import RollupConsumer
from services.rollup.domain.case_rules import CaseRules
from services.rollup.domain.support_case import EffectivenessRule
from services.rollup.domain.waning import WaningRules
from services.rollup.endpoints import RollupEndpoints
from services.rollup.exporter import DomainCollector, DomainExporter
from services.rollup.recorder import Row
from services.rollup.router import create_router
from services.rollup.settings import RollupSettings
from services.shared.rebuild import StreamFed
from services.shared.relay import Translate
from services.shared.runtime import Background, ServiceRuntime


class RollupService(ServiceRuntime[RollupApplication]):
    name = "rollup"
    settings: RollupSettings
    exporter: DomainExporter | None = None

    def __init__(self, settings: RollupSettings, registry: CollectorRegistry):
        super().__init__(settings, registry)
        self.domain_metrics = DomainCollector(registry)

    def create_application(self) -> RollupApplication:
        return RollupApplication(self.env, rules=self.rules, case_rules=self.case_rules)

    def translator(self) -> Translate:
        return translator.EventTranslator(self.app)

    @property
    def rules(self) -> WaningRules:
        s = self.settings
        return WaningRules(s.behind_pct, s.lag_points, s.lag_periods, s.declining_falls)

    @property
    def case_rules(self) -> CaseRules:
        s = self.settings
        effectiveness = EffectivenessRule(s.support_rise_points, s.support_reaches_pct,
                                          s.support_judged_after)  # fmt: skip
        return CaseRules(s.case_schools_per_practice, effectiveness)

    def create_router(self) -> NatsRouter:
        endpoints = RollupEndpoints(self.app, self.stored)
        return create_router(self.metrics, self.settings.namespace, endpoints, self.directory())

    async def prepare(self, js: JetStreamContext) -> None:
        await asyncio.to_thread(self.app.rebuild_own_rows)

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        consumer = RollupConsumer(
            self.app, js, self.settings.namespace, on_stored=self.stored,
            dead_letters=self.dead_letters(js), batch_size=self.settings.batch_size,
            ack_wait=self.settings.ack_wait,
        )  # fmt: skip
        s = self.settings
        self.exporter = DomainExporter(
            self.app.view, self.domain_metrics, s.behind_pct, watch_limit=s.metrics_schools,
            periods_kept=s.metrics_periods, interval=s.metrics_seconds,
        )  # fmt: skip
        return {
            "consumer": Background(consumer.run, consumer.heartbeat, consumer.consumer.measure_lag),
            "metrics": Background(self.exporter.run, self.exporter.heartbeat),
        }

    OWN_TABLES = ("support_cases", "waning", "measure_values", "judged_periods")

    def own_rows(self) -> list[Row]:
        return self.app.own_rows()

    def stream_fed(self) -> StreamFed:
        return StreamFed(translator.STREAM_TABLES, translator.rows_of)

    def plan_aggregates(self, key: str) -> list[UUID]:
        return self.app.plan_aggregates(key)

    def stored(self) -> None:
        """Events or rows were stored: relay them, and compute the metrics again."""
        self.wake_relay()
        if self.exporter is not None:
            self.exporter.changed()
