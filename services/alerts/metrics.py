"""What the alerts service counts besides the shared mechanisms."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class AlertsMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.raised = Counter("spn_alerts_raised_total", "Alerts raised, by kind", ["kind"],
                              registry=registry)  # fmt: skip
        self.deliveries = Counter(
            "spn_alerts_deliveries_total", "Delivery attempts by channel and outcome: "
            "delivered, pending (failed, to be retried), failed (for good)",
            ["channel", "outcome"], registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "spn_alerts_delivery_seconds",
            "From the first alert of a message raised (its event taken from the stream) to "
            "its delivery: the group wait and every retry",
            ["channel"], buckets=(1, 5, 30, 60, 180, 300, 600, 1800, 3600, 21600),
            registry=registry,
        )  # fmt: skip
        for channel in ("email", "webhook"):  # every series from zero: rules watch them
            for outcome in ("delivered", "pending", "failed"):
                self.deliveries.labels(channel, outcome)
