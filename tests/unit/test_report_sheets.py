"""Reading a monthly sheet into reports (offline)."""

from __future__ import annotations

from pathlib import Path

from spn.cli.reports import read_rows

SHEET = """plan,action,period,status,completed_on,reporter_name
cedar-grove-elementary/2026-27,1.1.1.1,2026-09,complete,2026-09-12,{name}
cedar-grove-elementary/2026-27,1.1.1.2,2026-09,in_progress,,{name}
"""


def ids(path: Path, sheet: str, reporter: str) -> list[str]:
    path.write_text(sheet)
    rows = read_rows(path, reporter)
    assert all(row.report is not None for row in rows), [row.problem for row in rows]
    return [row.report.report_id for row in rows if row.report]


def test_a_report_is_the_same_report_whoever_submits_it(tmp_path: Path):
    sheet = tmp_path / "september.csv"
    by_pat = ids(sheet, SHEET.format(name="Pat"), reporter="Pat")
    by_sam = ids(sheet, SHEET.format(name="Sam"), reporter="Sam")
    by_default = ids(sheet, SHEET.replace(",reporter_name", "").replace(",{name}", ""), "Lee")
    assert by_pat == by_sam == by_default
    assert len(set(by_pat)) == 2


def test_a_corrected_row_is_a_new_report(tmp_path: Path):
    sheet = tmp_path / "september.csv"
    before = ids(sheet, SHEET.format(name="Pat"), reporter="Pat")
    after = ids(sheet, SHEET.format(name="Pat").replace("2026-09-12", "2026-09-13"), "Pat")
    assert before[0] != after[0] and before[1] == after[1]
