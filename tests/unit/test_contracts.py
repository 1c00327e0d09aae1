import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from contracts.base import Versioned
from contracts.export import (
    JSON_SCHEMA_DIALECT,
    SCHEMA_DIR,
    file_name,
    render,
    versioned_contracts,
)
from contracts.organizations import Network, Organization
from contracts.plan_commands import ImportPlan
from contracts.plan_events import PlanApproved
from contracts.plans import ImprovementPlan
from contracts.practices import PRACTICES, Domain, PracticeCode
from contracts.status import ActionStatusReported, ClosePeriod, DeadLetter, Reporter
from services.plans.domain.plan import check_plan_document
from services.shared.replies import field_path
from tests.factories import plan_document

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "network"


def test_committed_json_schemas_are_current():
    """Fails when a contract changed but `make schemas` was not run."""
    expected = {file_name(c): render(c) for c in versioned_contracts()}
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    stale = sorted(
        n for n in expected.keys() | committed.keys() if expected.get(n) != committed.get(n)
    )
    assert not stale, f"stale schemas (run `make schemas`): {stale}"


def validator(contract: type[Versioned]) -> Draft202012Validator:
    """jsonschema's validator of the committed schema, checking formats (date, email, uuid)."""
    schema = json.loads((SCHEMA_DIR / file_name(contract)).read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def as_json(value: Any) -> Any:
    """A YAML document as the JSON a client would send (dates as ISO strings)."""
    return json.loads(json.dumps(value, default=str))


def test_every_json_schema_is_valid_draft_2020_12():
    """Checked by jsonschema, an independent implementation, against its metaschema."""
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == JSON_SCHEMA_DIALECT, path.name
        Draft202012Validator.check_schema(schema)


def test_the_examples_validate_against_their_schemas():
    network = yaml.safe_load((EXAMPLES / "organizations.yaml").read_text())
    validator(Network).validate(as_json(network))
    for path in sorted((EXAMPLES / "plans").glob("*.yaml")):
        raw = as_json(yaml.safe_load(path.read_text()))
        validator(ImprovementPlan).validate(raw)
        command = ImportPlan(plan=ImprovementPlan.model_validate(raw), by="Pat Principal")
        validator(ImportPlan).validate(command.to_jsonable())


def test_contract_instances_validate_against_their_schemas():
    plan = ImprovementPlan.model_validate(plan_document("a-school"))
    reporter = Reporter(name="Pat", organization="a-school", email="pat@example.org")
    samples: list[Versioned] = [
        plan,
        PlanApproved(
            event_id="x:3", version=3, occurred_at=datetime(2026, 9, 1, tzinfo=UTC),
            plan_id=uuid4(), key="a-school/2026-27", organization="a-school",
            plan_year="2026-27", by="Lee", approved_by="a-lea", plan=plan,
        ),
        ActionStatusReported(
            report_id="r-1", plan="a-school/2026-27", action="1.1.1.1", period="2026-10",
            status="complete", completed_on=date(2026, 10, 3), reporter=reporter,
        ),
        DeadLetter(
            service="status", reason="invalid_payload", message="period: bad",
            source_stream="SPN_INBOX", source_sequence=7,
            source_subject="spn.inbox.status.a-school", payload="{}", payload_bytes=2,
        ),
        ClosePeriod(period="2026-10"),
    ]  # fmt: skip
    for sample in samples:
        validator(type(sample)).validate(sample.to_jsonable())


@pytest.mark.parametrize("code", ["3C", "3c", " 3c ", "4b\n", "3D", "5a", "3", "33c", "", "c3"])
def test_the_schema_admits_the_practice_codes_the_service_accepts(code):
    raw = plan_document("a-school")
    raw["priority_areas"][0]["strategies"][0]["practice"] = code
    try:
        ImprovementPlan.model_validate(raw)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == (code.strip().upper() in set(PracticeCode))
    assert validator(ImprovementPlan).is_valid(raw) == accepted
    assert validator(ImportPlan).is_valid({"plan": raw, "by": "Pat"}) == accepted


def test_twelve_practices_in_four_domains():
    assert len(PRACTICES) == 12
    assert {code.domain for code in PracticeCode} == set(Domain)
    assert PracticeCode("4C").title == "Engage students and families in pursuing education goals"


def test_practice_codes_accept_seed_lower_case():
    assert plan_document("a-school")["priority_areas"][1]["strategies"][1]["practice"] == "4C"


def test_unknown_practice_is_refused_naming_the_field():
    raw = plan_document("a-school")
    raw["priority_areas"][0]["strategies"][0]["practice"] = "5A"
    with pytest.raises(ValidationError) as caught:
        ImprovementPlan.model_validate(raw)
    loc = caught.value.errors()[0]["loc"]
    assert field_path(loc) == "priority_areas[0].strategies[0].practice"


@pytest.mark.parametrize("year", ["2026-28", "2026", "26-27"])
def test_plan_year_must_be_two_consecutive_years(year):
    raw = plan_document("a-school")
    raw["plan_year"] = year
    with pytest.raises(ValidationError, match="plan_year"):
        ImprovementPlan.model_validate(raw)


def test_a_newer_schema_version_is_refused():
    raw = plan_document("a-school") | {"schema_version": 2}
    with pytest.raises(ValidationError, match="schema_version"):
        ImprovementPlan.model_validate(raw)


def test_a_school_needs_a_parent_and_a_liaison():
    with pytest.raises(ValidationError, match="needs a parent"):
        Organization(code="a-school", kind="SCHOOL", name="A")
    with pytest.raises(ValidationError, match="needs a liaison"):
        Organization(code="a-school", kind="SCHOOL", name="A", parent="lea")


def test_the_sample_network_is_valid_and_covers_the_four_domains():
    network = Network.model_validate(yaml.safe_load((EXAMPLES / "organizations.yaml").read_text()))
    kinds = [org.kind.value for org in network.organizations]
    assert kinds.count("SEA") == 1 and kinds.count("LEA") >= 2 and kinds.count("SCHOOL") >= 6
    plan_files = sorted((EXAMPLES / "plans").glob("*.yaml"))
    owners = set()
    for path in plan_files:
        plan = ImprovementPlan.model_validate(yaml.safe_load(path.read_text()))
        check_plan_document(plan.to_jsonable())
        assert 2 <= len(plan.priority_areas) <= 4, path.name
        domains = {s.practice.domain for area in plan.priority_areas for s in area.strategies}
        assert domains == set(Domain), path.name
        owners.add(plan.organization)
    assert owners == {org.code for org in network.organizations}
