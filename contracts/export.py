"""Write the JSON Schema of every versioned contract to ``contracts/schemas/``."""

from __future__ import annotations

import json
from pathlib import Path

from contracts import (
    alerts,
    assessments,
    audit,
    organizations,
    plan_commands,
    plan_events,
    plans,
    rebuild,
    replay,
    replies,
    rollup,
    status,
    timeline,
)
from contracts.base import Versioned

SCHEMA_DIR = Path(__file__).parent / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI = "https://spn.example.org/schemas/"
MODULES = (organizations, plans, plan_commands, plan_events, replies, status, rollup, alerts,
           timeline, replay, audit, rebuild, assessments)


def versioned_contracts() -> list[type[Versioned]]:
    """Every concrete contract (one with a SCHEMA_NAME) in the contract modules."""
    found = {
        obj
        for module in MODULES
        for obj in vars(module).values()
        if isinstance(obj, type) and issubclass(obj, Versioned) and "SCHEMA_NAME" in vars(obj)
    }
    return sorted(found, key=lambda c: c.SCHEMA_NAME)


def file_name(contract: type[Versioned]) -> str:
    version = contract.model_fields["schema_version"].default
    return f"{contract.SCHEMA_NAME}.v{version}.json"


def render(contract: type[Versioned]) -> str:
    schema = contract.model_json_schema(by_alias=True)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = f"{SCHEMA_BASE_URI}{file_name(contract)}"
    subject = getattr(contract, "SUBJECT", None)
    if subject:
        tail = "".join(f".<{name}>" for name in getattr(contract, "SUBJECT_PARAMETERS", ()))
        schema["x-subject"] = f"<namespace>.{subject}{tail}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def export(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema and remove stale ones; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in versioned_contracts():
        path = directory / file_name(contract)
        path.write_text(render(contract))
        written.append(path)
    for stale in set(directory.glob("*.json")) - set(written):
        stale.unlink()
    return written
