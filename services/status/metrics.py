"""What the status service counts besides the shared mechanisms."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class StatusMetrics:
    def __init__(self, registry: CollectorRegistry):
        self.reports = Counter(
            "spn_status_reports_total", "Reports taken, by outcome: recorded, duplicate, "
            "parked (its plan not known yet), rejected (dead-lettered)", ["outcome"],
            registry=registry,
        )  # fmt: skip
        for outcome in ("recorded", "duplicate", "parked", "rejected"):
            self.reports.labels(outcome)
