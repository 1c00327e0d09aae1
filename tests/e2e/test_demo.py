"""`spn demo` (what `make demo` runs) on its own data directory and ports."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli, stack_env


def test_demo_imports_and_prints_the_sample_network(tmp_path: Path):
    cli = Cli(stack_env(tmp_path / "data"))
    first = cli.run("demo", timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "SPN stack is up" in first.stdout
    assert first.stdout.count(" registered") == 9
    approval = "harbor-view-elementary/2026-27   submitted by harbor-view-elementary, approved by "
    assert approval + "lakeview-sd" in first.stdout
    assert "SCHOOL lakeview-high" in first.stdout
    assert "Strategy 3.1 [4C Engage students and families" in first.stdout
    assert "stopped PostgreSQL" in first.stdout

    story = first.stdout.split("== A school year", 1)[1]
    assert "CASE       opened: harbor-view-elementary -> lakeview-sd (behind)" in story
    assert "opened: lakeview-sd -> state-dept-ed on 4C (3 schools waning on 4C" in story
    assert "ESCALATED  harbor-view-elementary -> lakeview-sd: support not effective" in story
    assert "JUDGED     harbor-view-elementary -> state-dept-ed: effective" in story
    assert "recovered  harbor-view-elementary: behind no longer holds" in story
    table = first.stdout.split("Tool A implementation data: lakeview-high/2026-27", 1)[1]

    second = cli.run("demo", timeout=300)  # same data: nothing changes, nothing fails
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(" unchanged") == 18
    assert "already approved" in second.stdout
    assert table.split("== Rollup")[0] in second.stdout  # the same figures
