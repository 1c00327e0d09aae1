"""Reading input files (YAML or JSON) and validating them before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from contracts.organizations import Network
from contracts.plans import ImprovementPlan
from services.plans.domain.errors import PlanRuleError
from services.plans.domain.plan_rules import check_plan_document
from services.shared.replies import field_path
from spn.cli.errors import InvalidInputError

M = TypeVar("M", bound=BaseModel)


def read_document(path: Path) -> Any:
    """Parse a ``.yaml``/``.yml``/``.json`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InvalidInputError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {error}"
        ) from None


def validate(path: Path, model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
        where = field_path(first["loc"]) or "(document)"
        raise InvalidInputError(f"{path}: {where}: {first['msg']}{more}") from None


def load_plan(path: Path) -> ImprovementPlan:
    """A plan file, checked against the contract and the plan's rules."""
    plan = validate(path, ImprovementPlan, read_document(path))
    try:
        check_plan_document(plan.to_jsonable())
    except PlanRuleError as error:
        raise InvalidInputError(f"{path}: {error}") from None
    return plan


def load_network(path: Path) -> Network:
    network = validate(path, Network, read_document(path))
    seen: set[str] = set()
    for i, org in enumerate(network.organizations):
        if org.code in seen:
            raise InvalidInputError(f"{path}: organizations[{i}].code: {org.code} appears twice")
        seen.add(org.code)
    return network
