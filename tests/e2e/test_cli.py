"""End to end: the `spn` command against a running stack (and without one)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from spn.cli.files import read_document
from tests.e2e.conftest import EXAMPLES, Cli
from tests.integration.test_audit import checkpoint_root, independent_root

PLAN = EXAMPLES / "plans" / "harbor-view-elementary.yaml"


def broken_copy(tmp_path: Path) -> Path:
    """The sample plan with one strategy coded to a practice that does not exist."""
    data = yaml.safe_load(PLAN.read_text())
    data["priority_areas"][0]["strategies"][0]["practice"] = "5D"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_an_invalid_file_is_refused_even_with_no_stack(cli_without_stack: Cli, tmp_path: Path):
    result = cli_without_stack.run("plan", "import", str(broken_copy(tmp_path)))
    assert result.returncode == 2
    assert "priority_areas[0].strategies[0].practice" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_validate_reports_every_problem_of_every_bad_file(cli_without_stack: Cli, tmp_path: Path):
    """No stack needed: both files checked, each problem on its own line, exit 2."""
    first = broken_copy(tmp_path)
    data = yaml.safe_load(PLAN.read_text())
    data["direction"]["vison"] = data["direction"].pop("vision")
    data["at_a_glance"]["updates"] = [{"on": "2026-09-15", "summary": "After the data review"}]
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump(data).replace("'on':", "on:"))  # unquoted, as people write
    result = cli_without_stack.run("plan", "validate", str(first), str(second))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    assert result.stdout.splitlines() == [
        f"{first}: priority_areas[0].strategies[0].practice: Input should be '1A', '1B', '1C', "
        "'2A', '2B', '2C', '3A', '3B', '3C', '4A', '4B' or '4C'",
        f"{second}: direction.vision: Field required",
        f"{second}: direction.vison: unknown field; did you mean 'vision'?",
        "2 files: 0 valid, 2 invalid, 3 problems (a plan's rules are checked once its fields "
        "are valid)",
    ]


def test_a_valid_file_with_no_stack_says_what_is_missing(cli_without_stack: Cli):
    result = cli_without_stack.run("plan", "import", str(PLAN))
    assert result.returncode == 3
    assert "cannot reach NATS" in result.stderr and "spn up" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_show_and_refuse(running_stack: Cli, tmp_path: Path):
    cli = running_stack
    orgs = cli.run("org", "import", str(EXAMPLES / "organizations.yaml"))
    assert orgs.returncode == 0, orgs.stderr
    assert "9 organizations: 9 registered" in orgs.stdout

    first = cli.run("plan", "import", str(PLAN), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["plans"][0]["result"] == "drafted"
    again = cli.run("plan", "import", str(PLAN), "--json")
    assert json.loads(again.stdout)["plans"][0]["result"] == "unchanged"

    shown = cli.run("plan", "show", "harbor-view-elementary/2026-27", "--json")
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["summary"]["status"] == "draft"
    assert detail["plan"]["organization"] == "harbor-view-elementary"
    assert [a["number"] for a in detail["plan"]["priority_areas"]] == [1, 2, 3]
    by_id = cli.run("plan", "show", detail["summary"]["id"], "--json")
    assert json.loads(by_id.stdout) == detail

    broken = cli.run("plan", "import", str(broken_copy(tmp_path)))
    assert broken.returncode == 2
    assert "priority_areas[0].strategies[0].practice" in broken.stderr
    after = cli.run("plan", "show", "harbor-view-elementary/2026-27", "--json")
    assert json.loads(after.stdout) == detail

    own = cli.run("plan", "submit", "harbor-view-elementary/2026-27")
    assert own.returncode == 0, own.stderr
    self_approval = cli.run(
        "plan", "approve", "harbor-view-elementary/2026-27", "--as", "harbor-view-elementary"
    )
    assert self_approval.returncode == 1
    assert "not_authorized" in self_approval.stderr
    approved = cli.run("plan", "approve", "harbor-view-elementary/2026-27", "--as", "lakeview-sd")
    assert approved.returncode == 0, approved.stderr

    listing = json.loads(cli.run("org", "list", "--json").stdout)
    by_code = {o["code"]: o for o in listing["organizations"]}
    assert [p["status"] for p in by_code["harbor-view-elementary"]["plans"]] == ["approved"]
    assert by_code["lakeview-sd"]["parent"] == "state-dept-ed"

    history = cli.run("plan", "history", "harbor-view-elementary/2026-27")
    assert history.returncode == 0
    assert "Approved" in history.stdout and "lakeview-sd" in history.stdout


def test_unknown_plan_is_one_clear_line(running_stack: Cli):
    result = running_stack.run("plan", "show", "nowhere-school/2026-27")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "spn: error: refused (plan_not_found): plan nowhere-school/2026-27 does not exist"
    )


SHEET = """plan,action,period,status,completed_on,outputs_completed,comments
cedar-grove-elementary/2026-27,1.1.1.1,2026-09,complete,2026-09-15,Literacy plan;Schedule,
cedar-grove-elementary/2026-27,1.1.1.2,2026-09,in_progress,,,started on time
cedar-grove-elementary/2026-27,1.1.1.2,2026-13,in_progress,,,
cedar-grove-elementary/2026-27,4.4.4.4,2026-09,in_progress,,,
"""


def _reports_are_written(cli: Cli, key: str, tmp_path: Path) -> None:
    """``spn report plan`` and ``spn report network`` against the stack, and their refusals."""
    page = cli.run("report", "plan", key, "--quarter", "2026-Q1", "--format", "md", "--out", "-")
    assert page.returncode == 0, page.stderr
    assert "Q1 2026-27 (Jul-Sep 2026)" in page.stdout
    assert "| Outputs Completed (list) | Literacy plan (1.1.1.1, Sep); Schedule" in (
        page.stdout.replace("\\", ""))
    written = cli.run("report", "plan", key, "--year", "2026-27", "--json")
    assert written.returncode == 0, written.stderr
    assert Path(json.loads(written.stdout)["path"]).read_bytes().startswith(b"%PDF-")
    network = tmp_path / "riverside.html"
    done = cli.run("report", "network", "--org", "riverside-usd", "--quarter", "2026-Q1",
                   "--format", "html", "--out", str(network))  # fmt: skip
    assert done.returncode == 0 and str(network) in done.stdout, done.stderr
    assert "Cedar Grove Elementary" in network.read_text()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    for argv, says in (
        (("plan", key, "--quarter", "2027-Q1"), "2027-Q1 is not of plan year 2026-27"),
        (("plan", key, "--quarter", "2026-S1"), "--quarter 2026-S1 is a semester"),
        (("network", "--org", "cedar-grove-elementary", "--quarter", "2026-Q1"), "is a school"),
        (("plan", key, "--quarter", "2026-Q1", "--out", str(blocker / "report.pdf")),
         "cannot write"),  # a file where its folder would be
    ):  # fmt: skip
        refused = cli.run("report", *argv)
        assert refused.returncode != 0 and says in refused.stderr, (argv, refused.stderr)
        assert "Traceback" not in refused.stderr


def test_a_monthly_sheet_is_submitted_closed_and_reported(running_stack: Cli, tmp_path: Path):
    cli = running_stack
    assert cli.run("org", "import", str(EXAMPLES / "organizations.yaml")).returncode == 0
    plan = str(EXAMPLES / "plans" / "cedar-grove-elementary.yaml")
    assert cli.run("plan", "import", plan).returncode == 0
    key = "cedar-grove-elementary/2026-27"
    assert cli.run("plan", "submit", key).returncode == 0
    assert cli.run("plan", "approve", key, "--as", "riverside-usd").returncode == 0
    sheet = tmp_path / "september.csv"
    sheet.write_text(SHEET)

    submitted = cli.run("report", "submit", str(sheet))
    assert submitted.returncode == 1, submitted.stderr  # some rows were rejected
    lines = submitted.stdout.strip().splitlines()
    assert "4 rows: 2 accepted, 2 rejected, 0 pending" in lines
    assert any(line.startswith("  row 3: invalid_row: period:") for line in lines)
    assert "  row 4: unknown_action: plan cedar-grove-elementary/2026-27 has no action 4.4.4.4" in (
        lines
    )
    again = cli.run("report", "submit", str(sheet), "--json")
    assert json.loads(again.stdout)["accepted"] == 2  # the same reports, recorded once

    closed = cli.run("period", "close", "2026-09", "--json", "--wait")
    assert closed.returncode == 0, closed.stderr
    answer = json.loads(closed.stdout)
    assert (answer["result"], answer["judged"]) == ("closed", True)  # flags and cases exist
    again = cli.run("period", "close", "2026-09", "--wait")  # already closed and judged
    assert again.returncode == 0 and "was already closed" in again.stdout
    assert "judged:" in again.stdout
    progress = json.loads(cli.run("plan", "progress", key, "--json").stdout)
    assert progress["reports_recorded"] == 2
    september = progress["periods"][0]
    assert september["period"] == "2026-09"
    assert september["strategies"][0]["milestones"][0]["figures"]["actions_on_time"] == 1
    table = cli.run("plan", "progress", key)
    assert table.returncode == 0 and "as of 2026-09-30:" in table.stdout
    assert "outputs completed: Literacy plan (1.1.1.1, 2026-09)" in table.stdout
    assert "comments: started on time (1.1.1.2, 2026-09)" in table.stdout
    quarter = cli.run("plan", "progress", key, "--term", "2026-Q1")
    assert "Q1 2026-27 (Jul-Sep 2026), as of 2026-09-30:" in quarter.stdout
    assert "outputs completed: Schedule (1.1.1.1, 2026-09)" in quarter.stdout

    def riverside() -> dict:
        return json.loads(cli.run("rollup", "--org", "riverside-usd", "--json").stdout)

    rolled = riverside()  # judged, so its figures are there (--wait)
    assert rolled["period"] == "2026-09"
    assert [(r["code"], r["school_plans"]) for r in rolled["rows"]] == [
        ("cedar-grove-elementary", 1), ("jefferson-middle", 0), ("riverside-high", 0)
    ]  # fmt: skip
    assert rolled["organization"]["figures"] == september["figures"]
    assert {p["status"] for p in rolled["practices"]} <= {"waning", "behind", "on_track",
                                                          "no_data"}  # fmt: skip
    text = cli.run("rollup", "--org", "riverside-usd").stdout
    assert "waning flags of 2026-09: 1" in text
    header = [line for line in text.splitlines() if line.startswith("  practice")]
    assert header and header[0].endswith("status     measures on target")
    _reports_are_written(cli, key, tmp_path)
    flags = cli.run("flags", "--org", "riverside-usd", "--period", "2026-09", "--json")
    assert flags.returncode == 0, flags.stderr
    assert json.loads(flags.stdout)["flags"] == rolled["flags"]
    alerts = cli.run("alerts", "list", "--org", "cedar-grove-elementary", "--json")
    assert alerts.returncode == 0, alerts.stderr
    assert ("waning", "2026-09") in {(a["kind"], a["period"])
                                     for a in json.loads(alerts.stdout)["alerts"]}  # fmt: skip
    deadline = time.monotonic() + 30
    mail_dir = Path(cli.env["SPN_DATA_DIR"]) / "mail"
    def cedar_grove_waning() -> list[Path]:  # the stack is shared: other tests' mail too
        return [m for m in mail_dir.glob("*.eml") if "progress waning" in m.read_text()
                and " for cedar-grove-elementary (2026-09)" in m.read_text()]

    while not (mails := cedar_grove_waning()):
        assert time.monotonic() < deadline, "no waning alert reached the local SMTP sink"
        time.sleep(0.2)
    [mail] = mails
    [alert] = [a for a in json.loads(cli.run("alerts", "list", "--org", "cedar-grove-elementary",
                                              "--json").stdout)["alerts"] if a["kind"] == "waning"]
    shown = cli.run("alerts", "show", alert["alert_id"])
    assert shown.returncode == 0
    assert f"Message-ID: <{alert['message_id']}@spn.alerts>" in shown.stdout
    assert mail.name == f"{alert['message_id']}@spn.alerts.eml"  # one file per Message-ID
    bad = cli.run("alerts", "show", "not-an-id")
    assert bad.returncode == 2 and "is not an alert or message id" in bad.stderr
    unknown = cli.run("flags", "--org", "nowhere-usd")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "spn: error: refused (organization_not_found): organization nowhere-usd is not known "
        "to rollup"
    )
    never = cli.run("rollup", "--org", "riverside-usd", "--period", "2027-02")
    assert never.returncode == 1 and never.stdout == ""
    assert never.stderr.strip() == (
        "spn: error: period 2027-02 has not been closed (closed: 2026-09)"
    )


def test_alerts_test_sends_through_the_configured_smtp(running_stack: Cli):
    sent = running_stack.run("alerts", "test", "--to", "someone@example.org", "--json")
    assert sent.returncode == 0, sent.stderr
    result = json.loads(sent.stdout)
    assert result["delivered"] and result["to"] == "someone@example.org"
    mails = Path(running_stack.env["SPN_DATA_DIR"]) / "mail"
    mail = mails / f"{result['message_id']}@spn.alerts.eml"
    assert "a test message from the alerts service" in mail.read_text()
    bad = running_stack.run("alerts", "test", "--to", "not-an-address")
    assert bad.returncode == 2 and "to:" in bad.stderr


RIVERSIDE_HIGH = EXAMPLES / "plans" / "riverside-high.yaml"
OCTOBER = """plan,action,period,status,completed_on,outputs_completed,cause_and_adjustments,comments
riverside-high/2026-27,1.1.1.1,2026-10,complete,2026-09-24,Dashboards,,trained all six teams
riverside-high/2026-27,1.1.1.2,2026-10,in_progress,,,reviews moved to Thursdays,
"""


def test_history_joins_every_service_s_part_of_a_plan(running_stack: Cli, tmp_path: Path):
    """Runs after the September close (the stack is shared): October's reports, an
    adjustment with its justification, October's close, then the one timeline."""
    cli = running_stack
    key = "riverside-high/2026-27"
    assert cli.run("org", "import", str(EXAMPLES / "organizations.yaml")).returncode == 0
    assert cli.run("plan", "import", str(RIVERSIDE_HIGH)).returncode == 0
    assert cli.run("plan", "submit", key).returncode == 0
    assert cli.run("plan", "approve", key, "--as", "riverside-usd").returncode == 0
    changed = yaml.safe_load(RIVERSIDE_HIGH.read_text())
    action = changed["priority_areas"][0]["strategies"][0]["milestones"][0]["actions"][1]
    action["due"] = "2026-12-18"
    adjusted_file = tmp_path / "riverside-high.yaml"
    adjusted_file.write_text(yaml.safe_dump(changed))
    adjusted = cli.run("plan", "import", str(adjusted_file), "--cause", "review cycle slipped",
                       "--justification", "teams meet on Thursdays from October")  # fmt: skip
    assert adjusted.returncode == 0, adjusted.stderr
    sheet = tmp_path / "october.csv"
    sheet.write_text(OCTOBER)
    assert cli.run("report", "submit", str(sheet)).returncode == 0
    assert cli.run("period", "close", "2026-10", "--wait").returncode == 0

    found = cli.run("history", key, "--json")
    assert found.returncode == 0, found.stderr
    timeline = json.loads(found.stdout)
    entries = timeline["entries"]
    assert timeline["unanswered"] == []
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["plan.drafted", "plan.submitted", "plan.approved"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    [adjustment] = [e for e in entries if e["kind"] == "plan.adjusted"]
    assert adjustment["details"]["justification"] == "teams meet on Thursdays from October"
    assert adjustment["details"]["changes"]
    reports = {e["details"]["action"]: e for e in entries if e["kind"] == "status.reported"}
    assert reports["1.1.1.1"]["details"]["comments"] == "trained all six teams"
    assert reports["1.1.1.2"]["details"]["cause_and_adjustments"] == "reviews moved to Thursdays"
    assert reports["1.1.1.1"]["effective"] == "2026-10"
    [close] = [e for e in entries if e["kind"] == "status.period_closed"]
    assert close["effective"] == "2026-10" and "on time" in close["summary"]
    assert {"plans", "status"} <= {e["service"] for e in entries}

    only = json.loads(cli.run("history", key, "--kind", "adjusted", "--json").stdout)
    assert [e["kind"] for e in only["entries"]] == ["plan.adjusted"]
    october = json.loads(cli.run("history", key, "--period", "2026-10", "--json").stdout)
    assert october["entries"] and all(e["effective"] == "2026-10" for e in october["entries"])
    text = cli.run("history", key)
    assert text.returncode == 0
    assert "justification: teams meet on Thursdays from October" in text.stdout
    assert "comments: trained all six teams" in text.stdout
    assert "[2026-10]" in text.stdout
    bad = cli.run("history", key, "--period", "October")
    assert bad.returncode == 2 and "--period" in bad.stderr

    # the plan then: before and after the adjustment, from events only
    approved_at = next(e["at"] for e in entries if e["kind"] == "plan.approved")
    before = json.loads(cli.run("replay", key, "--as-of", approved_at, "--json").stdout)
    after = json.loads(cli.run("replay", key, "--as-of", adjustment["at"], "--json").stdout)

    def due(found: dict) -> str:
        plan = found["document"]["plan"]
        return plan["priority_areas"][0]["strategies"][0]["milestones"][0]["actions"][1]["due"]

    assert (due(before), due(after)) == ("2026-11-20", "2026-12-18")
    assert [r["document"]["adjustments"] for r in (before, after)] == [0, 1]
    assert before["document"]["summary"]["status"] == "approved"
    assert not (before["progress"] or {}).get("periods")  # nothing closed yet then
    latest = json.loads(cli.run("replay", key, "--as-of", "2099-12-31", "--json").stdout)
    assert "2026-10" in latest["progress"]["periods"]
    assert latest["progress"]["reports_recorded"] == 2
    by_version = json.loads(cli.run("replay", key, "--version", "3", "--json").stdout)
    assert by_version["document"] == before["document"]
    shown = cli.run("replay", key, "--as-of", "2099-12-31")
    assert shown.returncode == 0 and "2026-10  on time" in shown.stdout
    changed_fields = json.loads(cli.run("diff", key, "--from", "3", "--to", "4", "--json").stdout)
    assert changed_fields["changes"] == [
        {"item": "action 1.1.1.2", "field": "due", "before": "2026-11-20", "after": "2026-12-18"}]
    since_approval = cli.run("diff", key, "--from", approved_at).stdout
    assert "action 1.1.1.2  due: 2026-11-20 -> 2026-12-18" in since_approval
    assert cli.run("replay", key).returncode == 2  # neither --as-of nor --version
    never = cli.run("replay", key, "--version", "99")
    assert never.returncode == 1 and "no_such_version" in never.stderr


def test_audit_checkpoints_verify_and_an_export_checks_offline(running_stack: Cli, tmp_path: Path):
    """After the history test: its plan's evidence, checked with the test's own code."""
    cli = running_stack
    kept = cli.run("audit", "checkpoint", "--out", str(tmp_path / "kept"))
    assert kept.returncode == 0, kept.stderr
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == sorted(
        f"{s}.{x}" for s in ("plans", "status", "rollup", "alerts") for x in ("checkpoint", "vkey"))
    checked = cli.run("audit", "verify", "--checkpoint", str(tmp_path / "kept"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "plans: intact" in checked.stdout and "given checkpoint" in checked.stdout
    assert "status: intact" in checked.stdout and "all signed and matching" in checked.stdout
    one = cli.run("audit", "verify", "--service", "status", "--checkpoint",
                  str(tmp_path / "kept" / "plans.checkpoint"))  # fmt: skip
    assert one.returncode == 2 and "is a checkpoint of" in one.stderr
    proved = cli.run("audit", "prove", "riverside-high/2026-27")
    assert proved.returncode == 0 and "plans: 4 events of riverside-high/2026-27" in proved.stdout
    exported = cli.run("audit", "export", "riverside-high/2026-27", "--to", str(tmp_path / "ev"))
    assert exported.returncode == 0, exported.stderr
    for service in ("plans", "status"):
        proofs = json.loads((tmp_path / "ev" / f"{service}.proofs.json").read_text())
        note = (tmp_path / "ev" / f"{service}.checkpoint").read_text()
        key = (tmp_path / "ev" / f"{service}.vkey").read_text().strip()
        size, root = checkpoint_root(note, key)
        assert proofs["proofs"]
        for proof in proofs["proofs"]:
            assert independent_root(proof["event"], proof["leaf_index"], size,
                                    proof["path"]) == root  # fmt: skip
    history = json.loads((tmp_path / "ev" / "history.json").read_text())
    assert any(e["kind"] == "plan.adjusted" for e in history["entries"])

    verified = cli.run("rebuild", "--verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for service in ("plans", "status", "rollup", "alerts"):
        assert f"{service}: equal to its events" in verified.stdout, verified.stdout
    assert "strategy_periods" in verified.stdout  # fed by the status service's events
    assert ("not covered (a queue or a record of replies): parked_reports, report_outcomes"
            in verified.stdout)
    one = cli.run("rebuild", "status.period_figures", "--verify", "--json")
    assert [t["table"] for t in json.loads(one.stdout)[0]["tables"]] == ["period_figures"]
    wrong = cli.run("rebuild", "status.nothing", "--verify")
    assert wrong.returncode == 1 and "unknown_read_model" in wrong.stderr
    unknown = cli.run("history", "nowhere-high/2026-27")
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr


ASSESSMENTS = sorted((EXAMPLES / "assessments").glob("*.yaml"))


def test_assessments_import_show_and_refuse(running_stack: Cli, tmp_path: Path):
    cli = running_stack
    assert cli.run("org", "import", str(EXAMPLES / "organizations.yaml")).returncode == 0
    bad = read_document(ASSESSMENTS[-1])  # riverside-usd's Tool C ("on" read as a key)
    bad["on"], bad["ratings"] = "2027-01-10", bad["ratings"][:-1]
    bad["ratings"][0]["element"] = "1a9"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(bad).replace("'on':", "on:"))  # as people write it
    refused = cli.run("assess", "import", str(ASSESSMENTS[0]), str(broken))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.strip() == (
        f"spn: error: {broken}: ratings.0.element: tool-c has no element '1a9' (and 1 more "
        "problem)")  # fmt: skip
    first = cli.run("assess", "import", *map(str, ASSESSMENTS), "--json")
    assert first.returncode == 0, first.stderr
    assert [r["result"] for r in json.loads(first.stdout)["assessments"]] == ["recorded"] * 5
    again = cli.run("assess", "import", *map(str, ASSESSMENTS))
    assert again.stdout.splitlines()[-1] == "5 assessments: 5 unchanged"

    shown = cli.run("assess", "show", "lakeview-sd")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "lakeview-sd/tool-c/2026-09-15  LEA Self-Reflection to Support School" in text
    assert "3A     Diagnose and respond to student learning needs" in text
    assert "since lakeview-sd/tool-c/2025-09-15: 10 of 37 elements changed" in text
    assert "1b3                    1 -> 3 (+2)" in text
    as_json = json.loads(cli.run("assess", "show", "lakeview-high", "--json",
                                 "--instrument", "blt-characteristics").stdout)  # fmt: skip
    (blt,) = as_json["assessments"]
    walk = next(b for b in blt["bars"] if b["element"] == "5.4")
    assert (walk["percent"], walk["threshold"], walk["met"]) == (62, 75, False)
    unknown = cli.run("assess", "show", "nowhere-school")
    assert unknown.returncode == 1 and "nowhere-school" in unknown.stderr
    latest = cli.run("assess", "show", "lakeview-sd", "--latest", "1").stdout
    assert "lakeview-sd/tool-c/2025-09-15  " not in latest  # still compared with it:
    assert "since lakeview-sd/tool-c/2025-09-15: 10 of 37 elements changed" in latest
    none = cli.run("assess", "show", "lakeview-sd", "--up-to", "2025-01-01")
    assert none.stdout.strip() == "lakeview-sd: no self-assessment recorded on or before " \
        "2025-01-01"  # fmt: skip
    for flag, value, error in [("--up-to", "", "--up-to '' is not a date (2027-06-30)"),
                               ("--latest", "0", "--latest 0: from 1 to 100")]:
        wrong = cli.run("assess", "show", "lakeview-sd", flag, value)
        assert wrong.returncode == 2 and wrong.stderr.strip() == f"spn: error: {error}"

    cli.run("plan", "import", str(EXAMPLES / "plans" / "lakeview-sd.yaml"))
    plan = cli.run("plan", "show", "lakeview-sd/2026-27")
    assert ("Self-assessment tool-c of 2026-09-15: weakest 3A Diagnose and respond to "
            "student learning needs (mean 1.33, level 1)") in plan.stdout  # fmt: skip
    assert plan.stdout.index("Needs assessment") < plan.stdout.index("Priority 1")


def test_the_instruments_are_listed_without_a_stack(cli_without_stack: Cli):
    listed = cli_without_stack.run("assess", "instruments", "blt-characteristics")
    assert listed.returncode == 0, listed.stderr
    assert "5.4                    [percent, bar 75%] The use of agreed-upon" in listed.stdout
