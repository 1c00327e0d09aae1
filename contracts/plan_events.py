"""Integration events of the plans service, published to ``<NS>_EVENTS`` on
``<namespace>.<SUBJECT>`` (e.g. ``spn.evt.plans.plan.approved``).

Each carries ``event_id`` (``<aggregate id>:<version>``), stable across redeliveries, and
the ``version`` of its aggregate, so consumers can deduplicate and order per aggregate.
Plan events that change the document carry the whole plan, so consumers need no query.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from contracts.base import Versioned
from contracts.organizations import Organization, OrgCode
from contracts.plans import ImprovementPlan, PlanYear


class IntegrationEvent(Versioned):
    SUBJECT: ClassVar[str]
    event_id: str
    version: int = Field(ge=1)
    occurred_at: datetime


class OrganizationRegistered(IntegrationEvent):
    SCHEMA_NAME = "organization-registered"
    SUBJECT = "evt.plans.organization.registered"
    organization: Organization


class OrganizationUpdated(IntegrationEvent):
    SCHEMA_NAME = "organization-updated"
    SUBJECT = "evt.plans.organization.updated"
    organization: Organization


class PlanEvent(IntegrationEvent):
    plan_id: UUID
    key: str
    organization: OrgCode
    plan_year: PlanYear
    by: str


class PlanDrafted(PlanEvent):
    SCHEMA_NAME = "plan-drafted"
    SUBJECT = "evt.plans.plan.drafted"
    plan: ImprovementPlan


class PlanRevised(PlanEvent):
    SCHEMA_NAME = "plan-revised"
    SUBJECT = "evt.plans.plan.revised"
    plan: ImprovementPlan


class PlanSubmitted(PlanEvent):
    SCHEMA_NAME = "plan-submitted"
    SUBJECT = "evt.plans.plan.submitted"


class PlanReturned(PlanEvent):
    SCHEMA_NAME = "plan-returned"
    SUBJECT = "evt.plans.plan.returned"
    returned_by: OrgCode
    reason: str


class PlanApproved(PlanEvent):
    SCHEMA_NAME = "plan-approved"
    SUBJECT = "evt.plans.plan.approved"
    approved_by: OrgCode
    plan: ImprovementPlan


class PlanAdjusted(PlanEvent):
    SCHEMA_NAME = "plan-adjusted"
    SUBJECT = "evt.plans.plan.adjusted"
    cause: str
    justification: str
    changes: list[str]
    plan: ImprovementPlan


class PlanClosed(PlanEvent):
    SCHEMA_NAME = "plan-closed"
    SUBJECT = "evt.plans.plan.closed"
    closed_by: OrgCode
