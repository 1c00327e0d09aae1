from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from contracts.export import SCHEMA_DIR, file_name, render, versioned_contracts
from contracts.organizations import Network, Organization
from contracts.plans import ImprovementPlan
from contracts.practices import PRACTICES, Domain, PracticeCode
from services.plans.domain.plan_rules import check_plan_document
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
