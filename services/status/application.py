"""The status service layer: reports and plan events in (with tracking), period closes.

A batch is prepared (aggregates changed in memory, rejections decided), then committed
with the tracking record of its last message and each report's outcome, in one
transaction. The consumer publishes dead letters between the two, so a crash never loses
one; callers serialize writes (one consumer task and the period close share a lock).

A report for a plan status does not know yet is parked (kept in the same transaction) and
taken when the plan's approval arrives; one parked too long is rejected as ``unknown_plan``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.persistence import ProcessRecorder, Tracking
from eventsourcing.utils import get_topic

from contracts.periods import plan_year_of, term_periods, terms_of_plan_year
from services.shared import timeline
from services.shared.eventstore import (
    events_of,
    find,
    forget_cached,
    process_recorder,
    stored_aggregate,
)
from services.status import replay
from services.status import timeline as status_timeline
from services.status.domain.errors import StatusError, UnknownPlanError
from services.status.domain.plan_progress import REPORT_FIELDS, PlanProgress, placement
from services.status.domain.registers import ActivePlans, ReportingPeriod, ReportingTerm
from services.status.recorder import (
    Row,
    StatusMemoryRecorder,
    StatusReadModels,
    StatusRecorder,
    outcome_row,
    report_row,
    sender_of,
)


@dataclass(frozen=True)
class Delivery:
    """One message from a stream: its position, its parsed payload, and (for reports,
    which may be parked) the original subject and body."""

    sequence: int
    payload: dict[str, Any]
    subject: str = ""
    body: bytes = b""


@dataclass(frozen=True)
class Rejection:
    sequence: int
    report_id: str | None
    reason: str
    message: str
    sender: str  # whose inbox it came on


@dataclass
class PreparedBatch:
    """A batch's effects, not yet stored."""

    tracking: Tracking
    aggregates: dict[UUID, Any] = field(default_factory=dict)
    outcomes: list[Row] = field(default_factory=list)  # ("report_outcomes", row)
    rejections: list[Rejection] = field(default_factory=list)
    parked: list[dict[str, Any]] = field(default_factory=list)  # rows to keep
    unparked: list[tuple[str, str]] = field(default_factory=list)  # taken from the parked
    rows: list[Row] = field(default_factory=list)  # other rows (the directory, the reports)
    released: dict[int, Delivery] = field(default_factory=dict)  # inbox sequence -> parked
    recorded: int = 0
    duplicates: int = 0

    def reject(self, rejection: Rejection) -> None:
        self.rejections.append(rejection)
        if rejection.report_id is not None:
            self.outcomes.append(outcome_row(rejection.sender, rejection.report_id, "rejected",
                                             rejection.reason, rejection.message))  # fmt: skip


CLOSE_CHUNK = 20  # plans per transaction of a period close: bounded writes, ingest between


@dataclass(frozen=True)
class CloseStep:
    finished: bool
    changed: bool
    plans_evaluated: int  # so far
    last_key: str | None = None  # the last plan looked at; the next step goes on after it


