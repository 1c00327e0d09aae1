import pytest

from services.plans.domain.errors import OrganizationConflictError
from services.plans.domain.organization import Organization


def register(code: str, kind: str, parent: Organization | None = None) -> Organization:
    return Organization.register(code=code, kind=kind, name=code, profile={}, parent=parent)


def test_the_tree_is_sea_then_lea_then_school():
    sea = register("sea", "SEA")
    lea = register("lea", "LEA", sea)
    school = register("school", "SCHOOL", lea)
    assert (school.parent_code, school.approver_code) == ("lea", "lea")
    assert sea.approver_code == "sea"


@pytest.mark.parametrize(
    ("kind", "parent_kind", "message"),
    [
        ("SCHOOL", "SEA", "a SCHOOL must report to an LEA; sea is a SEA"),
        ("LEA", None, "a LEA must report to an SEA; it has no parent"),
        ("SEA", "SEA", "an SEA has no parent"),
    ],
)
def test_wrong_parent_is_refused(kind, parent_kind, message):
    parent = register("sea", parent_kind) if parent_kind else None
    with pytest.raises(OrganizationConflictError, match=message):
        register("x-org", kind, parent)


def test_kind_and_parent_cannot_change():
    lea = register("lea", "LEA", register("sea", "SEA"))
    with pytest.raises(OrganizationConflictError, match="cannot change"):
        lea.update(kind="SCHOOL", parent_code="sea", name="lea", profile={})


def test_update_records_only_real_changes():
    sea = register("sea", "SEA")
    assert sea.update(kind="SEA", parent_code=None, name="sea", profile={}) is False
    assert sea.update(kind="SEA", parent_code=None, name="State", profile={}) is True
    assert [type(e).__name__ for e in sea.collect_events()] == ["Registered", "ProfileUpdated"]
