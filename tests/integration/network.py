"""A small network with approved plans, as the scenario tests need it."""

from __future__ import annotations

from collections.abc import Iterable

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.organizations import Organization
from contracts.plans import ImprovementPlan
from spn.cli.client import SpnClient
from tests.factories import organization
from tests.integration.test_status_service import until


async def register(client: SpnClient, schools: Iterable[str], lea: str = "river-lea",
                   sea: str = "state-sea") -> None:  # fmt: skip
    """An SEA, one LEA under it and the given schools under the LEA."""
    for org in (
        organization(sea, "SEA"),
        organization(lea, "LEA", sea),
        *(organization(code, "SCHOOL", lea) for code in schools),
    ):
        await client.request(cmd.RegisterOrganization(organization=Organization(**org)))


async def approve(client: SpnClient, document: dict, approver: str) -> str:
    """Import, submit and approve a plan document; return its key."""
    owner = document["organization"]
    key = f"{owner}/{document['plan_year']}"
    plan = ImprovementPlan.model_validate(document)
    await client.request(cmd.ImportPlan(plan=plan, by="Pat"))
    await client.request(cmd.SubmitPlan(plan=key, organization=owner, by="Pat"))
    await client.request(cmd.ApprovePlan(plan=key, organization=approver, by="Sam"))
    return key


async def known_to_status(client: SpnClient, key: str) -> dict:
    """The plan's progress once the status service has adopted it."""
    progress = await until(lambda: client.request(st.GetPlanProgress(plan=key)))
    assert progress, f"status never adopted {key}"
    return progress
