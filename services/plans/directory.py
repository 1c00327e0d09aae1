"""Read model of the plans service: organizations and plans, for list queries.

A projection of the plans application's notification log (eventsourcing.projection): each
event's row change commits with its tracking record, so the tables can be dropped and
rebuilt from the event store at any time.
"""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection
from psycopg.sql import SQL, Identifier

from services.plans.domain.organization import Organization
from services.plans.domain.plan import ImprovementPlan, PlanStatus


class PlansDirectory(PostgresTrackingRecorder):
    """Tables ``<name>_organizations`` and ``<name>_plans`` beside the tracking table."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        prefix = self.tracking_table_name.removesuffix("_tracking")
        schema = Identifier(datastore.schema)
        self._orgs_table = SQL("{0}.{1}").format(schema, Identifier(f"{prefix}_organizations"))
        self._plans_table = SQL("{0}.{1}").format(schema, Identifier(f"{prefix}_plans"))
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (code text PRIMARY KEY, "
                "org_id uuid UNIQUE NOT NULL, "
                "kind text NOT NULL, name text NOT NULL, parent text, liaison_name text, "
                "liaison_email text)"
            ).format(self._orgs_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (plan_id uuid PRIMARY KEY, key text NOT NULL, "
                "organization text NOT NULL, plan_year text NOT NULL, status text NOT NULL, "
                "version integer NOT NULL)"
            ).format(self._plans_table),
        ]

    def insert_organization(self, row: dict[str, Any], tracking: Tracking) -> None:
        statement = SQL(
            "INSERT INTO {0} VALUES (%(code)s, %(org_id)s, %(kind)s, %(name)s, %(parent)s, "
            "%(liaison_name)s, %(liaison_email)s) ON CONFLICT (code) DO NOTHING"
        ).format(self._orgs_table)
        self._execute_tracked(statement, row, tracking)

    def update_organization(self, row: dict[str, Any], tracking: Tracking) -> None:
        statement = SQL(
            "UPDATE {0} SET name = %(name)s, liaison_name = %(liaison_name)s, "
            "liaison_email = %(liaison_email)s WHERE org_id = %(org_id)s"
        ).format(self._orgs_table)
        self._execute_tracked(statement, row, tracking)

    def upsert_plan(self, row: dict[str, Any], tracking: Tracking) -> None:
        statement = SQL(
            "INSERT INTO {0} VALUES (%(plan_id)s, %(key)s, %(organization)s, %(plan_year)s, "
            "%(status)s, %(version)s) ON CONFLICT (plan_id) DO UPDATE SET "
            "status = EXCLUDED.status, version = EXCLUDED.version"
        ).format(self._plans_table)
        self._execute_tracked(statement, row, tracking)

    def set_plan_status(self, plan_id: UUID, status: str, version: int, tracking: Tracking) -> None:
        statement = SQL(
            "UPDATE {0} SET status = %(status)s, version = %(version)s WHERE plan_id = %(plan_id)s"
        ).format(self._plans_table)
        row = {"plan_id": plan_id, "status": status, "version": version}
        self._execute_tracked(statement, row, tracking)

    def organizations(self, kind: str | None = None) -> list[dict[str, Any]]:
        statement = SQL(
            "SELECT code, kind, name, parent, liaison_name, liaison_email FROM {0} "
            "WHERE %(kind)s::text IS NULL OR kind = %(kind)s "
            "ORDER BY array_position(ARRAY['SEA','LEA','SCHOOL'], kind), parent NULLS FIRST, code"
        ).format(self._orgs_table)
        return self._select(statement, {"kind": kind})

    def plans(
        self, organization: str | None = None, plan_year: str | None = None
    ) -> list[dict[str, Any]]:
        statement = SQL(
            "SELECT * FROM {0} WHERE (%(org)s::text IS NULL OR organization = %(org)s) "
            "AND (%(year)s::text IS NULL OR plan_year = %(year)s) ORDER BY organization, plan_year"
        ).format(self._plans_table)
        return self._select(statement, {"org": organization, "year": plan_year})

    def _execute_tracked(
        self, statement: SQL | Any, row: dict[str, Any], tracking: Tracking
    ) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement, row)
            self._insert_tracking(curs, tracking)

    def _select(self, statement: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(statement, params)
            return [dict(row) for row in curs.fetchall()]


PLAN_STATUS_AFTER: dict[type, PlanStatus] = {
    ImprovementPlan.DraftRevised: PlanStatus.DRAFT,  # type: ignore[attr-defined]
    ImprovementPlan.Submitted: PlanStatus.SUBMITTED,  # type: ignore[attr-defined]
    ImprovementPlan.Returned: PlanStatus.DRAFT,  # type: ignore[attr-defined]
    ImprovementPlan.Approved: PlanStatus.APPROVED,  # type: ignore[attr-defined]
    ImprovementPlan.Adjusted: PlanStatus.APPROVED,  # type: ignore[attr-defined]
    ImprovementPlan.Closed: PlanStatus.CLOSED,  # type: ignore[attr-defined]
}


class PlansDirectoryProjection(Projection[PlansDirectory]):
    name = "plans_directory"

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        status = PLAN_STATUS_AFTER.get(type(domain_event))
        if status is None:
            self.view.insert_tracking(tracking)
            return
        self.view.set_plan_status(
            domain_event.originator_id, status.value, domain_event.originator_version, tracking
        )

    @process_event.register(Organization.Registered)  # type: ignore[attr-defined]
    def _organization_registered(self, domain_event: Any, tracking: Tracking) -> None:
        row = _organization_row(domain_event)
        row.update(code=domain_event.code, kind=domain_event.kind, parent=domain_event.parent_code)
        self.view.insert_organization(row, tracking)

    @process_event.register(Organization.ProfileUpdated)  # type: ignore[attr-defined]
    def _organization_updated(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.update_organization(_organization_row(domain_event), tracking)

    @process_event.register(ImprovementPlan.Drafted)  # type: ignore[attr-defined]
    def _plan_drafted(self, domain_event: Any, tracking: Tracking) -> None:
        row = {
            "plan_id": domain_event.originator_id,
            "key": f"{domain_event.organization_code}/{domain_event.plan_year}",
            "organization": domain_event.organization_code,
            "plan_year": domain_event.plan_year,
            "status": PlanStatus.DRAFT.value,
            "version": domain_event.originator_version,
        }
        self.view.upsert_plan(row, tracking)


def _organization_row(domain_event: Any) -> dict[str, Any]:
    liaison = domain_event.profile.get("liaison") or {}
    return {
        "org_id": domain_event.originator_id,
        "name": domain_event.name,
        "liaison_name": liaison.get("name"),
        "liaison_email": liaison.get("email"),
    }
