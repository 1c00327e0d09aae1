"""A plan's timeline across the services: each service tells what it recorded about a
plan, from its own events; the CLI (``spn history``) puts the entries in one order."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from contracts.base import Command, Part, Versioned
from contracts.status import PlanKey

Service = Literal["plans", "status", "rollup", "alerts"]


class TimelineEntry(Part):
    """One thing recorded about the plan."""

    at: datetime = Field(description="When it was recorded (the event's timestamp)")
    effective: str | None = Field(
        default=None, description="The period (YYYY-MM) or date it is about when that is "
        "not when it was recorded: a report for October recorded in December says 2026-10",
    )  # fmt: skip
    service: Service
    kind: str = Field(description="What happened, e.g. plan.adjusted, status.reported, "
                      "rollup.flag_raised, alerts.delivered")  # fmt: skip
    who: str | None = Field(default=None, description="The person or organization, when "
                            "one did it (the system's own judgments have none)")  # fmt: skip
    summary: str = Field(description="One line a person reads")
    details: dict[str, Any] = Field(default_factory=dict, description="The event's fields")
    version: int | None = Field(default=None, description="Version of the aggregate it changed")


class PlanTimeline(Versioned):
    """What one service recorded about a plan, oldest first."""

    SCHEMA_NAME = "plan-timeline"
    plan: PlanKey
    service: Service
    entries: list[TimelineEntry]


class _TimelineQuery(Command):
    RESULT = PlanTimeline
    SCOPE = "plan"
    plan: PlanKey


class GetPlanDocumentTimeline(_TimelineQuery):
    """The plans service's part: drafts, revisions, submissions, approvals, returns,
    adjustments with their cause, justification and change summary, the close."""

    SCHEMA_NAME = "get-plan-document-timeline"
    SUBJECT = "qry.plans.get_timeline"


class GetPlanStatusTimeline(_TimelineQuery):
    """The status service's part: the plan adopted, every monthly report (with outputs,
    cause and adjustments, resources, budget, comments), overdue actions, slips, missing
    reports, period closes with their figures."""

    SCHEMA_NAME = "get-plan-status-timeline"
    SUBJECT = "qry.status.get_timeline"


class GetPlanRollupTimeline(_TimelineQuery):
    """The rollup's part: the plan's organization's waning flags raised and cleared, its
    support cases (opened, supported, judged, escalated), its measure values."""

    SCHEMA_NAME = "get-plan-rollup-timeline"
    SUBJECT = "qry.rollup.get_timeline"


class GetPlanAlertsTimeline(_TimelineQuery):
    """The alerts service's part: each alert about the plan's organization in the plan's
    year, and the messages it went out in."""

    SCHEMA_NAME = "get-plan-alerts-timeline"
    SUBJECT = "qry.alerts.get_timeline"
