"""The boards' JSON under ``deploy/grafana/dashboards/``, written from the code (and
checked fresh by the tests), and the check of every query against a Prometheus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spn.boards.dashboards import dashboards
from spn.boards.queries import (
    Answer,
    Expression,
    Prometheus,
    board_expressions,
    evaluate,
    rule_expressions,
    variable_source,
)

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


def render(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def write(directory: Path = DASHBOARD_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, board in dashboards().items():
        path = directory / f"{uid}.json"
        path.write_text(render(board))
        written.append(path)
    return written


def stale(directory: Path = DASHBOARD_DIR) -> list[str]:
    """Boards whose committed JSON is not what the code builds (or is missing, or extra)."""
    built = {f"{uid}.json": render(board) for uid, board in dashboards().items()}
    found = {p.name: p.read_text() for p in directory.glob("*.json")} if directory.is_dir() else {}
    names = built.keys() | found.keys()
    return sorted(name for name in names if built.get(name) != found.get(name))


def expressions() -> list[Expression]:
    """Every board panel's query and every rule."""
    return board_expressions(dashboards()) + rule_expressions()


def preview(url: str, directory: Path, organization: str | None = None) -> list[Path]:
    """Each board drawn to ``<directory>/<uid>.png`` from what Prometheus answers now; a
    board's variable set to ``organization``, else to the first value its query offers."""
    from spn.boards.preview import BoardData, render

    prometheus = Prometheus(url)
    try:
        prometheus.query("vector(1)")
        drawn = []
        for uid, board in dashboards().items():
            values = {}
            for variable in board.get("templating", {}).get("list", []):
                source = variable_source(variable["query"])
                offered = prometheus.label_values(variable["name"], source)
                if organization in offered:
                    values[variable["name"]] = organization
                elif offered:
                    values[variable["name"]] = offered[0]
            drawn.append(render(board, BoardData(prometheus, values), directory / f"{uid}.png"))
        return drawn
    finally:
        prometheus.close()


def check(url: str, timeout: float = 10.0) -> list[Answer]:
    """Every answer (raises when Prometheus does not answer at all)."""
    prometheus = Prometheus(url, timeout)
    try:
        prometheus.query("vector(1)")
        return evaluate(prometheus, expressions())
    finally:
        prometheus.close()
