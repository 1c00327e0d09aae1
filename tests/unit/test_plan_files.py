"""Plan files checked offline: every problem of every file, named so it can be fixed."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.paths import field_names_at, field_path
from contracts.plans import ImprovementPlan
from spn.cli.errors import InvalidInputError
from spn.cli.files import check_plan, load_plan, read_document
from spn.cli.main import main
from tests.factories import plan_document


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


def misspelt(document: dict[str, Any]) -> dict[str, Any]:
    """Three problems: an unknown top-level field, a nested one, a wrong practice code."""
    document["organisation"] = document.pop("organization")
    area = document["priority_areas"][0]
    area["stratgies"] = area.pop("strategies")
    document["priority_areas"][1]["strategies"][0]["practice"] = "5D"
    return document


def lines(problems: list[Any]) -> list[str]:
    return [str(p) for p in problems]


def test_every_problem_of_a_file_is_reported(tmp_path: Path):
    checked = check_plan(write(tmp_path, "plan.yaml", misspelt(plan_document("a-school"))))
    assert not checked.valid and checked.document is None
    assert lines(checked.problems) == [
        "organization: Field required",
        "priority_areas[0].strategies: Field required",
        "priority_areas[0].stratgies: unknown field; did you mean 'strategies'?",
        "priority_areas[1].strategies[0].practice: Input should be '1A', '1B', '1C', '2A', "
        "'2B', '2C', '3A', '3B', '3C', '4A', '4B' or '4C'",
        "organisation: unknown field; did you mean 'organization'?",
    ]


def test_every_broken_plan_rule_is_reported(tmp_path: Path):
    document = plan_document("a-school")
    strategy = document["priority_areas"][0]["strategies"][0]
    strategy["goals"] = [9]
    strategy["milestones"][0]["actions"][0]["due"] = "2028-01-01"
    checked = check_plan(write(tmp_path, "plan.yaml", document))
    assert checked.rules_checked and not checked.valid
    assert [p.field for p in checked.problems] == [
        "priority_areas[0].strategies[0].goals",
        "priority_areas[0].strategies[0].milestones[0].actions[0].due",
    ]


@pytest.mark.parametrize(
    ("path", "written", "suggested"),
    [
        ([], "plan_yaer", "plan_year"),  # top level
        (["at_a_glance"], "Title_I", "title_i"),  # case aside
        (["priority_areas", 0, "strategies", 0, "milestones", 0], "actoins", "actions"),
        (["priority_areas", 0, "strategies", 0, "theory_of_action"], "iff", "if"),  # an alias
        (["direction"], "zzz", None),  # nothing close
    ],
)
def test_an_unknown_field_suggests_the_nearest_name_at_its_level(
    tmp_path: Path, path: list[Any], written: str, suggested: str | None
):
    document = plan_document("a-school")
    here = document
    for part in path:
        here = here[part]
    if suggested is not None and suggested in here:
        here.pop(suggested)
    here[written] = here.get(written, "x")
    problem = next(
        p
        for p in check_plan(write(tmp_path, "plan.yaml", document)).problems
        if p.message == "unknown field"
    )
    assert problem.field == field_path([*path, written])
    assert problem.suggestion == suggested
    assert problem.to_json() == (
        {"field": problem.field, "message": "unknown field"}
        | ({"suggestion": suggested} if suggested else {})
    )


def test_a_field_the_object_already_has_is_not_suggested(tmp_path: Path):
    document = plan_document("a-school")
    document["priority_areas"][0]["titel"] = "Instruction again"  # "title" is there already
    (problem,) = check_plan(write(tmp_path, "plan.yaml", document)).problems
    assert str(problem) == "priority_areas[0].titel: unknown field"


def test_valid_names_follow_the_model_through_lists_and_nested_models():
    assert "strategies" in field_names_at(ImprovementPlan, ["priority_areas", 0])
    assert "milestones" in field_names_at(ImprovementPlan, ["priority_areas", 0, "strategies", 0])
    toa = field_names_at(
        ImprovementPlan, ["priority_areas", 0, "strategies", 0, "theory_of_action"]
    )
    assert toa == ["if", "then", "and"]  # as written: the aliases
    assert "email" in field_names_at(ImprovementPlan, ["at_a_glance", "leader"])  # Contact | None
    assert field_names_at(ImprovementPlan, ["plan_year"]) == []  # not an object


def test_yaml_keys_stay_text_and_values_keep_their_types(tmp_path: Path):
    text = "on: 2026-09-01\nyes: 1\nno: 2\noff: 3\ny: 4\n1: one\nactive: true\nlate: off\n"
    document = read_document(write(tmp_path, "doc.yaml", text))
    assert document == {
        "on": date(2026, 9, 1),
        "yes": 1, "no": 2, "off": 3, "y": 4, "1": "one",
        "active": True, "late": False,
    }  # fmt: skip
    merged = read_document(write(tmp_path, "merge.yaml", "a: &base {on: 1}\nb: {<<: *base}\n"))
    assert merged == {"a": {"on": 1}, "b": {"on": 1}}


def test_a_plan_update_on_a_date_is_read_as_written(tmp_path: Path):
    text = yaml.safe_dump(plan_document("a-school")).replace(
        "  updates: []\n", "  updates:\n  - on: 2026-09-15\n    summary: After the September data\n"
    )
    assert "- on: 2026-09-15" in text
    plan = load_plan(write(tmp_path, "plan.yaml", text))
    assert str(plan.at_a_glance.updates[0].on) == "2026-09-15"


def test_a_yaml_boolean_where_text_belongs_is_explained(tmp_path: Path):
    text = yaml.safe_dump(plan_document("a-school")).replace("title_i: schoolwide", "title_i: no")
    (problem,) = check_plan(write(tmp_path, "plan.yaml", text)).problems
    assert problem.field == "at_a_glance.title_i"
    assert "YAML reads an unquoted yes, no, on, off" in problem.message


def test_a_file_that_cannot_be_read_or_parsed_is_one_problem(tmp_path: Path):
    (missing,) = check_plan(tmp_path / "missing.yaml").problems
    assert missing.field is None and missing.message.startswith("cannot read")
    (broken,) = check_plan(write(tmp_path, "broken.yaml", "a: [1,\n")).problems
    assert broken.message.startswith("not valid YAML (line 2, column 1):")
    assert "\n" not in broken.message
    (empty,) = check_plan(write(tmp_path, "empty.yaml", "")).problems
    assert str(empty) == "the file is empty"


def test_import_refuses_in_one_line_naming_the_first_problem_and_the_count(tmp_path: Path):
    path = write(tmp_path, "plan.yaml", misspelt(plan_document("a-school")))
    with pytest.raises(InvalidInputError) as refused:
        load_plan(path)
    assert str(refused.value) == (
        f"{path}: organization: Field required (and 4 more problems; "
        f"`spn plan validate {path}` lists them all)"
    )


def test_validate_reports_both_bad_files_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    first = write(tmp_path, "first.yaml", misspelt(plan_document("a-school")))
    second = write(tmp_path, "second.yaml", "a: [1,\n")
    good = write(tmp_path, "good.yaml", plan_document("b-school"))
    code = main(["plan", "validate", str(first), str(second), str(good)])
    out = capsys.readouterr()
    assert code == 2 and out.err == ""
    printed = out.out.splitlines()
    assert printed[0] == f"{first}: organization: Field required"
    assert f"{first}: priority_areas[0].stratgies: unknown field; did you mean 'strategies'?" in (
        printed
    )
    assert sum(line.startswith(f"{first}: ") for line in printed) == 5
    assert printed[5].startswith(f"{second}: not valid YAML (line 2, column 1):")
    assert printed[6] == f"{good}: valid plan b-school/2026-27"
    assert printed[7].startswith("3 files: 1 valid, 2 invalid, 6 problems")


def test_validate_exits_0_when_every_file_is_valid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    good = write(tmp_path, "good.yaml", plan_document("b-school"))
    assert main(["plan", "validate", str(good)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "1 file: 1 valid, 0 invalid, 0 problems"


def test_validate_json_lists_every_file_with_its_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    bad = write(tmp_path, "bad.yaml", misspelt(plan_document("a-school")))
    good = write(tmp_path, "good.json", json.dumps(plan_document("b-school")))
    assert main(["plan", "validate", "--json", str(bad), str(good)]) == 2
    result = json.loads(capsys.readouterr().out)
    assert [(f["file"], f["valid"], f["plan"], f["rules_checked"]) for f in result] == [
        (str(bad), False, None, False),
        (str(good), True, "b-school/2026-27", True),
    ]
    assert result[1]["problems"] == []
    problems = result[0]["problems"]
    assert len(problems) == 5
    assert all(set(p) <= {"field", "message", "suggestion"} for p in problems)
    assert {
        "field": "priority_areas[0].stratgies",
        "message": "unknown field",
        "suggestion": "strategies",
    } in problems
