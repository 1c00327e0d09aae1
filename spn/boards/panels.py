"""Panel builders shared by the boards (grafana-foundation-sdk): every panel gets a title,
a description, a unit and thresholds, and its queries go to the one Prometheus data
source. ``Board`` numbers the panels and lays them out line by line (24 columns)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders.bargauge import Panel as BarGauge
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as Stat
from grafana_foundation_sdk.builders.table import Panel as Table
from grafana_foundation_sdk.builders.timeseries import Panel as TimeSeries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    TableCellHeight,
    TimeZoneUtc,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

DATASOURCE_UID = "spn-prometheus"
PROMETHEUS = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
Steps = Sequence[tuple[float | None, str]]

ON_TIME: Steps = [(None, "red"), (50, "orange"), (75, "green")]  # the seed's 75 % bar
BEHIND: Steps = [(None, "green"), (10, "orange"), (25, "red")]  # SPN_WANING_BEHIND_PCT
COMPLETED: Steps = [(None, "blue")]
FEW: Steps = [(None, "green"), (1, "orange"), (5, "red")]  # flags, cases, letters
NEUTRAL: Steps = [(None, "blue")]
LAG: Steps = [(None, "green"), (1, "orange"), (1000, "red")]
LATENCY: Steps = [(None, "green"), (1, "orange"), (10, "red")]


def thresholds(steps: Steps) -> ThresholdsConfig:
    return ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(
        [Threshold(value=value, color=color) for value, color in steps]
    )


def query(expr: str, legend: str = "", ref: str = "A", instant: bool = True,
          table: bool = False) -> Dataquery:  # fmt: skip
    found = Dataquery().expr(expr).ref_id(ref).datasource(PROMETHEUS)
    found = found.instant() if instant else found.range()
    if legend:
        found = found.legend_format(legend)
    return found.format(PromQueryFormat.TABLE) if table else found


def stat(title: str, description: str, expr: str, unit: str, steps: Steps,
         legend: str = "") -> Stat:  # fmt: skip
    return (
        Stat().title(title).description(description).datasource(PROMETHEUS)
        .with_target(query(expr, legend)).unit(unit).thresholds(thresholds(steps))
        .color_mode(BigValueColorMode.BACKGROUND).graph_mode(BigValueGraphMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )  # fmt: skip


def bars(title: str, description: str, expr: str, unit: str, steps: Steps, legend: str,
         vertical: bool = False, top: float | None = None) -> BarGauge:  # fmt: skip
    panel = (
        BarGauge().title(title).description(description).datasource(PROMETHEUS)
        .with_target(query(expr, legend)).unit(unit).thresholds(thresholds(steps)).min(0)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .orientation(VizOrientation.VERTICAL if vertical else VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )  # fmt: skip
    return panel.max(top) if top is not None else panel


Column = tuple[str, str] | tuple[str, str, str]
"""A table's column: its instant query, its name, and its unit when not the table's."""


def table(title: str, description: str, columns: Sequence[Column], unit: str,
          steps: Steps, hidden: Sequence[str] = ()) -> Table:  # fmt: skip
    """One instant query per column, merged on their labels."""
    panel = (
        Table().title(title).description(description).datasource(PROMETHEUS).unit(unit)
        .thresholds(thresholds(steps)).cell_height(TableCellHeight.SM)
    )  # fmt: skip
    rename = {}
    for n, (expr, column, *own) in enumerate(columns):
        ref = chr(ord("A") + n)
        panel = panel.with_target(query(expr, ref=ref, table=True))
        rename[f"Value #{ref}" if len(columns) > 1 else "Value"] = column
        if own and own[0] != unit:
            panel = panel.override_by_name(column, [DynamicConfigValue(id_val="unit",
                                                                       value=own[0])])  # fmt: skip
    hide = {"Time": True, "__name__": True, "job": True, "instance": True, "service": True}
    hide |= {name: True for name in hidden}
    return (
        panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(DataTransformerConfig(id_val="organize", options={
            "excludeByName": hide, "renameByName": rename, "indexByName": {},
        }))
    )  # fmt: skip


def timeseries(title: str, description: str, exprs: Sequence[tuple[str, str]], unit: str,
               steps: Steps) -> TimeSeries:  # fmt: skip
    panel = (
        TimeSeries().title(title).description(description).datasource(PROMETHEUS).unit(unit)
        .thresholds(thresholds(steps))
        .legend(VizLegendOptions().show_legend(True).display_mode(LegendDisplayMode.LIST)
                .placement(LegendPlacement.BOTTOM))
    )  # fmt: skip
    for n, (expr, legend) in enumerate(exprs):
        panel = panel.with_target(query(expr, legend, ref=chr(ord("A") + n), instant=False))
    return panel


def variable(name: str, label: str, source: str) -> QueryVariable:
    """A template variable: the values of label ``name`` of the series ``source``."""
    return (
        QueryVariable(name).label(label).datasource(PROMETHEUS)
        .query(f"label_values({source}, {name})")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED).sort(VariableSort.ALPHABETICAL_ASC)
    )  # fmt: skip


class Board:
    """A dashboard being built: rows of panels, numbered and laid out in lines of 24
    columns."""

    def __init__(self, uid: str, title: str, description: str, tags: Sequence[str]):
        self.dashboard = (
            Dashboard(title).uid(uid).description(description).tags(["spn", *tags])
            .refresh("1m").time("now-24h", "now").timezone(TimeZoneUtc)
        )  # fmt: skip
        self._id = 0

    def _next_id(self) -> int:
        self._id += 1
        return self._id

    def variable(self, found: QueryVariable) -> Board:
        self.dashboard = self.dashboard.with_variable(found)
        return self

    def row(self, title: str) -> Board:
        self.dashboard = self.dashboard.with_row(Row(title).id(self._next_id()))
        return self

    def line(self, height: int, *panels: tuple[Any, int]) -> Board:
        """Panels side by side, ``(panel, width)``; the widths add up to 24."""
        widths = [width for _, width in panels]
        assert sum(widths) == 24, f"a line of {sum(widths)} columns"
        for panel, width in panels:
            self.dashboard = self.dashboard.with_panel(
                panel.id(self._next_id()).span(width).height(height))
        return self

    def json(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(JSONEncoder().encode(self.dashboard.build()))
        for panel in found["panels"]:
            if panel.get("options") is None:
                panel["options"] = {}
        return found
