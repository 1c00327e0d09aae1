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

    assert "2026-11: 22 reports (22 recorded); period close closed, 9 plans evaluated" in (
        first.stdout
    )
    table = first.stdout.split("Tool A implementation data: lakeview-high/2026-27", 1)[1]
    assert "2026-11                        15.4%      0.0%    60.0%" in table

    second = cli.run("demo", timeout=300)  # same data: nothing changes, nothing fails
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.count(" unchanged") == 18 + 3
    assert "already approved" in second.stdout
    assert "2026-11: 22 reports (22 recorded); period close unchanged" in second.stdout
    assert table in second.stdout
