"""`spn demo` (what `make demo` runs) on its own data directory and ports."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli, stack_env


def test_demo_imports_and_prints_the_sample_network(tmp_path: Path):
    cli = Cli(stack_env(tmp_path / "data") | {"SPN_PROMETHEUS": "1"})
    first = cli.run("demo", timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    boards = first.stdout.split("== Boards: what Prometheus at ", 1)[1].split("\n")[2].split()
    assert boards[0] == boards[2] and boards[1:4] == ["of", boards[2], "queries"], boards
    assert "/metrics" in first.stdout  # where each service serves its metrics
    assert "SPN stack is up" in first.stdout
    assert first.stdout.count(" registered") == 9
    approval = "harbor-view-elementary/2026-27   submitted by harbor-view-elementary, approved by "
    assert approval + "lakeview-sd" in first.stdout
    assert "SCHOOL lakeview-high" in first.stdout
    assert "Strategy 3.1 [4C Engage students and families" in first.stdout
    assessed = first.stdout.split("== Self-assessments of lakeview-sd ==", 1)[1]
    assert "  lakeview-sd/tool-c/2026-09-15  LEA Self-Reflection to Support School" in assessed
    assert "since lakeview-sd/tool-c/2025-09-15: 10 of 37 elements changed" in assessed
    rollup = first.stdout.split("== Rollup up the chain", 1)[1]
    assert "    3A Diagnose and respond to student learning needs" in rollup
    assert "1 / 1 / 0 / 0   of 2" in rollup  # 3A: lakeview-sd at 1, riverside-usd at 2
    assert "stopped PostgreSQL" in first.stdout

    story = first.stdout.split("== A school year", 1)[1]
    assert "CASE       opened: harbor-view-elementary -> lakeview-sd (behind)" in story
    assert "opened: lakeview-sd -> state-dept-ed on 4C (3 schools waning on 4C" in story
    assert "ESCALATED  harbor-view-elementary -> lakeview-sd: support not effective" in story
    assert "JUDGED     harbor-view-elementary -> state-dept-ed: effective" in story
    assert "recovered  harbor-view-elementary: behind no longer holds" in story
    table = first.stdout.split("Tool A implementation data: lakeview-high/2026-27", 1)[1]
    alerts = first.stdout.split("== Alerts: ", 1)[1]
    assert int(alerts.split(" raised by this run")[0]) > 0
    # the district liaison of the Lakeview schools, one message a close at most
    assert "  teresa.lindqvist@lakeview.example.org: " in alerts
    # the SEA contact of lakeview-sd: the LEA-level case on 4C
    sea_contact = alerts.split("  samuel.whitaker@sde.example.org: ", 1)[1].split("\n  ")[0:3]
    assert any("lakeview-sd" in line for line in sea_contact), alerts
    assert "  riverside" not in alerts  # on track all year: nobody is woken up
    html = Path(alerts.split("one of them, rendered: ", 1)[1].split("\n", 1)[0])
    assert html.read_text().startswith("<!doctype html>")
    mails = list((tmp_path / "data" / "mail").glob("*.eml"))
    assert mails and all("Message-ID: <" in m.read_text() for m in mails)
    texts = [m.read_text() for m in mails]
    for school in ("harbor-view-elementary", "north-shore-middle", "lakeview-high"):
        recovery = f"* {school}, 2027-02: progress recovered (behind)"
        assert sum(text.count(recovery) for text in texts) == 1  # one notice, once
        assert any("To: teresa.lindqvist@lakeview.example.org" in t and recovery in t
                   for t in texts)  # fmt: skip
    lea_case = "* lakeview-sd, 2026-11: support case opened"
    assert [t for t in texts if lea_case in t and "To: samuel.whitaker@sde.example.org" in t]
    reports = tmp_path / "data" / "reports"
    pdf, page = reports / "lakeview-high-2026-Q2.pdf", reports / "lakeview-high-2026-Q2.html"
    assert f"  plan pdf: {pdf}" in first.stdout and f"  plan html: {page}" in first.stdout
    written = pdf.read_bytes()
    assert written.startswith(b"%PDF-") and "Actions Completed (%)" in page.read_text()
    assert "Q2 2026-27 (Oct-Dec 2026)" in page.read_text()
    network = reports / "lakeview-sd-network-2026-Q2.html"
    assert f"  network html: {network}" in first.stdout
    assert "Harbor View Elementary" in network.read_text()
    attached = [m for m in mails if "lakeview-high-2026-Q2.pdf" in m.read_text()]
    assert attached and "To: teresa.lindqvist@lakeview.example.org" in attached[0].read_text()
    assert (reports / "lakeview-sd-network-2026-Q2.pdf").read_bytes().startswith(b"%PDF-")

    second = Cli(cli.env | {"SPN_PROMETHEUS": "0"}).run("demo", timeout=300)  # same data
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(" unchanged") == 9 + 9 + 5  # organizations, plans, assessments
    assert "already approved" in second.stdout
    assert table.split("== Rollup")[0] in second.stdout  # the same figures
    assert "== Alerts: 0 raised by this run ==" in second.stdout  # nothing new is sent
    assert sorted((tmp_path / "data" / "mail").glob("*.eml")) == sorted(mails)
    assert pdf.read_bytes() == written  # the same data, the same report, byte for byte
