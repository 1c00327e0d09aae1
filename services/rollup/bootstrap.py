"""Composition root of the rollup service: its application and read models, its durable
consumer of the events stream, and its request/reply entry points."""

from __future__ import annotations

import asyncio

from faststream.nats import NatsRouter
from nats.js import JetStreamContext

from services.rollup import translator
from services.rollup.application import RollupApplication
from services.rollup.consumers import RollupConsumer
from services.rollup.domain.case_rules import CaseRules
from services.rollup.domain.support_case import EffectivenessRule
from services.rollup.domain.waning import WaningRules
from services.rollup.endpoints import RollupEndpoints
from services.rollup.router import create_router
from services.rollup.settings import RollupSettings
from services.shared.relay import Translate
from services.shared.runtime import Background, ServiceRuntime


class RollupService(ServiceRuntime[RollupApplication]):
    name = "rollup"
    settings: RollupSettings

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
        endpoints = RollupEndpoints(self.app, self.wake_relay)
        return create_router(self.settings.namespace, endpoints)

    async def prepare(self, js: JetStreamContext) -> None:
        await asyncio.to_thread(self.app.rebuild_own_rows)

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        consumer = RollupConsumer(
            self.app, js, self.settings.namespace, on_stored=self.wake_relay,
            dead_letters=self.dead_letters(js), batch_size=self.settings.batch_size,
        )  # fmt: skip
        return {"consumer": Background(consumer.run, consumer.heartbeat)}
