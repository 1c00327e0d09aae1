"""Every PromQL expression the boards and the rules use, and their answers from a real
Prometheus: a panel whose query returns no series would show "No data".

- A panel's query is evaluated as Grafana would, its template variables set to each value
  their own query offers; it is answered when one value gives a series.
- A recording rule is answered when its recorded series exists.
- An alert rule's expression must be valid, and each series selector in it must match a
  series (the rule may well not fire: its metrics must exist for it ever to)."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules"
VARIABLE = re.compile(r"\$(\w+)")
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan"}  # fmt: skip


@dataclass(frozen=True)
class Expression:
    """Where an expression is used (a board's panel, a rule) and what it is."""

    source: str  # "spn-state: LEAs ranked by progress", "rule SpnServiceDown"
    expr: str
    kind: str  # panel, record, alert
    variables: Mapping[str, str] = field(default_factory=dict)  # name -> its source series

    @property
    def title(self) -> str:
        return self.source.split(": ", 1)[-1]


@dataclass(frozen=True)
class Answer:
    expression: Expression
    series: int
    value: float | None = None  # of the first series
    labels: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    empty: tuple[str, ...] = ()  # an alert rule's selectors that matched nothing

    @property
    def answered(self) -> bool:
        """A series with a value (NaN is no answer: Grafana shows it as such)."""
        return self.error is None and self.series > 0 and not self.empty and (
            self.expression.kind == "alert" or self.value is not None)


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a board's JSON, those inside rows too."""
    for panel in board.get("panels", []):
        if panel.get("type") == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def board_expressions(boards: Mapping[str, Mapping[str, Any]]) -> list[Expression]:
    found = []
    for uid, board in boards.items():
        variables = {v["name"]: variable_source(v["query"])
                     for v in board.get("templating", {}).get("list", [])}  # fmt: skip
        for panel in panels(board):
            for target in panel.get("targets", []):
                used = {n: variables[n] for n in VARIABLE.findall(target["expr"]) if n in variables}
                found.append(Expression(f"{uid}: {panel['title']}", target["expr"], "panel", used))
    return found


def variable_source(query: Any) -> str:
    """The series a ``label_values(series, label)`` variable query reads."""
    text = query if isinstance(query, str) else query.get("query", "")
    match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", text.strip())
    if match is None:
        raise ValueError(f"a variable's query is not label_values(series, label): {text}")
    return match.group(1)


def rule_expressions(rules_dir: Path = RULES_DIR) -> list[Expression]:
    found = []
    for path in sorted(rules_dir.glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    found.append(Expression(f"rule {rule['record']}", rule["record"], "record"))
                else:
                    found.append(Expression(f"rule {rule['alert']}", rule["expr"], "alert"))
    return found


def selectors(expr: str) -> list[str]:
    """The series selectors of an expression (``name{matchers}``), e.g. for
    ``sum by (job) (rate(x_total{a="b"}[5m])) > 0``: ``x_total{a="b"}``."""

    def blank(match: re.Match[str]) -> str:
        return " " * len(match.group())

    text = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: "_" * len(m.group()), expr)  # strings
    text = re.sub(r"\[[^\]]*\]", blank, text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", blank, text)
    braces = {m.start(): m.end() for m in re.finditer(r"\{[^}]*\}", text)}
    with_braces = text
    for start, end in braces.items():
        text = text[:start] + " " * (end - start) + text[end:]
    found = []
    for match in re.finditer(r"(?<![\w.])[a-zA-Z_:][\w:]*", text):
        name, end = match.group(), match.end()
        rest = with_braces[end:]
        following = end + len(rest) - len(rest.lstrip())
        if name.lower() in KEYWORDS or with_braces[following:following + 1] == "(":
            continue
        brace = next((s for s in braces if s == following), None)
        found.append(name + (expr[brace:braces[brace]] if brace is not None else ""))
    return found


class Prometheus:
    """Prometheus's HTTP API, every call with a timeout."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.client = httpx.Client(base_url=url, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def query(self, expr: str) -> list[dict[str, Any]]:
        response = self.client.get("/api/v1/query", params={"query": expr})
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(body.get("error") or f"HTTP {response.status_code}")
        result = body["data"]["result"]
        return result if isinstance(result, list) else [{"metric": {}, "value": result}]

    def query_range(self, expr: str, start: float, end: float, step: float
                    ) -> list[dict[str, Any]]:  # fmt: skip
        response = self.client.get("/api/v1/query_range", params={
            "query": expr, "start": start, "end": end, "step": step})  # fmt: skip
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(body.get("error") or f"HTTP {response.status_code}")
        return list(body["data"]["result"])

    def label_values(self, label: str, series: str) -> list[str]:
        response = self.client.get(f"/api/v1/label/{label}/values", params={"match[]": series})
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(body.get("error") or f"HTTP {response.status_code}")
        return sorted(body["data"])

    def metric_names(self) -> set[str]:
        response = self.client.get("/api/v1/label/__name__/values")
        return set(response.json()["data"])

    def scraped(self, jobs: Iterable[str]) -> bool:
        """Every job's target scraped once at least, and up."""
        up = {s["metric"].get("job"): s["value"][1] for s in self.query("up")}
        return all(up.get(job) == "1" for job in jobs)

    def wait_for_scrapes(self, after: float, jobs: Iterable[str], timeout: float = 60) -> None:
        """Until every job was scraped after ``after`` (a ``time.time()``)."""
        jobs = list(jobs)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            targets = self.client.get("/api/v1/targets").json()["data"]["activeTargets"]
            last = {t["labels"]["job"]: t.get("lastScrape", "") for t in targets}
            fresh = [job for job in jobs if _after(last.get(job, ""), after)]
            if len(fresh) == len(jobs) and self.scraped(jobs):
                return
            time.sleep(0.5)
        raise PrometheusError(f"not every job of {jobs} was scraped within {timeout:.0f}s")


class PrometheusError(Exception):
    """Prometheus refused a query or did not answer."""


def _after(stamp: str, moment: float) -> bool:
    """Whether Prometheus's ``lastScrape`` (RFC 3339, nanoseconds, any offset) is after
    ``moment``."""
    if not stamp or stamp.startswith("0001"):
        return False
    match = re.fullmatch(r"([^.]+?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", stamp)
    if match is None:
        raise PrometheusError(f"a scrape time Prometheus gave is not RFC 3339: {stamp}")
    whole, fraction, offset = match.groups()
    seconds = datetime.fromisoformat(whole + offset.replace("Z", "+00:00")).timestamp()
    return seconds + float(f"0.{fraction or 0}") > moment


def evaluate(prometheus: Prometheus, expressions: Iterable[Expression]) -> list[Answer]:
    return [answer(prometheus, expression) for expression in expressions]


def answer(prometheus: Prometheus, expression: Expression) -> Answer:
    try:
        if expression.kind == "alert":
            prometheus.query(expression.expr)  # valid
            empty = tuple(s for s in selectors(expression.expr) if not prometheus.query(s))
            return Answer(expression, series=1, empty=empty)
        found = Answer(expression, series=0)
        for expr in _instances(prometheus, expression):
            result = prometheus.query(expr)
            if result:
                found = _answered(expression, result)
                if found.answered:
                    break
        return found
    except (PrometheusError, httpx.HTTPError) as error:
        return Answer(expression, series=0, error=str(error))


def _instances(prometheus: Prometheus, expression: Expression) -> Iterator[str]:
    """The expression with each combination of its variables' values (each variable's
    own query)."""
    names = list(expression.variables)
    offered = [prometheus.label_values(n, expression.variables[n]) for n in names]
    for values in itertools.product(*offered):
        expr = expression.expr
        for name, value in zip(names, values, strict=True):
            expr = expr.replace(f"${name}", value)
        yield expr


def _answered(expression: Expression, result: list[dict[str, Any]]) -> Answer:
    """The first series with a value (not NaN), or the first series."""
    valued = [s for s in result if "value" in s and float(s["value"][1]) == float(s["value"][1])]
    first = (valued or result)[0]
    value = float(first["value"][1]) if valued else None
    return Answer(expression, series=len(result), value=value, labels=first.get("metric", {}))