class StatusApplication(Application[UUID]):
    name = "status"
    # One writer per event store (the consumers and the period close share a lock, and one
    # status process runs per store), so cached aggregates are current without
    # fast-forwarding; a batch changes deep copies, and only what commits is cached. The
    # cache is an LRU (SPN_STATUS_CACHED_PLANS): beyond it, plans are read again from the store.
    env: ClassVar[dict[str, str]] = {
        "AGGREGATE_CACHE_MAXSIZE": "20000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, StatusRecorder, StatusMemoryRecorder)

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
        """Apply each report to its plan's progress; park what waits for its plan; refuse
        what can never be accepted."""
        last = max([d.sequence for d in deliveries] + [r.sequence for r in rejected])
        batch = PreparedBatch(tracking=Tracking(source, last))
        for rejection in rejected:
            batch.reject(rejection)
        for delivery in deliveries:
            self._apply_report(batch, delivery, park=True)
        return batch

    def commit(self, batch: PreparedBatch) -> None:
        rows = [*batch.outcomes, *(("parked_reports", p) for p in batch.parked),
                *_plan_rows(batch.aggregates.values()), *batch.rows]  # fmt: skip
        taken = [("parked_reports", {"sender": s, "report_id": r}) for s, r in batch.unparked]
        self._commit(batch.aggregates.values(), batch.tracking, view_rows=rows,
                     view_deletes=taken)  # fmt: skip

    def skip(self, tracking: Tracking) -> None:
        """Track a message that has no effect (it was dead-lettered)."""
        self._commit([], tracking)

    # -- inbound: plan events --------------------------------------------------------------

    def prepare_plan_events(self, tracking: Tracking, deliveries: list[Delivery]
                            ) -> PreparedBatch:  # fmt: skip
        """Adopt approved plans (and take the reports parked for them), revise adjusted
        ones, end closed ones, keep the directory (other events: tracked only)."""
        batch = PreparedBatch(tracking=tracking)
        active = self._load(batch, ActivePlans.ID) or ActivePlans()
        batch.aggregates[ActivePlans.ID] = active
        for delivery in deliveries:
            event = delivery.payload
            kind = event.get("kind")
            if kind == "organization":
                batch.rows.append(("organizations", event["row"]))
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
                self._take_parked(batch, progress.key)  # before any later event of the plan
            elif progress is not None and kind in ("approved", "adjusted"):
                progress.revise(event["structure"])
            elif progress is not None and kind == "closed":
                progress.end()
                active.remove(progress.key)
        return batch

    # -- parked reports --------------------------------------------------------------------

    def expire_parked(self, parked_before: datetime, message: str) -> None:
        """Reports parked before then, whose plan never came, are rejected as unknown_plan:
        their outcomes stored, and each kept (marked expired, no longer taken by an
        approval) until its dead letter is stored."""
        self._view.expire_parked(parked_before, message)

    def expired_parked(self) -> list[Delivery]:
        """Expired parked reports whose dead letters are still to be stored."""
        return [_parked_delivery(row) for row in self._view.expired()]

    def forget_expired(self, deliveries: list[Delivery]) -> None:
        """Their dead letters are stored."""
        self._view.forget_parked([(sender_of(d.subject), d.payload["report_id"])
                                  for d in deliveries])  # fmt: skip

    def _take_parked(self, batch: PreparedBatch, key: str) -> None:
        for row in self._view.parked_for([key]):
            delivery = _parked_delivery(row)
            batch.unparked.append((sender_of(delivery.subject), delivery.payload["report_id"]))
            batch.released[delivery.sequence] = delivery
            self._apply_report(batch, delivery, park=False)

    def _apply_report(self, batch: PreparedBatch, delivery: Delivery, park: bool) -> None:
        report, sender = delivery.payload, sender_of(delivery.subject)
        try:
            progress = self._load(batch, PlanProgress.create_id(report["plan"]))
            if progress is None:
                raise UnknownPlanError(
                    f"plan {report['plan']} is not an approved plan known to status"
                )
            recorded = progress.record(report)
        except UnknownPlanError as error:
            if not park:
                raise AssertionError("a parked report's plan was just adopted") from error
            batch.parked.append(_parked_row(delivery))
            parked = outcome_row(sender, report["report_id"], "parked", error.code, str(error))
            batch.outcomes.append(parked)
            return
        except StatusError as error:
            batch.reject(Rejection(delivery.sequence, report["report_id"], error.code,
                                   str(error), sender))  # fmt: skip
            return
        if recorded:
            batch.recorded += 1
            place = progress.placement(report["action"])
            batch.rows.append(report_row(progress.key, progress.version, report, place))
        else:
            batch.duplicates += 1  # recorded before: its sender asks under its own id
        batch.outcomes.append(outcome_row(sender, report["report_id"], "recorded"))

    # -- period close ----------------------------------------------------------------------

    def close_period_step(
        self, period: str, chunk: int = CLOSE_CHUNK, after: CloseStep | None = None
    ) -> CloseStep:
        """Evaluate up to ``chunk`` more active plans as of the period's last day, in one
        transaction, going on from the step ``after`` (plans are only ever added at the end
        of the active list); the step that evaluates the last of them also marks the period
        closed (``status.period.closed``, after which the rollup judges it), and each term
        all of whose months are then closed (``status.term.closed``: a quarter, a semester,
        the plan year). A close cut
        short (a crash) is resumed by closing the period again; a closed period changes no
        more."""
        try:
            return self._close_period_step(period, chunk, after)
        except BaseException:
            forget_cached(self)  # the cached plans were changed in place
            raise

    def _close_period_step(self, period: str, chunk: int, after: CloseStep | None) -> CloseStep:
        """Under the write lock, in one call: the cached plans are changed in place (no deep
        copies); a failure forgets the cache, and only what commits is cached."""
        closed = self._get(ReportingPeriod.create_id(period))
        if closed is not None:
            return CloseStep(finished=True, changed=False, plans_evaluated=closed.plans_evaluated)
        keys = self.active_keys()
        start = keys.index(after.last_key) + 1 if after and after.last_key in keys else 0
        done = after.plans_evaluated if after and start else 0
        evaluated: list[PlanProgress] = []
        closes: list[Row] = []
        examined: str | None = None
        for key in keys[start:]:
            if len(evaluated) >= chunk:
                self.save(*evaluated, view_rows=closes)
                return CloseStep(False, True, done, last_key=examined)
            examined = key
            progress = self._get(PlanProgress.create_id(key), copy=False)
            if progress is None:
                continue
            if period in progress.periods_closed:
                done += 1
            elif (close := progress.close_period(period)) is not None:
                evaluated.append(progress)
                closes.append(("period_figures", {"plan": key, "period": period,
                                                  "close": close}))  # fmt: skip
                done += 1
        terms = [ReportingTerm(term=t, plans_evaluated=done) for t in self._terms_closing(period)]
        self.save(
            *evaluated, ReportingPeriod(period=period, plans_evaluated=done), *terms,
            view_rows=closes,
        )  # fmt: skip
        return CloseStep(finished=True, changed=True, plans_evaluated=done)

    def _terms_closing(self, period: str) -> list[str]:
        """The terms of ``period``'s plan year closed by closing it: each of whose months
        is then closed (months may be closed out of order)."""
        return [
            t for t in terms_of_plan_year(plan_year_of(period))
            if period in term_periods(t) and self._get(ReportingTerm.create_id(t)) is None
            and all(m == period or self._get(ReportingPeriod.create_id(m)) is not None
                    for m in term_periods(t))
        ]  # fmt: skip

    def active_keys(self) -> list[str]:
        active = self._get(ActivePlans.ID)
        return list(active.keys) if active else []

    def timeline(self, key: str) -> list[dict[str, Any]]:
        """The plan's progress events as timeline entries (UnknownPlanError if status never
        adopted it)."""
        self.plan_row(key)
        return timeline.entries(events_of(self, PlanProgress.create_id(key)),
                                status_timeline.DESCRIBED)  # fmt: skip

    def own_rows(self, page: int = 500) -> list[Row]:
        """Each adopted plan's row, each period close's figures and each recorded report,
        as the event store gives them."""
        events = (PlanProgress.Adopted, PlanProgress.StructureRevised,  # type: ignore[attr-defined]
                  PlanProgress.StatusRecorded, PlanProgress.PeriodClosed)  # type: ignore[attr-defined]  # fmt: skip
        topics = [get_topic(e) for e in events]
        start, plans, rows = 1, dict[UUID, tuple[str, dict[str, Any]]](), list[Row]()
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            for notification in notifications:
                event: Any = self.mapper.to_domain_event(notification)
                rows.extend(_own_rows_of(event, plans))
            start = notifications[-1].id + 1
        return _plan_rows(stored_aggregate(self, i) for i in plans) + rows

    def progress_as_of(self, key: str, moment: datetime) -> dict[str, Any]:
        """The plan's figures as known at ``moment``, rebuilt from its events."""
        return replay.progress_as_of(key, events_of(self, PlanProgress.create_id(key)), moment)

    def plan_row(self, key: str) -> dict[str, Any]:
        """The plan as the read model has it (queries never read an aggregate)."""
        found = self._view.plan_row(key)
        if found is None:
            raise UnknownPlanError(f"plan {key} is not an approved plan known to status")
        return found

    def period_figures(self, key: str) -> dict[str, dict[str, Any]]:
        """Each closed period's figures of a plan, by period."""
        return self._view.period_figures(key)

    def action_reports(self, key: str, periods: list[str] | None = None
                       ) -> list[dict[str, Any]]:  # fmt: skip
        """The plan's recorded reports (of these months; None: all), in the order taken."""
        return self._view.action_reports(key, periods)

    def report_outcomes(self, report_ids: list[str], senders: set[str] | None = None
                        ) -> dict[str, dict[str, Any]]:  # fmt: skip
        """What became of each report (of these senders; None: any sender's)."""
        return self._view.report_outcomes(report_ids, senders)

    @property
    def _view(self) -> StatusReadModels:
        assert isinstance(self.recorder, StatusReadModels)
        return self.recorder

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

    def _get(self, aggregate_id: UUID, copy: bool = True) -> Any:
        return find(self, aggregate_id, copy)


def _own_rows_of(event: Any, plans: dict[UUID, tuple[str, dict[str, Any]]]) -> list[Row]:
    """The rows one stored progress event gives (``plans``: each plan's key and structure
    so far, kept up to date)."""
    if isinstance(event, PlanProgress.Adopted):  # type: ignore[attr-defined]
        plans[event.originator_id] = (event.key, event.structure)
        return []
    key, structure = plans[event.originator_id]
    if isinstance(event, PlanProgress.StructureRevised):  # type: ignore[attr-defined]
        plans[event.originator_id] = (key, event.structure)
        return []
    if isinstance(event, PlanProgress.StatusRecorded):
        report = {name: getattr(event, name) for name in REPORT_FIELDS}
        return [report_row(key, event.originator_version, report,
                           placement(structure, event.action))]  # fmt: skip
    close = {"as_of": event.as_of, "figures": event.figures, "strategies": event.strategies}
    return [("period_figures", {"plan": key, "period": event.period, "close": close})]


def _plan_rows(aggregates: Iterable[Any]) -> list[Row]:
    return [
        ("plans", {"key": a.key, "organization": a.organization, "plan_year": a.plan_year,
                   "active": a.active, "reports_recorded": len(a.report_ids)})
        for a in aggregates if isinstance(a, PlanProgress)
    ]  # fmt: skip


def _parked_row(delivery: Delivery) -> dict[str, Any]:
    return {
        "sender": sender_of(delivery.subject),
        "report_id": delivery.payload["report_id"], "plan": delivery.payload["plan"],
        "sequence": delivery.sequence, "subject": delivery.subject, "body": delivery.body,
        "payload": json.dumps(delivery.payload), "parked_at": datetime.now(UTC),
        "expired": False,
    }  # fmt: skip


def _parked_delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(row["sequence"], json.loads(row["payload"]), row["subject"], bytes(row["body"]))
