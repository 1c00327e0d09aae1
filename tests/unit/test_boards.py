"""The boards as built from code: every panel has a title, a description, a unit and
thresholds, queries the one provisioned Prometheus data source, and the committed JSON is
what the code builds."""

from __future__ import annotations

from pathlib import Path

import yaml

from spn.boards.dashboards import dashboards
from spn.boards.export import stale
from spn.boards.panels import DATASOURCE_UID
from spn.boards.queries import board_expressions, panels, selectors

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


def test_every_panel_has_a_description_a_unit_thresholds_and_a_query():
    for uid, board in dashboards().items():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), uid
        for panel in panels(board):
            where = f"{uid}: {panel['title']}"
            defaults = panel["fieldConfig"]["defaults"]
            assert panel["description"] and defaults["unit"], where
            assert defaults["thresholds"]["steps"], where
            assert panel["targets"] and all(t["expr"] and t["refId"] for t in panel["targets"])
            assert panel["datasource"]["uid"] == DATASOURCE_UID, where
            assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, where


def test_the_four_boards_and_the_drill_down_variables():
    boards = dashboards()
    assert set(boards) == {"spn-state", "spn-lea", "spn-school", "spn-services"}
    for uid in ("spn-lea", "spn-school"):
        [variable] = boards[uid]["templating"]["list"]
        assert variable["name"] == "organization"
    lea = [e for e in board_expressions(boards) if e.source.startswith("spn-lea")]
    assert all(e.variables for e in lea if "$organization" in e.expr)


def test_the_committed_json_is_what_the_code_builds():
    assert stale() == [], "run `spn boards export`"


def test_the_provisioned_data_source_is_the_one_the_panels_query():
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "spn.yml")
                                 .read_text())["datasources"]  # fmt: skip
    assert [d["uid"] for d in datasources] == [DATASOURCE_UID]
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "spn.yml")
                               .read_text())["providers"]  # fmt: skip
    assert providers[0]["type"] == "file"


def test_selectors_are_found_outside_strings_ranges_and_groupings():
    assert selectors('sum by (job) (rate(x_total{a="b, c", d=~"e"}[5m])) > 0') == [
        'x_total{a="b, c", d=~"e"}']
    assert selectors("time() - y_seconds > 7 * 86400 and on (job) z") == ["y_seconds", "z"]
    assert selectors('histogram_quantile(0.95, sum by (le) (rate(h_bucket[1h])))') == ["h_bucket"]
