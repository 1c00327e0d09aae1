"""A board drawn to PNG from what a Prometheus answers, laid out as Grafana lays it out
(24 columns, rows of 30 px): stats, bar gauges, tables and time series, each coloured
by its thresholds. For looking at a board without a Grafana (``spn boards preview``) and
in the tests. Needs matplotlib (``pip install 'spn[preview]'``)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spn.boards.queries import Prometheus

COLOURS = {"green": "#56a64b", "orange": "#ff9830", "red": "#e02f44", "blue": "#3274d9",
           "yellow": "#fade2a"}  # fmt: skip
ROW_PX, WIDTH_PX, DPI = 30, 1600, 100
Series = list[tuple[dict[str, str], float]]


def colour(panel: Mapping[str, Any], value: float | None) -> str:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    found = steps[0]["color"]
    for step in steps[1:]:
        if value is not None and step["value"] is not None and value >= step["value"]:
            found = step["color"]
    return COLOURS.get(found, found)


def shown(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "-"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "percentunit":
        return f"{100 * value:.0f}%"
    if unit == "bytes":
        return f"{value / 1e6:.1f} MB"
    suffix = {"s": " s", "d": " d", "ops": "/s", "reqps": " req/s"}.get(unit, "")
    return f"{value:,.0f}{suffix}" if abs(value) >= 100 else f"{value:.2g}{suffix}"


def legend(template: str, labels: Mapping[str, str]) -> str:
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template or "")
    return text or ", ".join(f"{k}={v}" for k, v in labels.items() if k != "__name__") or "value"


class BoardData:
    """What each panel's queries answer, its variables set to ``values``."""

    def __init__(self, prometheus: Prometheus, values: Mapping[str, str], minutes: int = 15):
        self.prometheus = prometheus
        self.values = values
        self.minutes = minutes

    def expr(self, text: str) -> str:
        for name, value in self.values.items():
            text = text.replace(f"${name}", value)
        return text

    def instant(self, expr: str) -> Series:
        return [(s["metric"], float(s["value"][1])) for s in self.prometheus.query(self.expr(expr))]

    def over_time(self, expr: str) -> list[tuple[dict[str, str], list[float], list[float]]]:
        end = time.time()
        result = self.prometheus.query_range(self.expr(expr), end - 60 * self.minutes, end, 15)
        return [(s["metric"], [float(t) - end for t, _ in s["values"]],
                 [float(v) for _, v in s["values"]]) for s in result]  # fmt: skip


