"""The status service layer: reports and plan events in (with tracking), period closes.

A batch is prepared (aggregates changed in memory, rejections decided), then committed
with the tracking record of its last message and each report's outcome, in one
transaction. The consumer publishes dead letters between the two, so a crash never loses
one; callers serialize writes (one consumer task and the period close share a lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking

from services.shared.eventstore import find, process_recorder
from services.status.domain.errors import StatusError, UnknownPlanError
from services.status.domain.plan_progress import PlanProgress
from services.status.domain.registers import ActivePlans, ReportingPeriod
from services.status.recorder import StatusRecorder


@dataclass(frozen=True)
class Delivery:
    """One message from a stream: its position and its parsed payload."""

    sequence: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class Rejection:
    sequence: int
    report_id: str | None
    reason: str
    message: str


@dataclass
class PreparedBatch:
    """A batch's effects, not yet stored."""

    tracking: Tracking
    aggregates: dict[UUID, Any] = field(default_factory=dict)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    recorded: int = 0
    duplicates: int = 0

    def reject(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)
        if rejection.report_id is not None:
            self.outcomes.append(
                _outcome(rejection.report_id, "rejected", rejection.reason, rejection.message)
            )


class StatusApplication(Application[UUID]):
    name = "status"
    # One writer per event store (the consumers and the period close share a lock, and one
    # status process runs per store), so cached aggregates are current without
    # fast-forwarding; a batch changes deep copies, and only what commits is cached.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, StatusRecorder)

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    def position(self, source: str) -> int:
        """The last stream sequence of ``source`` whose effect is stored."""
        return self.process_recorder.max_tracking_id(source) or 0

    # -- inbound: action status reports ----------------------------------------------------

    def prepare_reports(
        self, source: str, deliveries: list[Delivery], rejected: list[Rejection]
    ) -> PreparedBatch:
        """Apply each report to its plan's progress; refuse what can never be accepted."""
        last = max([d.sequence for d in deliveries] + [r.sequence for r in rejected])
        batch = PreparedBatch(tracking=Tracking(source, last))
        for rejection in rejected:
            batch.reject(rejection)
        for delivery in deliveries:
            report = delivery.payload
            try:
                progress = self._load(batch, PlanProgress.create_id(report["plan"]))
                if progress is None:
                    raise UnknownPlanError(
                        f"plan {report['plan']} is not an approved plan known to status"
                    )
                recorded = progress.record(report)
            except StatusError as error:
                batch.reject(
                    Rejection(delivery.sequence, report["report_id"], error.code, str(error))
                )
                continue
            if recorded:
                batch.recorded += 1
                batch.outcomes.append(_outcome(report["report_id"], "recorded"))
            else:
                batch.duplicates += 1
        return batch

    def commit(self, batch: PreparedBatch) -> None:
        self._commit(batch.aggregates.values(), batch.tracking, report_outcomes=batch.outcomes)

    # -- inbound: plan events --------------------------------------------------------------

    def take_plan_events(self, source: str, deliveries: list[Delivery]) -> None:
        """Adopt approved plans, revise adjusted ones, end closed ones (others: tracked)."""
        batch = PreparedBatch(tracking=Tracking(source, max(d.sequence for d in deliveries)))
        active = self._load(batch, ActivePlans.ID) or ActivePlans()
        batch.aggregates[ActivePlans.ID] = active
        for delivery in deliveries:
            event = delivery.payload
            kind = event.get("kind")
            if kind not in ("approved", "adjusted", "closed"):
                continue
            progress = self._load(batch, PlanProgress.create_id(event["key"]))
            if progress is None and kind == "approved":
                progress = PlanProgress(
                    plan_id=UUID(event["plan_id"]),
                    key=event["key"],
                    organization=event["organization"],
                    plan_year=event["plan_year"],
                    structure=event["structure"],
                )
                batch.aggregates[progress.id] = progress
                active.add(progress.key)
            elif progress is not None and kind in ("approved", "adjusted"):
                progress.revise(event["structure"])
            elif progress is not None and kind == "closed":
                progress.end()
                active.remove(progress.key)
        self._commit(batch.aggregates.values(), batch.tracking)

    # -- period close ----------------------------------------------------------------------

    def close_period(self, period: str) -> tuple[bool, int]:
        """Evaluate every active plan as of the period's last day, once."""
        closed = self._get(ReportingPeriod.create_id(period))
        if closed is not None:
            return False, closed.plans_evaluated
        plans = [self._get(PlanProgress.create_id(key)) for key in self.active_keys()]
        evaluated = [p for p in plans if p is not None and p.close_period(period)]
        self.save(*evaluated, ReportingPeriod(period=period, plans_evaluated=len(evaluated)))
        return True, len(evaluated)

    def active_keys(self) -> list[str]:
        active = self._get(ActivePlans.ID)
        return list(active.keys) if active else []

    def get_progress(self, key: str) -> PlanProgress:
        progress = self._get(PlanProgress.create_id(key))
        if progress is None:
            raise UnknownPlanError(f"plan {key} is not an approved plan known to status")
        return progress

    def report_outcomes(self, report_ids: list[str]) -> dict[str, dict[str, Any]]:
        assert isinstance(self.recorder, StatusRecorder)
        return self.recorder.report_outcomes(report_ids)

    # -- helpers ---------------------------------------------------------------------------

    def _commit(self, aggregates: Iterable[Any], tracking: Tracking, **kwargs: Any) -> None:
        processing = ProcessingEvent[UUID](tracking=tracking)
        processing.collect_events(*aggregates, **kwargs)
        self._notify(self._record(processing))

    def _load(self, batch: PreparedBatch, aggregate_id: UUID) -> Any:
        if aggregate_id not in batch.aggregates:
            found = self._get(aggregate_id)
            if found is None:
                return None
            batch.aggregates[aggregate_id] = found
        return batch.aggregates[aggregate_id]

    def _get(self, aggregate_id: UUID) -> Any:
        return find(self, aggregate_id)


def _outcome(
    report_id: str, outcome: str, reason: str | None = None, message: str | None = None
) -> dict[str, Any]:
    return {"report_id": report_id, "outcome": outcome, "reason": reason, "message": message}
