"""The rollup: implementation data of the network, interlaced up the SEA/LEA chain and
across the Four Domains' practices (seed 004, steps 4-6)."""

from __future__ import annotations

from pydantic import Field

from contracts.base import Part, Versioned
from contracts.organizations import OrgCode, OrgKind
from contracts.plan_commands import Command
from contracts.practices import PracticeCode
from contracts.status import Figures, Period


class GetRollup(Command):
    """Tool A figures of an organization for a closed period (default: the SEA, and the
    latest period with figures)."""

    SCHEMA_NAME = "get-rollup"
    SUBJECT = "qry.rollup.get_rollup"
    organization: OrgCode | None = None
    period: Period | None = None


class OrganizationFigures(Part):
    code: OrgCode
    name: str
    kind: OrgKind
    school_plans: int = Field(description="School plans with figures for the period beneath it")
    figures: Figures | None = Field(description="Summed over those school plans")


class PracticeFigures(Part):
    practice: PracticeCode
    title: str
    domain: int
    strategies: int
    organizations: int = Field(description="Schools with a strategy coded to this practice")
    figures: Figures


class DomainFigures(Part):
    domain: int
    name: str
    strategies: int
    figures: Figures


class RollupReport(Versioned):
    """``network``: every school plan beneath the organization (for a school, its own plan);
    ``own_plan``: the organization's own plan; ``rows``: each child organization."""

    SCHEMA_NAME = "rollup-report"
    organization: OrganizationFigures
    period: Period | None
    periods: list[Period] = Field(description="Closed periods with figures beneath it")
    own_plan: Figures | None
    rows: list[OrganizationFigures]
    practices: list[PracticeFigures]
    domains: list[DomainFigures]
