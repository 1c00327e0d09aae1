"""Composition root of the alerts service: its application and read models, its durable
consumer of the events stream, the delivery loop and its request/reply entry points."""

from __future__ import annotations

from datetime import timedelta

from faststream.nats import NatsRouter
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from services.alerts import translator
from services.alerts.application import AlertsApplication
from services.alerts.attachments import QuarterlyReports
from services.alerts.channels import SmtpChannel, WebhookChannel
from services.alerts.consumers import AlertsConsumer
from services.alerts.delivery import Channel, Dispatcher
from services.alerts.domain.message import RetryPolicy
from services.alerts.domain.preferences import Preference
from services.alerts.endpoints import AlertsEndpoints
from services.alerts.metrics import AlertsMetrics
from services.alerts.recorder import Row
from services.alerts.router import create_router
from services.alerts.settings import AlertsSettings
from services.shared.asking import NatsAsker
from services.shared.rebuild import StreamFed
from services.shared.relay import Translate
from services.shared.runtime import Background, ServiceRuntime


class AlertsService(ServiceRuntime[AlertsApplication]):
    name = "alerts"
    settings: AlertsSettings

    def __init__(self, settings: AlertsSettings, registry: CollectorRegistry):
        super().__init__(settings, registry)
        self.alerts_metrics = AlertsMetrics(registry)

    def create_application(self) -> AlertsApplication:
        s = self.settings
        policy = RetryPolicy(s.retry_first_delay, s.retry_max_delay, s.max_attempts)
        webhook_policy = RetryPolicy(max_attempts=len(s.webhook_retry) + 1,
                                     schedule=s.webhook_retry)  # fmt: skip
        return AlertsApplication(
            self.env, policy=policy, time_zone=s.time_zone, webhooks=s.webhook_targets(),
            webhook_policy=webhook_policy, digest_hour=s.digest_hour,
            max_age=timedelta(days=s.max_age_days) if s.max_age_days else None,
            report_link=s.report_link,
            preferences={k: Preference(p.mode, p.time_zone) for k, p in s.preferences.items()},
        )

    def translator(self) -> Translate:
        return lambda domain_event: None  # its events are its own (no integration events yet)

    OWN_TABLES = ("alerts", "alert_targets", "messages")

    def own_rows(self) -> list[Row]:
        return self.app.own_rows()

    def stream_fed(self) -> StreamFed:
        return StreamFed(translator.STREAM_TABLES, translator.rows_of)

    def create_router(self) -> NatsRouter:
        endpoints = AlertsEndpoints(self.app, self.wake_relay, SmtpChannel(self.settings))
        return create_router(self.metrics, self.settings.namespace, endpoints, self.directory())

    def background(self, js: JetStreamContext) -> dict[str, Background]:
        s = self.settings
        consumer = AlertsConsumer(
            self.app, js, s.namespace, on_stored=self.wake_relay,
            dead_letters=self.dead_letters(js), metrics=self.alerts_metrics,
            batch_size=s.batch_size, ack_wait=s.ack_wait,
        )  # fmt: skip
        assert self._nc is not None  # connected before the background tasks are made
        asker = NatsAsker(self._nc, s.namespace, s.report_timeout)
        attach = QuarterlyReports(self.app, asker).of if s.report_attach else None
        channels: dict[str, Channel] = {"email": SmtpChannel(s, attach),
                                        "webhook": WebhookChannel(s)}  # fmt: skip
        dispatcher = Dispatcher(self.app, channels, s.group_wait, s.dispatch_seconds,
                                on_stored=self.wake_relay, metrics=self.alerts_metrics)  # fmt: skip
        return {
            "consumer": Background(consumer.run, consumer.heartbeat,
                                   consumer.consumer.measure_lag),
            "delivery": Background(dispatcher.run, dispatcher.heartbeat),
        }
