"""Hostile and careless input files: each refused with an error that names what is
wrong (exit 2), before anything is parsed at length or sent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from spn.cli import files
from spn.cli.errors import InvalidInputError
from spn.cli.files import check_plan
from spn.cli.main import main
from spn.cli.reports import read_rows
from tests.factories import oversized_plan, plan_document

SHEET_HEADER = "plan,action,period,status,completed_on,comments\n"
ROW = "cedar-grove-elementary/2026-27,1.1.1.1,2026-09,in_progress,,{comment}\n"


def problem_of(path: Path) -> str:
    checked = check_plan(path)
    assert not checked.valid
    return str(checked.problems[0])


@pytest.mark.parametrize(("content", "expected"), [
    (b"\x7fELF\x02\x01\x01\x00\x00\x00binary", "is a binary file, not text"),
    ("organization: café\n".encode("latin-1"), "is not UTF-8 text (byte 0xE9 on line 1)"),
    ("organization: x\n".encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    (b"a: " + b"[" * 20000 + b"]" * 20000, "nested too deeply"),
    (b"organization: a\nplan_year: 2026-27\norganization: b\n",
     "duplicate key 'organization' (first on line 1)"),
])  # fmt: skip
def test_an_unreadable_plan_file_is_one_clear_problem(tmp_path: Path, content: bytes,
                                                      expected: str):  # fmt: skip
    path = tmp_path / "plan.yaml"
    path.write_bytes(content)
    assert expected in problem_of(path)


def test_deeply_nested_json_is_refused(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in problem_of(path)


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path: Path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + n)}: &{chr(98 + n)} [" + ", ".join([f"*{chr(97 + n)}"] * 9) + "]"
              for n in range(20)]  # fmt: skip
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines))
    assert f"more than {files.MAX_ALIASES} aliases" in problem_of(path)


def test_a_few_aliases_and_merge_keys_still_read(tmp_path: Path):
    path = tmp_path / "anchors.yaml"
    path.write_text("base: &base {a: 1}\none: {<<: *base, b: 2}\ntwo: *base\n")
    assert yaml.load(path.read_text(), Loader=files.KeysAsWritten)["one"] == {"a": 1, "b": 2}


def test_a_file_larger_than_the_limit_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "plan.yaml"
    path.write_text("x" * 2048)
    assert "2.0 kB, larger than the 1.0 kB an input file may be" in problem_of(path)


def test_a_plan_year_beyond_the_calendar_is_a_field_error(tmp_path: Path):
    document = plan_document("oak-school")
    document["plan_year"] = "9999-00"
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(document))
    assert "plan_year" in problem_of(path) and "1900 to 9998" in problem_of(path)


def test_the_cli_exits_2_with_the_problem_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    path = tmp_path / "plan.yaml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    assert main(["plan", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "UTF-16" in err and "Traceback" not in err and "unexpected" not in err


def test_a_sheet_cell_over_the_csv_limit_is_refused_naming_its_line(tmp_path: Path):
    path = tmp_path / "sheet.csv"
    path.write_text(SHEET_HEADER + ROW.format(comment="ok") + ROW.format(comment="x" * 200_000))
    with pytest.raises(InvalidInputError, match=r"line 3: field larger than field limit"):
        read_rows(path, "Pat")


def test_a_sheet_row_too_large_to_send_is_a_row_problem(tmp_path: Path):
    path = tmp_path / "sheet.json"
    big = {"plan": "cedar-grove-elementary/2026-27", "action": "1.1.1.1", "period": "2026-09",
           "status": "in_progress", "outputs_completed": ["x" * 9000] * 8}  # each within limits
    long = {**big, "outputs_completed": [], "comments": "x" * 10_001}
    path.write_text(__import__("json").dumps([big, long]))
    [row, other] = read_rows(path, "Pat")
    assert row.report is None and "a report may be at most 64 kB" in (row.problem or "")
    assert other.problem == "comments: String should have at most 10000 characters"


def test_a_plan_of_more_actions_than_any_school_needs_is_refused(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(__import__("json").dumps(oversized_plan("cedar-grove-elementary")))
    assert "a plan may have at most 1,000 actions; this one has 1,280" in problem_of(path)


def test_a_sheet_in_latin_1_is_refused(tmp_path: Path):
    path = tmp_path / "sheet.csv"
    path.write_bytes((SHEET_HEADER + ROW.format(comment="réunion")).encode("latin-1"))
    with pytest.raises(InvalidInputError, match="is not UTF-8 text"):
        read_rows(path, "Pat")


def test_a_device_or_a_pipe_is_refused_unread(tmp_path: Path):
    assert "is not a regular file" in problem_of(Path("/dev/zero"))


def test_a_number_of_thousands_of_digits_and_a_json_key_twice_are_refused(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text('{"organization": ' + "9" * 5000 + "}")
    assert "not valid JSON" in problem_of(path)
    path.write_text('{"organization": "a", "organization": "b"}')
    assert "duplicate key 'organization'" in problem_of(path)


def test_a_reporter_that_is_not_an_object_is_a_row_problem(tmp_path: Path):
    path = tmp_path / "sheet.json"
    path.write_text('[{"plan": "cedar-grove-elementary/2026-27", "action": "1.1.1.1", '
                    '"period": "2026-09", "status": "in_progress", "reporter": "bob"}]')
    [row] = read_rows(path, "Pat")
    assert row.report is None and (row.problem or "").startswith("reporter: expected an object")
