"""The plans service layer: an eventsourcing Application whose methods load, call, save."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import PersistenceError, ProcessRecorder
from eventsourcing.utils import get_topic

from services.plans.domain import ids
from services.plans.domain.assessment import SelfAssessment
from services.plans.domain.errors import (
    NoSuchVersionError,
    OrganizationNotFoundError,
    PlanNotFoundError,
)
from services.plans.domain.organization import Organization
from services.plans.domain.plan import ImprovementPlan
from services.plans.recorder import (
    PlansMemoryRecorder,
    PlansReadModels,
    PlansRecorder,
    Row,
    directory_rows,
)
from services.shared.eventstore import (
    aggregate_as_of,
    find,
    process_recorder,
    retry_on_conflict,
)


@dataclass(frozen=True)
class Outcome:
    """What a command did: ``changed`` is False when it was a repeat with no effect."""

    id: UUID
    key: str
    result: str
    changed: bool


log = logging.getLogger(__name__)


class PlansApplication(Application[UUID]):
    name = "plans"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {ImprovementPlan: 10}

    def construct_recorder(self) -> ProcessRecorder:
        return process_recorder(self, PlansRecorder, PlansMemoryRecorder)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """A snapshot is a cache: one not taken (the database gone for a moment after
        the events were stored) is logged, and the command still succeeds."""
        try:
            super()._take_snapshots(processing_event)
        except PersistenceError as error:
            log.warning("plans: a snapshot was not taken (%s); a later version takes one",
                        error)  # fmt: skip

    @property
    def view(self) -> PlansReadModels:
        assert isinstance(self.recorder, PlansReadModels)
        return self.recorder

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """Store the aggregates' events with their directory rows, in one transaction (an
        aggregate with no new event writes no row: it may be older than the stored one)."""
        rows = directory_rows(o for o in objs if getattr(o, "pending_events", None))
        return super().save(*objs, view_rows=rows, **kwargs)

    def rebuild_directory(self, page: int = 500) -> int:
        """Write every organization's and plan's row from the event store (after the read
        models were dropped, or on a store older than them), in one transaction: a rebuild
        cut short leaves the tables as they were; returns how many."""
        rows = self.directory_from_store(page)
        self.view.upsert(rows)  # a few rows per school: a state's fit
        return len(rows)

    def directory_incomplete(self) -> bool:
        """A table of the directory is empty beside a store with its events (dropped, or
        older than the store)."""
        if not self.recorder.max_notification_id():
            return False
        if self.view.incomplete():
            return True
        recorded = [get_topic(SelfAssessment.Recorded)]  # type: ignore[attr-defined]
        return not self.view.has_assessments() and bool(
            self.recorder.select_notifications(1, 1, topics=recorded))

    def directory_from_store(self, page: int = 500) -> list[Row]:
        """Every organization's and plan's row as the event store gives it."""
        topics = [get_topic(Organization.Registered),  # type: ignore[attr-defined]
                  get_topic(ImprovementPlan.Drafted),  # type: ignore[attr-defined]
                  get_topic(SelfAssessment.Recorded)]  # type: ignore[attr-defined]  # fmt: skip
        start, aggregates = 1, list[Any]()
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            aggregates += [self.repository.get(UUID(str(n.originator_id))) for n in notifications]
            start = notifications[-1].id + 1
        return directory_rows(aggregates)

    # -- organizations ---------------------------------------------------------------------

    @retry_on_conflict
    def register_organization(
        self, *, code: str, kind: str, name: str, parent: str | None, profile: dict[str, Any]
    ) -> Outcome:
        """Register an organization, update its contacts, or do nothing if unchanged."""
        existing = self._find(ids.organization_id(code))
        if isinstance(existing, Organization):
            changed = existing.update(kind=kind, parent_code=parent, name=name, profile=profile)
            self.save(existing)
            return Outcome(existing.id, code, "updated" if changed else "unchanged", changed)
        parent_org = self.get_organization(parent) if parent else None
        org = Organization.register(
            code=code, kind=kind, name=name, profile=profile, parent=parent_org
        )
        self.save(org)
        return Outcome(org.id, code, "registered", True)

    def get_organization(self, code: str) -> Organization:
        org = self._find(ids.organization_id(code))
        if not isinstance(org, Organization):
            raise OrganizationNotFoundError(f"organization {code} is not registered")
        return org

    # -- plans -----------------------------------------------------------------------------

    @retry_on_conflict
    def import_plan(
        self,
        document: dict[str, Any],
        *,
        by: str,
        cause: str | None = None,
        justification: str | None = None,
    ) -> Outcome:
        """Draft a new plan, revise a draft, or adjust an approved plan (cause required)."""
        owner = self.get_organization(document["organization"])
        plan = self._find(ids.plan_id(owner.code, document["plan_year"]))
        if not isinstance(plan, ImprovementPlan):
            plan = ImprovementPlan.draft(document, by=by)
            result = "drafted"
        elif cause is not None or justification is not None:
            changed = plan.adjust(
                document, cause=cause or "", justification=justification or "", by=by
            )
            result = "adjusted" if changed else "unchanged"
        else:
            result = "revised" if plan.revise(document, by=by) else "unchanged"
        self.save(plan)
        return Outcome(plan.id, plan.key, result, result != "unchanged")

    @retry_on_conflict
    def submit_plan(self, plan_id: UUID, *, organization: str, by: str) -> Outcome:
        plan = self.get_plan(plan_id)
        plan.submit(organization=organization, by=by)
        return self._saved(plan, "submitted")

    @retry_on_conflict
    def approve_plan(self, plan_id: UUID, *, organization: str, by: str) -> Outcome:
        plan = self.get_plan(plan_id)
        if not plan.approve(organization=organization, approver=self._approver_of(plan), by=by):
            return Outcome(plan.id, plan.key, "unchanged", False)  # approved already
        return self._saved(plan, "approved")

    @retry_on_conflict
    def return_plan(self, plan_id: UUID, *, organization: str, by: str, reason: str) -> Outcome:
        plan = self.get_plan(plan_id)
        plan.return_to_draft(
            organization=organization, approver=self._approver_of(plan), by=by, reason=reason
        )
        return self._saved(plan, "returned")

    @retry_on_conflict
    def close_plan(self, plan_id: UUID, *, organization: str, by: str) -> Outcome:
        plan = self.get_plan(plan_id)
        plan.close(organization=organization, approver=self._approver_of(plan), by=by)
        return self._saved(plan, "closed")

    def get_plan(self, plan_id: UUID) -> ImprovementPlan:
        plan = self._find(plan_id)
        if not isinstance(plan, ImprovementPlan):
            raise PlanNotFoundError(f"plan {plan_id} does not exist")
        return plan

    def plan_history(self, plan_id: UUID) -> Sequence[DomainEventProtocol[UUID]]:
        """Every stored event of the plan, oldest first (the auditor's view)."""
        self.get_plan(plan_id)
        return list(self.events.get(plan_id))

    def plan_as_of(self, plan_id: UUID, as_of: datetime | None = None,
                   version: int | None = None) -> tuple[ImprovementPlan, datetime]:  # fmt: skip
        """The plan as it stood after a version, or after every event recorded at or
        before a moment, rebuilt from its events (from the latest snapshot of then, so a
        year of adjustments is not replayed whole); and when that version was recorded."""
        latest = self.get_plan(plan_id).version
        if version is not None and not 1 <= version <= latest:
            raise NoSuchVersionError(f"plan {plan_id} has versions 1 to {latest}, not "
                                     f"{version}")  # fmt: skip
        if version is not None:
            plan: Any = self.repository.get(plan_id, version=version)
        else:
            assert as_of is not None
            plan = aggregate_as_of(self, plan_id, as_of)
            if plan is None:
                first: Any = next(iter(self.events.get(plan_id, limit=1)))
                raise NoSuchVersionError(f"plan {plan_id} was first recorded at "
                                         f"{first.timestamp:%Y-%m-%d %H:%M:%S} UTC, "
                                         f"after {as_of:%Y-%m-%d %H:%M:%S} UTC")  # fmt: skip
        assert isinstance(plan, ImprovementPlan)
        return plan, plan.modified_on

    # -- self-assessments ------------------------------------------------------------------

    @retry_on_conflict
    def record_assessment(self, document: dict[str, Any], *, by: str) -> Outcome:
        """Record a self-assessment, revise the one of that date, or do nothing if the same."""
        owner = self.get_organization(document["organization"])
        found = self._find(ids.assessment_id(owner.code, document["instrument"], document["on"]))
        if isinstance(found, SelfAssessment):
            result = "revised" if found.revise(document, by=by) else "unchanged"
        else:
            found, result = SelfAssessment.record(document, by=by), "recorded"
        self.save(found)
        return Outcome(found.id, found.key, result, result != "unchanged")

    # -- helpers ---------------------------------------------------------------------------

    def _approver_of(self, plan: ImprovementPlan) -> str:
        return self.get_organization(plan.organization_code).approver_code

    def _saved(self, plan: ImprovementPlan, result: str) -> Outcome:
        self.save(plan)
        return Outcome(plan.id, plan.key, result, True)

    def _find(self, aggregate_id: UUID) -> Any:
        return find(self, aggregate_id)
