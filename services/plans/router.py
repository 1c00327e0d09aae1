"""NATS request/reply entry points of the plans service: parse, call, answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faststream.nats import NatsMessage, NatsRouter

from contracts import plan_commands as cmd
from contracts.subjects import subject
from services.plans.domain.errors import PlansError
from services.plans.endpoints import PlansEndpoints, describe_error
from services.shared.replies import answer

ROUTES: list[tuple[type[cmd.Command], str]] = [
    (cmd.RegisterOrganization, "register_organization"),
    (cmd.ImportPlan, "import_plan"),
    (cmd.SubmitPlan, "submit_plan"),
    (cmd.ApprovePlan, "approve_plan"),
    (cmd.ReturnPlan, "return_plan"),
    (cmd.ClosePlan, "close_plan"),
    (cmd.GetPlan, "get_plan"),
    (cmd.GetPlanHistory, "get_plan_history"),
    (cmd.ListOrganizations, "list_organizations"),
    (cmd.ListPlans, "list_plans"),
]


def create_router(namespace: str, endpoints: PlansEndpoints) -> NatsRouter:
    router = NatsRouter()
    for contract, method in ROUTES:
        _route(router, namespace, contract, getattr(endpoints, method))
    return router


def _route(
    router: NatsRouter, namespace: str, contract: type[cmd.Command], call: Callable[[Any], Any]
) -> None:
    async def handle(message: NatsMessage) -> bytes:
        return await answer("plans", contract, message.body, call, (PlansError,), describe_error)

    handle.__name__ = contract.SCHEMA_NAME.replace("-", "_")
    router.subscriber(
        subject(namespace, contract.SUBJECT),
        queue="plans",
        title=contract.SCHEMA_NAME,
        description=(contract.__doc__ or "").strip() or None,
    )(handle)
