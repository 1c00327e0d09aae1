"""deploy/prometheus checked by the real promtool: the configuration and the rules load,
and each alert rule's unit tests (deploy/prometheus/tests) pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    assert found, "promtool is not installed (.ci/run installs the Debian package prometheus)"
    return subprocess.run([found, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=60)


def test_the_configuration_and_its_rules_load():
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = promtool("check", "rules", *sorted(str(p) for p in (DEPLOY / "rules").glob("*.yml")))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_the_alert_rules_unit_tests_pass():
    tested = promtool("test", "rules", *sorted(str(p) for p in (DEPLOY / "tests").glob("*.yml")))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_alert_rule_has_a_unit_test():
    import yaml

    alerts = {rule["alert"] for group in yaml.safe_load((DEPLOY / "rules" / "alerts.yml")
                                                         .read_text())["groups"]
              for rule in group["rules"]}  # fmt: skip
    tested = {case["alertname"] for path in (DEPLOY / "tests").glob("*.yml")
              for test in yaml.safe_load(path.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}  # fmt: skip
    assert alerts - tested == set()