def render(board: Mapping[str, Any], data: BoardData, path: Path) -> Path:
    """Draw the board to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    every = list(board["panels"])
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in every)
    height = rows * ROW_PX + 60
    figure = plt.figure(figsize=(WIDTH_PX / DPI, height / DPI), dpi=DPI)
    figure.text(0.01, 1 - 25 / height, board["title"], fontsize=16, weight="bold", va="center")
    for panel in every:
        pos = panel["gridPos"]
        box = (pos["x"] / 24 + 0.003, 1 - (60 + (pos["y"] + pos["h"]) * ROW_PX) / height + 0.003,
               pos["w"] / 24 - 0.006, pos["h"] * ROW_PX / height - 0.006)  # fmt: skip
        if panel["type"] == "row":
            figure.text(box[0], box[1] + box[3] / 2, data.expr(panel["title"]), fontsize=12,
                        weight="bold", va="center", color="#444")  # fmt: skip
            continue
        title_room = 22 / height  # the panel's title sits above its axes, inside its box
        axes = figure.add_axes((box[0], box[1], box[2], box[3] - title_room))
        _draw(axes, panel, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _draw(axes: Any, panel: Mapping[str, Any], data: BoardData) -> None:
    unit = panel["fieldConfig"]["defaults"].get("unit", "")
    axes.set_title(panel["title"], loc="left", fontsize=9, weight="bold")
    targets = panel["targets"]
    if panel["type"] == "timeseries":
        for target in targets:
            for labels, times, values in data.over_time(target["expr"]):
                axes.plot([t / 60 for t in times], values,
                          label=legend(target.get("legendFormat", ""), labels))  # fmt: skip
        axes.set_xlabel("minutes ago", fontsize=7)
        axes.tick_params(labelsize=7)
        if axes.lines:
            axes.legend(fontsize=7, loc="lower left")
        return
    axes.set_xticks([])
    axes.set_yticks([])
    found = [(target, data.instant(target["expr"])) for target in targets]
    if panel["type"] == "stat":
        value = found[0][1][0][1] if found[0][1] else None
        axes.set_facecolor(colour(panel, value))
        axes.text(0.5, 0.45, shown(value, unit), fontsize=22, weight="bold", color="white",
                  ha="center", va="center", transform=axes.transAxes)  # fmt: skip
    elif panel["type"] == "bargauge":
        _bars(axes, panel, found[0][0], found[0][1], unit)
    elif panel["type"] == "table":
        _table(axes, panel, found, unit)


def _bars(axes: Any, panel: Mapping[str, Any], target: Mapping[str, Any], series: Series,
          unit: str) -> None:  # fmt: skip
    names = [legend(target.get("legendFormat", ""), labels) for labels, _ in series][:12]
    values = [value for _, value in series][:12]
    if not values:
        axes.text(0.5, 0.5, "No data", ha="center", va="center", transform=axes.transAxes)
        return
    colours = [colour(panel, v) for v in values]
    vertical = panel["options"].get("orientation") == "vertical"
    top = panel["fieldConfig"]["defaults"].get("max") or max(max(values), 1e-9)
    if vertical:
        axes.bar(range(len(values)), values, color=colours)
        axes.set_ylim(0, top * 1.3)
        for n, (name, value) in enumerate(zip(names, values, strict=True)):
            axes.text(n, value, f"{shown(value, unit)}\n{name}", fontsize=7, ha="center",
                      va="bottom")  # fmt: skip
        return
    rows = list(range(len(values)))[::-1]
    axes.barh(rows, values, color=colours, height=0.6)
    axes.set_xlim(0, top * 1.4)
    for row, name, value in zip(rows, names, values, strict=True):
        axes.text(0, row + 0.32, f" {name}", fontsize=7, va="bottom", ha="left")
        axes.text(value, row, f" {shown(value, unit)}", fontsize=7, va="center", ha="left")
    axes.set_ylim(-0.6, len(values) - 0.1)


def _table(axes: Any, panel: Mapping[str, Any], found: Sequence[tuple[Mapping[str, Any], Series]],
           unit: str) -> None:  # fmt: skip
    organize: dict[str, Any] = next((t["options"] for t in panel.get("transformations", [])
                                     if t["id"] == "organize"), {})  # fmt: skip
    hidden = set(organize.get("excludeByName", {}))
    rename = organize.get("renameByName", {})
    units = {o["matcher"]["options"]: p["value"] for o in panel["fieldConfig"]["overrides"]
             for p in o["properties"] if p["id"] == "unit"}  # fmt: skip
    rows: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    columns: list[str] = []
    for n, (target, series) in enumerate(found):
        column = rename.get(f"Value #{target['refId']}", rename.get("Value", f"Value {n}"))
        columns.append(column)
        for labels, value in series:
            key = tuple(sorted((k, v) for k, v in labels.items() if k not in hidden))
            rows.setdefault(key, {})[column] = shown(value, units.get(column, unit))
    keys = sorted({k for key in rows for k, _ in key})
    cells = [[dict(key).get(k, "") for k in keys] + [values.get(c, "") for c in columns]
             for key, values in sorted(rows.items())][:10]  # fmt: skip
    if not cells:
        axes.text(0.5, 0.5, "No data", ha="center", va="center", transform=axes.transAxes)
        return
    table = axes.table(cellText=cells, colLabels=keys + columns, loc="upper center",
                       cellLoc="left")  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    axes.axis("off")
