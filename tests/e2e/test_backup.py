"""`spn backup` of the demo's stack after its school year, `spn restore` into a fresh data
directory, `spn up` there: the same plans, figures, flags, cases and alerts, the read
models equal to their events, every audit log intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, running, stack_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
PLANS = ["cedar-grove-elementary/2026-27", "lakeview-high/2026-27", "riverside-usd/2026-27"]


def network_state(cli: Cli) -> dict[str, object]:
    """What a person would look at, as the CLI's JSON shows it."""
    def shown(*args: str) -> object:
        done = cli.run(*args, "--json")
        assert done.returncode == 0, (args, done.stderr)
        return json.loads(done.stdout)

    alerts = shown("alerts", "list")
    return {
        "organizations": shown("org", "list"),
        "plans": shown("plan", "list"),
        "progress": {key: shown("plan", "progress", key) for key in PLANS},
        "rollup": shown("rollup"),
        "flags": shown("flags"),
        "cases": shown("supports", "list"),
        "alerts": sorted((a["kind"], a["organization"], a["period"], a["status"])
                         for a in alerts["alerts"]),  # type: ignore[index]
    }


def test_a_backup_restored_into_a_fresh_data_directory_is_the_same_network(tmp_path: Path):
    before_env = stack_env(tmp_path / "before") | {"SPN_PROMETHEUS": "0"}
    backup = tmp_path / "backup"
    with running(["demo", "--keep-running"], before_env) as cli:
        before = network_state(cli)
        signed = cli.run("audit", "checkpoint")  # every log vouched for, then backed up
        assert signed.returncode == 0, signed.stderr
        made = cli.run("backup", "--to", str(backup), "--json")
        assert made.returncode == 0, made.stderr
        manifest = json.loads(made.stdout)
    assert {s["name"] for s in manifest["streams"]} >= {"SPN_EVENTS"}
    assert oct(backup.stat().st_mode & 0o777) == "0o700"  # it holds the stack's secrets

    after_env = stack_env(tmp_path / "after")  # new ports, a fresh data directory
    restored = Cli(after_env).run("restore", str(backup), "--json")
    assert restored.returncode == 0, restored.stderr
    again = Cli(after_env).run("restore", str(backup))
    assert again.returncode != 0 and "fresh" in again.stderr  # never over a store

    with running(["up"], after_env) as cli:
        assert network_state(cli) == before
        verified = cli.run("rebuild", "--verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        audited = cli.run("audit", "verify")
        assert audited.returncode == 0, audited.stdout + audited.stderr


def test_restore_refuses_what_is_no_backup(tmp_path: Path):
    (tmp_path / "not-a-backup").mkdir()
    cli = Cli(stack_env(tmp_path / "data"))
    done = cli.run("restore", str(tmp_path / "not-a-backup"))
    assert done.returncode == 2 and "is not a backup (no manifest.json)" in done.stderr
