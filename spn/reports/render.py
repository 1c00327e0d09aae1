"""A report as HTML (jinja2, autoescaped), Markdown, or PDF (Typst: tagged for screen
readers, its fonts the ones Typst carries and its timestamp the report's own day, so the
same report gives the same bytes on any machine)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

import typst
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from spn.reports.document import NONE, fixed_moment

FORMATS = ("pdf", "html", "md")


def render(report: dict[str, Any], form: str) -> bytes:
    """The report (a plan's or a network's) in ``form`` (pdf, html or md)."""
    if form == "pdf":
        return pdf(report)
    if form == "html":
        return html(report).encode()
    if form == "md":
        return (markdown(report) if report["document"] == "plan"
                else network_markdown(report)).encode()  # fmt: skip
    raise ValueError(f"format {form!r}: one of {', '.join(FORMATS)}")


def html(report: dict[str, Any]) -> str:
    environment = Environment(loader=PackageLoader("spn.reports"), undefined=StrictUndefined,
                              autoescape=select_autoescape(default=True), trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)  # fmt: skip
    return environment.get_template(f"{report['document']}.html.j2").render(r=report)


def pdf(report: dict[str, Any]) -> bytes:
    source = files("spn.reports").joinpath(f"templates/{report['document']}.typ").read_bytes()
    day = fixed_moment(report)
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
    found = typst.compile(source, format="pdf", ignore_system_fonts=True,
                          sys_inputs={"report": json.dumps(report)}, timestamp=moment,
                          pdf_tags=True)  # fmt: skip
    assert isinstance(found, bytes)
    return found


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# {_md(report['title'])}", "",
             f"Plan {report['plan']} · {report['term_label']} · " + _as_of(report), ""]  # fmt: skip
    if report["summary"]:
        lines += [_table(["Figure", "Value", "Of"],
                         [[f["label"], f["value"], f["detail"]] for f in report["summary"]]), ""]
    lines += ["## Implementation Data", ""]
    for area in report["areas"]:
        lines += [f"### Priority {area['number']}: {_md(area['title'])}", ""]
        for s in area["strategies"]:
            lines += _strategy_md(report, s)
    lines += ["## Performance Data", "", _table(
        ["Strategy", *report["columns"]["performance"]],
        [[s["number"], f"{x['indicator']} (baseline {x['baseline']})", x["target"],
          x["value"], x["explanation"]]
         for a in report["areas"] for s in a["strategies"] for x in s["measures"]]), ""]
    lines += [_table(["Goal", "Goal Indicator", "Target", "Annual Progress"],
                     [[f"Goal {g['number']}", f"{x['indicator']} (baseline {x['baseline']})",
                       x["target"], x["value"]] for g in report["goals"] for x in g["measures"]]),
              ""]  # fmt: skip
    supports = [[x["needed"], x["provided"], x["provider"], x["how_used"], x["effectiveness"]]
                for x in report["supports"]] or [["No supports recorded.", "", "", "", ""]]
    lines += ["## Supports", "", _table(list(report["columns"]["supports"]), supports), ""]
    for a in report.get("self_assessment", []):
        beside = f", beside {a['previous_on']}" if a["previous_on"] else ""
        lines += [f"## Self-Assessment: {_md(a['title'])}", "", f"{a['on']}{beside}", "",
                  _table(["Area", f"Mean {a['previous_on'] or 'before'}", f"Mean {a['on']}",
                          "Level"], [[f"{x['area']} {x['title']}", x["before"], x["after"],
                                      x["level"]] for x in a["areas"]]), ""]  # fmt: skip
        if a["changes"]:
            lines += [_table(["Element", a["previous_on"], a["on"], "Change"],
                             [[x["element"], x["before"], x["after"], x["change"]]
                              for x in a["changes"]]), ""]  # fmt: skip
    return "\n".join(lines)


def network_markdown(report: dict[str, Any]) -> str:
    columns = report["columns"]
    through = (f"figures as of the end of {report['through']}" if report["through"]
               else "no month of the term closed yet")  # fmt: skip
    rows = [[f"{x['name']} ({x['code']})", x["school_plans"], x["completed"], x["on_time"],
             x["behind"], x["milestones"], x["behind_n"],
             ", ".join(f"{m['label']} {m['text']}" for m in x["trend"])] for x in report["rows"]]
    sections = [
        ("Schools and districts", columns["rows"], rows),
        ("By practice", columns["practices"],
         [[f"{x['practice']} {x['title']}", x["strategies"], x["organizations"], x["completed"],
           x["on_time"], x["behind"], x["status"], x["outcomes"]] for x in report["practices"]]),
        ("By domain", columns["domains"],
         [[x["domain"], x["strategies"], x["completed"], x["on_time"], x["behind"]]
          for x in report["domains"]]),
        *([("Measures by practice", columns["measures"],
            [[x["practice"], x["school"], x["strategy"], x["indicator"], x["target"],
              x["value"], x["on_target"]] for x in report["measures"]])]
          if report["measures"] else []),
        ("Waning flags", columns["flags"],
         [[x["period"], x["organization"], x["rule"], x["change"]] for x in report["flags"]]),
        ("Support cases and supports", columns["cases"],
         [[x["opened"], x["recipient"], x["addressed_to"], x["practices"], x["reasons"],
           x["status"], x["support"], x["effectiveness"]] for x in report["cases"]]),
    ]  # fmt: skip
    lines = [f"# {_md(report['title'])}", "",
             f"{report['kind']} {report['organization']} · {report['term_label']} · {through}",
             ""]  # fmt: skip
    for title, head, body in sections:
        lines += [f"## {title}", "", _table(list(head), body or [[NONE] * len(head)]), ""]
    return "\n".join(lines)


def _as_of(report: dict[str, Any]) -> str:
    if not report["as_of"]:
        return "no month of the term closed yet"
    open_ = "" if report["closed"] else ", the term not yet closed"
    return f"figures as of {report['as_of']} (through {report['through']}{open_})"


def _strategy_md(report: dict[str, Any], s: dict[str, Any]) -> list[str]:
    theory = s["theory"]
    lines = [f"#### Strategy {s['number']} ({s['practice']}: {s['practice_title']})", "",
             _md(f"If {theory['if']}, then {theory['then']}, and {theory['and']}."), ""]
    if report["semesters"]:
        names = report["columns"]["semester"]
        cells = [[c["milestones_completed"] for c in s["semesters"]],
                 [c["milestones_behind"] for c in s["semesters"]],
                 [_cell_list(c["cause"]) for c in s["semesters"]]]  # fmt: skip
        lines += [_table([f"Strategy {s['number']}", *(t["label"] for t in report["semesters"])],
                         [[n, *row] for n, row in zip(names, cells, strict=True)]), ""]  # fmt: skip
    for m in s["milestones"]:
        q = m["quarters"]
        cells = [[x["completed"] for x in q], [_cell_list(x["outputs"]) for x in q],
                 [x["on_time"] for x in q], [x["behind"] for x in q],
                 [_cell_list(x["cause"]) for x in q], [_cell_list(x["resources"]) for x in q],
                 [_cell_list(x["comments"]) for x in q]]  # fmt: skip
        names = report["columns"]["quarter"]
        lines += [f"Milestone {m['number']}: {_md(m['description'])} (due {m['due']})", "",
                  _table([f"Milestone {m['number']}", *(t["label"] for t in report["quarters"])],
                         [[n, *row] for n, row in zip(names, cells, strict=True)]), ""]  # fmt: skip
    return lines


def _cell_list(items: list[str]) -> str:
    return "; ".join(items) if items else NONE


def _table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(_md(h) for h in head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def _md(text: str) -> str:
    """Text as Markdown text, not markup: one line, its markup characters escaped."""
    flat = " ".join(str(text).split())
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+!|~&" else c for c in flat)
