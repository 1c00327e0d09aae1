"""What an organization's query may see: itself and every organization beneath it; the
operator everything; a query without a scope is the operator's only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts import alerts as al
from contracts import audit as au
from contracts import plan_commands as cmd
from contracts import status as st
from contracts.base import Command
from contracts.export import versioned_contracts
from services.shared.read_models import Query
from services.shared.scope import (
    DirectoryTables,
    OutOfScopeError,
    Scope,
    acted,
    narrowed,
    scoped,
)
from spn.stack.credentials import Credentials

TREE = {"sea": None, "lakeview-sd": "sea", "lakeview-high": "lakeview-sd",
        "riverside-usd": "sea", "riverside-high": "riverside-usd"}  # fmt: skip


class Directory(DirectoryTables):
    """The directory as rows, answered as the in-memory backend does."""

    def __init__(self, tree: dict[str, str | None]):
        self.rows = [{"code": c, "parent": p} for c, p in tree.items()]

    def _rows(self, query: Query) -> list[dict[str, Any]]:
        found = [r for r in self.rows if query.holds(r)]
        return [{c: r[c] for c in query.columns} for r in found] if query.columns else found


def scope(asker: str | None) -> Scope:
    return Scope(asker, Directory(TREE))


def test_an_organization_sees_itself_and_what_is_beneath_it():
    assert scope("lakeview-sd").admits("lakeview-high")
    assert scope("lakeview-sd").admits("lakeview-sd")
    assert not scope("lakeview-sd").admits("riverside-high")
    assert not scope("lakeview-high").admits("lakeview-sd")  # not its district
    assert scope("sea").admits("riverside-high") and scope(None).admits("anything")
    assert scope("lakeview-sd").family() == {"lakeview-sd", "lakeview-high"}
    assert scope(None).family() is None
    assert not scope("lakeview-sd").admits("unknown-school")  # not known beneath it
    assert scope("unknown-school").admits("unknown-school")  # its own, known or not


def test_a_cycle_in_a_directory_ends():
    looped = Scope("x", Directory({"a": "b", "b": "a"}))
    assert not looped.admits("a")
    assert Directory({"a": "b", "b": "a"}).family("a") == {"a", "b"}


def test_a_plan_is_seen_by_its_organization_and_those_above_it():
    asked = cmd.GetPlan(plan="lakeview-high/2026-27")
    assert narrowed(cmd.GetPlan, asked, scope("lakeview-sd")) is asked
    with pytest.raises(OutOfScopeError, match="not of riverside-usd"):
        narrowed(cmd.GetPlan, asked, scope("riverside-usd"))
    by_id = cmd.GetPlan(plan="6f1c3a52-5d1e-4b8e-9a57-2f0d6b7c9e41")
    with pytest.raises(OutOfScopeError, match=f"plan {by_id.plan} is not of lakeview-sd"):
        narrowed(cmd.GetPlan, by_id, scope("lakeview-sd"))  # an id it cannot place: as out
    assert narrowed(cmd.GetPlan, by_id, scope(None)) is by_id  # the operator's


def test_a_query_naming_no_organization_asks_about_the_askers_own():
    asked = narrowed(cmd.ListPlans, cmd.ListPlans(), scope("lakeview-sd"))
    assert asked.organization == "lakeview-sd"
    assert narrowed(cmd.ListPlans, cmd.ListPlans(), scope(None)).organization is None
    with pytest.raises(OutOfScopeError, match="organization riverside-high"):
        narrowed(cmd.ListPlans, cmd.ListPlans(organization="riverside-high"),
                 scope("lakeview-sd"))  # fmt: skip


def test_a_query_without_a_scope_is_the_operators_only():
    with pytest.raises(OutOfScopeError, match="operator only"):
        narrowed(au.GetCheckpoint, au.GetCheckpoint(), scope("sea"))


def test_a_call_that_narrows_its_answer_is_given_the_scope():
    seen: list[Scope] = []

    def outcomes(request: st.GetReportOutcomes, given: Scope) -> str:
        seen.append(given)
        return "answered"

    asked = scope("lakeview-high")
    assert scoped(st.GetReportOutcomes, outcomes, asked)(
        st.GetReportOutcomes(report_ids=["r1"])) == "answered"  # fmt: skip
    assert seen == [asked]


def queries() -> list[type[Command]]:
    return [c for c in versioned_contracts() if issubclass(c, Command)
            and c.SUBJECT.startswith("qry.")]  # fmt: skip


def test_every_query_says_how_it_is_scoped_by_a_field_it_has():
    for query in queries():
        if query.SCOPE == "plan":
            assert "plan" in query.model_fields, query
        elif query.SCOPE == "organization":
            assert "organization" in query.model_fields, query
        elif query.SCOPE is None:
            assert query is au.GetCheckpoint, f"{query.SCHEMA_NAME}: no scope"
    assert al.ShowMessage.SCOPE == st.GetReportOutcomes.SCOPE == "answer"
    commands = [c for c in versioned_contracts() if issubclass(c, Command)
                and not c.SUBJECT.startswith("qry.")]  # fmt: skip
    assert all(c.SCOPE is None for c in commands)  # commands act; they are not scoped


def test_no_query_subject_and_organization_is_another_subject():
    subjects = {c.SUBJECT for c in versioned_contracts() if hasattr(c, "SUBJECT")}
    for query in queries():
        assert not [s for s in subjects if s.startswith(query.SUBJECT + ".")], query


def test_an_organization_may_ask_queries_only_as_itself(tmp_path: Path):
    credentials = Credentials(tmp_path, "spn", ["plans"])
    credentials.for_organization("lakeview-high")
    entry = credentials._permissions("org-lakeview-high")
    assert entry is not None
    allowed = entry["publish"]["allow"]  # type: ignore[index]
    assert "spn.qry.plans.get_plan.lakeview-high" in allowed
    assert "spn.qry.audit.prove.*.lakeview-high" in allowed
    assert not [a for a in allowed if a.startswith("spn.qry.") and
                not a.endswith(".lakeview-high")], allowed  # fmt: skip
    assert not [a for a in allowed if "checkpoint" in a or ">" in a], allowed


def test_an_act_on_a_plan_not_of_the_actor_is_refused_before_its_rules():
    """Approving another district's school's plan: refused in the words a plan that does
    not exist gets, before its status or its approver is looked at."""
    calls: list[object] = []
    approve = acted(calls.append, scope("lakeview-sd"))
    approve(cmd.ApprovePlan(plan="lakeview-high/2026-27", organization="lakeview-sd", by="S"))
    assert len(calls) == 1
    for ref in ("riverside-high/2026-27", "nowhere-high/2026-27"):
        with pytest.raises(OutOfScopeError, match=f"plan {ref} is not of lakeview-sd"):
            approve(cmd.ApprovePlan(plan=ref, organization="lakeview-sd", by="S"))
    assert len(calls) == 1
