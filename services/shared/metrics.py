"""The metrics every service process serves on ``/metrics``: one registry per process,
created by its entry point and passed in (nothing is registered at import). Each series
of the shared mechanisms carries the ``service`` label, so a query does not depend on
how Prometheus names its scrape jobs."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

__all__ = ["ServiceMetrics", "process_registry"]

SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def process_registry() -> CollectorRegistry:
    """A registry with the process's own figures (memory, CPU, open files, GC)."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


PERMANENT_FAILURE = "processing_failed"  # the dead-letter reason every consumer can have


class ServiceMetrics:
    """What the shared mechanisms count: consumers, the dead-letter path, the relay, the
    task supervisor and the request/reply entry points."""

    def __init__(self, registry: CollectorRegistry, service: str):
        self.registry = registry
        self.service = service
        by_consumer = ["service", "consumer"]
        self.received = Counter(
            "spn_consumer_received_total", "Messages fetched by a durable consumer "
            "(redeliveries of what was committed already included)", by_consumer,
            registry=registry,
        )  # fmt: skip
        self.processed = Counter(
            "spn_consumer_processed_total", "Messages whose effects a consumer committed "
            "(or dead-lettered)", by_consumer, registry=registry,
        )  # fmt: skip
        self.retries = Counter(
            "spn_consumer_batch_retries_total", "Batches retried after an outage or a "
            "timeout", by_consumer, registry=registry,
        )  # fmt: skip
        self.batch_seconds = Histogram(
            "spn_consumer_batch_seconds", "Time to process and commit one batch",
            by_consumer, buckets=SECONDS, registry=registry,
        )  # fmt: skip
        self.batch_size = Histogram(
            "spn_consumer_batch_size", "Messages per batch fetched", by_consumer,
            buckets=(1, 10, 50, 100, 500, 1000, 5000), registry=registry,
        )  # fmt: skip
        self.consumer_lag = Gauge(
            "spn_consumer_lag_messages", "The stream's last sequence minus the consumer's "
            "tracked position: messages not yet committed", by_consumer, registry=registry,
        )  # fmt: skip
        self.dead_letters = Counter(
            "spn_dead_letters_total", "Messages sent down the dead-letter path",
            ["service", "consumer", "reason"], registry=registry,
        )  # fmt: skip
        self.relay_published = Counter(
            "spn_relay_published_total", "Events published to the events stream", ["service"],
            registry=registry,
        )  # fmt: skip
        self.relay_failures = Counter(
            "spn_relay_failures_total", "Failed relay attempts (retried)", ["service"],
            registry=registry,
        )  # fmt: skip
        self.relay_refills = Counter(
            "spn_relay_refills_total", "Times the relay found the events stream lacking "
            "events it had published, and refilled it from the event store", ["service"],
            registry=registry,
        )  # fmt: skip
        self.skipped = Counter(
            "spn_consumer_skipped_total", "Events stream messages a consumer did not take: "
            "repeat (taken already, e.g. a refill), gap (one before it is missing from the "
            "stream; taken when a refill brings it)", ["service", "consumer", "reason"],
            registry=registry,
        )  # fmt: skip
        self.relay_position = Gauge(
            "spn_relay_position", "Notification id of the last event relayed", ["service"],
            registry=registry,
        )  # fmt: skip
        self.relay_lag = Gauge(
            "spn_relay_lag_events", "Events stored that the relay has not yet published",
            ["service"], registry=registry,
        )  # fmt: skip
        self.task_restarts = Counter(
            "spn_task_restarts_total", "Background tasks restarted after they ended",
            ["service", "task"], registry=registry,
        )  # fmt: skip
        self.requests = Counter(
            "spn_requests_total", "Requests answered, by outcome: ok, refused, invalid, error",
            ["service", "subject", "outcome"], registry=registry,
        )  # fmt: skip
        self.request_seconds = Histogram(
            "spn_request_seconds", "Time from a request's arrival to its reply",
            ["service", "subject"], buckets=SECONDS, registry=registry,
        )  # fmt: skip
        for metric in (self.relay_published, self.relay_failures, self.relay_refills):
            metric.labels(service)

    def consumer_started(self, consumer: str) -> None:
        """A consumer's series, started at zero (a rule that watches them has a series
        before anything happened)."""
        for metric in (self.received, self.processed, self.retries):
            metric.labels(self.service, consumer)
        self.dead_letters.labels(self.service, consumer, PERMANENT_FAILURE)

    def task_started(self, task: str) -> None:
        self.task_restarts.labels(self.service, task)
