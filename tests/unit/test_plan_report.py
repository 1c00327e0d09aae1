"""The Tool A progress report of a plan with known data: every reporting column of Tool A
in the HTML and in the PDF's text, the same bytes each time, and a picture of page one;
and the network report of an LEA likewise."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
from pathlib import Path

import pytest

from spn.cli import documents
from spn.cli.errors import CliError, InvalidInputError
from spn.reports import network
from spn.reports.document import IMPLEMENTATION_COLUMNS, as_of_end
from spn.reports.gather import ReportError, gather_network_report, gather_plan_report
from spn.reports.render import html, markdown, pdf
from tests.reports.sample import (
    CASES,
    TWO_YEARS,
    SampleServices,
    assessment_rows,
    sample_assessments,
    sample_network,
    sample_report,
)
from tests.reports.screenshots import first_page_png, pdf_text

COLUMNS = [c for columns in IMPLEMENTATION_COLUMNS.values() for c in columns]
KNOWN = ["66.7%", "50.0%", "agenda (1.1.1.1, Oct)", "sign-in sheets (1.1.1.2, Dec)",
         "testing week (1.1.1.2, Nov)", "Budget used: $170.00", "good start (1.1.1.1, Oct)",
         "coach (1.2.1.1, Oct)", "1: 1.1.1", "Lesson plans", "31% (off target)",
         "A coach for 1A", "Effective: actions on time 40.0% before, 75.0% after",
         "Coaching on walk-throughs", "Walk-throughs doubled"]  # fmt: skip


def _words(text: str) -> str:
    return " ".join(text.replace("\u00ad", "").split())


def test_the_html_has_every_tool_a_reporting_column_and_the_known_figures():
    page = html(sample_report())
    text = _words(re.sub(r"<[^>]+>", " ", page).replace("&amp;", "&"))
    for expected in COLUMNS + KNOWN:
        assert expected in text, expected
    assert "<th scope=\"col\">Q1</th><th scope=\"col\">Q2</th>" in page  # Q3, Q4 not yet


def test_the_pdfs_text_has_every_column_and_figure_and_it_is_tagged():
    document = pdf(sample_report())
    # a cell's line broken after a "/", or at a hyphen (pdftotext joins the word up)
    text = _words(pdf_text(document)).replace("/ ", "/").replace("-", "")
    for expected in COLUMNS + KNOWN:
        assert _words(expected).replace("-", "") in text, expected
    assert b"/StructTreeRoot" in document and b"/MarkInfo" in document  # tagged


def test_the_same_report_gives_the_same_bytes_each_time():
    assert pdf(sample_report()) == pdf(sample_report())
    assert html(sample_report()) == html(sample_report())
    assert markdown(sample_report()) == markdown(sample_report())


def test_a_text_is_shown_as_text_never_read_as_markup():
    report = sample_report()
    report["areas"][0]["title"] = '<script>alert(1)</script> #set page(width: 1cm) *bold* | a'
    assert "<script>" not in html(report)
    assert "\\*bold\\* \\| a" in markdown(report)
    assert "#set page(width: 1cm)" in _words(pdf_text(pdf(report)))


def test_the_first_page_is_drawn_to_a_png_to_look_at(tmp_path):
    shots = Path(os.environ.get("SPN_SCREENSHOTS", tmp_path))
    picture = first_page_png(pdf(sample_report()), shots / "plan-report-q2.png")
    head = picture.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (680, 880)  # US letter at 80 dpi


def test_a_semester_and_a_year_show_the_terms_up_to_their_end():
    semester = sample_report("2026-S1")
    assert [t["label"] for t in semester["quarters"]] == ["Q1", "Q2"]
    assert [t["label"] for t in semester["semesters"]] == ["S1"]
    year = sample_report("2026-27")
    assert [t["label"] for t in year["quarters"]] == ["Q1", "Q2", "Q3", "Q4"]
    assert [t["label"] for t in year["semesters"]] == ["S1", "S2"]
    assert not year["closed"] and year["through"] == "Dec 2026"


NETWORK_KNOWN = ["Elm (elm)", "Oak (oak)", "75.0%", "100.0%", "1A Prioritize improvement",
                 "waning", "1 of 1 reported (2 measures)", "behind on 1A", "lagging on 1A",
                 "coaching (lea, 2026-10-20)", "Walk-throughs",
                 "not effective: on time 25.0% before, 25.0% after", "ineffective support"]
NETWORK_COLUMNS = [c for columns in network.NETWORK_COLUMNS.values() for c in columns]


def test_the_network_report_has_its_rows_practices_outcomes_flags_and_cases():
    report = sample_network()
    assert report["through"] == "Dec 2026" and report["closed"]
    assert [m["text"] for m in report["rows"][0]["trend"]] == ["25.0%", "33.3%", "25.0%"]
    assert [(m["school"], m["value"], m["target"], m["on_target"]) for m in report["measures"]
            ] == [("Elm", "—", "75", "—"), ("Oak", "80", "75", "yes")]  # fmt: skip
    page = html(report)
    text = _words(re.sub(r"<[^>]+>", " ", page).replace("&amp;", "&"))
    printed = _words(pdf_text(pdf(report))).replace("/ ", "/").replace("-", "")
    for expected in NETWORK_COLUMNS + NETWORK_KNOWN:
        assert expected in text, expected
        assert _words(expected).replace("-", "") in printed, expected
    assert pdf(sample_network()) == pdf(sample_network())


def test_a_flag_for_a_term_or_a_kind_of_term_that_is_not_one_is_refused_before_asking():
    def args(**given: str | None) -> argparse.Namespace:
        return argparse.Namespace(**({"quarter": None, "semester": None, "year": None} | given))

    documents.check_term(args(quarter="2026-Q2"))
    for wrong, says in ((args(quarter="2026-S1"), "--quarter 2026-S1 is a semester"),
                        (args(year="2026-Q1"), "--year 2026-Q1 is a quarter"),
                        (args(quarter="2026-Q9"), "must be a quarter")):  # fmt: skip
        with pytest.raises(InvalidInputError, match=says):
            documents.check_term(wrong)


def test_a_term_of_the_second_calendar_year_shows_the_terms_before_it():
    third = sample_report("2026-Q3")  # January to March 2027: of plan year 2026-27 still
    assert [t["label"] for t in third["quarters"]] == ["Q1", "Q2", "Q3"]
    assert [t["label"] for t in third["semesters"]] == ["S1"]
    milestone = third["areas"][0]["strategies"][0]["milestones"][0]
    assert [q["completed"] for q in milestone["quarters"]] == ["—", "66.7%", "—"]  # Q3: no close


def test_a_support_given_or_judged_after_the_term_is_not_yet_in_its_report():
    october = sample_report("2026-Q1")  # the case opened in November: not in it at all
    assert [s["needed"] for s in october["supports"]] == ["Coaching on walk-throughs"]
    cases = [dict(c, support=dict(c["support"], period="2027-01")) for c in CASES]
    assert as_of_end(cases[0], "2026-12") == (None, None)  # given in January
    given = dict(CASES[0], judgment=dict(CASES[0]["judgment"], period="2027-02"))
    assert as_of_end(given, "2026-12") == (given["support"], None)  # judged in February


def test_a_report_is_written_only_over_a_regular_file(tmp_path):
    report = sample_report()
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o640)
    assert documents.write(report, "md", target) == target
    assert target.read_text().startswith("# Progress report")
    assert target.stat().st_mode & 0o777 == 0o640  # its mode kept
    link = tmp_path / "link.md"
    link.symlink_to(target)
    for wrong in (link, Path("/dev/null"), tmp_path):
        with pytest.raises(CliError, match="is not a regular file"):
            documents.write(report, "md", wrong)
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == [
        "link.md", "report.md"]  # nothing left half-written


def test_a_network_report_of_a_year_with_no_close_is_refused_in_words():
    class Asker:
        async def request(self, command: object) -> dict:
            return {"organization": {"code": "lea", "kind": "LEA", "name": "Lea"},
                    "periods": ["2026-10"], "rows": []}  # fmt: skip

    with pytest.raises(ReportError, match="no month of plan year 2025-26 up to the end of "
                       "2025-26 is closed beneath lea"):  # fmt: skip
        asyncio.run(gather_network_report(Asker(), "lea", "2025-26"))


def test_the_annual_report_shows_the_self_assessment_s_change_per_element():
    report = sample_report("2026-27", sample_assessments())
    (trend,) = report["self_assessment"]
    assert (trend["on"], trend["previous_on"]) == ("2026-09-15", "2025-09-15")
    changes = {c["element"]: c for c in trend["changes"]}
    assert (changes["1a1"]["before"], changes["1a1"]["after"], changes["1a1"]["change"]) == (
        "2", "4", "+2")
    assert changes["4c3"]["change"] == "-1" and changes["2a1"]["change"] == "0"
    areas = {a["area"]: a for a in trend["areas"]}
    assert (areas["1A"]["before"], areas["1A"]["after"], areas["1A"]["level"]) == ("2", "2.4", "2")
    page = _words(re.sub(r"<[^>]+>", " ", html(report)))
    text = _words(pdf_text(pdf(report)))
    for shown in (page, text, _words(markdown(report))):
        assert "Self-Assessment: LEA Self-Reflection to Support School Improvement" in shown
        assert "1a1 2 4 +2" in _words(shown.replace("|", " ").replace("\\+", "+"))
    assert sample_report("2026-Q2")["self_assessment"] == []  # a quarter's: not asked


def test_the_annual_report_compares_the_plan_years_latest_assessment_not_the_next_years():
    """A Tool C of 2027-09-15 (the next plan year's) is stored too: the report of 2026-27
    compares 2026-09-15 with 2025-09-15, as the report with only those two does."""
    services = SampleServices(assessment_rows(*TWO_YEARS, ("2027-09-15", {"1a1": 1})))
    report = asyncio.run(gather_plan_report(services, "birch-school/2026-27", "2026-27"))
    (trend,) = report["self_assessment"]
    assert (trend["on"], trend["previous_on"]) == ("2026-09-15", "2025-09-15")
    assert trend == sample_report("2026-27", sample_assessments())["self_assessment"][0]
    (asked,) = [c for c in services.asked if type(c).__name__ == "ListAssessments"]
    assert (str(asked.up_to), asked.latest) == ("2027-06-30", 2)
