"""Deterministic aggregate ids: the same organization or plan always gets the same id."""

from uuid import UUID, uuid5

SPN_NAMESPACE = UUID("6f1c3a52-5d1e-4b8e-9a57-2f0d6b7c9e41")


def organization_id(code: str) -> UUID:
    return uuid5(SPN_NAMESPACE, f"organization:{code}")


def plan_id(organization_code: str, plan_year: str) -> UUID:
    return uuid5(SPN_NAMESPACE, f"plan:{organization_code}/{plan_year}")


def assessment_id(organization_code: str, instrument: str, on: str) -> UUID:
    return uuid5(SPN_NAMESPACE, f"assessment:{organization_code}/{instrument}/{on}")
