"""``spn assess``: self-assessments (Tool C, the ILT continuum, the BLT characteristics).
``import`` checks every file against the contract and its instrument before sending any;
``show`` lists an organization's, with each area's level and the change since the last;
``instruments`` lists the instruments and their elements."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import Field

from contracts import assessments as asm
from contracts.assessment_rules import assessment_violations
from contracts.base import Part
from contracts.instruments import FILES, Rating, instrument, instruments
from spn.cli import output
from spn.cli.commands import _query, default_person, send_each
from spn.cli.errors import InvalidInputError
from spn.cli.files import Checked, Problem, _parse, _Unreadable, check
from spn.stack.settings import StackSettings


class AssessmentFile(Part):
    """Several assessments in one file."""

    assessments: list[asm.SelfAssessment] = Field(min_length=1, max_length=500)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    assess = sub.add_parser("assess", help="self-assessments: Tool C, the ILT continuum, the "
                            "BLT characteristics")  # fmt: skip
    assess_sub = assess.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = assess_sub.add_parser(
        "import", help="record self-assessments from YAML/JSON files (the same file twice "
        "changes nothing; a changed one for the same date revises it)",
        description="A file is one assessment (organization, instrument, on, team, ratings, "
        "findings) or {assessments: [...]}. Every element of the instrument is rated once: "
        "level 1-4, percent 0-100 (a BLT bar) or met: yes/no, as `spn assess instruments` "
        "shows. Every file is checked before anything is sent.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--by", default=default_person(), help="person recording")
    imp.add_argument("--json", action="store_true", help="print JSON for scripts")
    imp.set_defaults(handler=assess_import)
    show = assess_sub.add_parser(
        "show", help="an organization's self-assessments: levels, weakest areas, bars, and "
        "the change per element since the one before")  # fmt: skip
    show.add_argument("org", help="organization code")
    show.add_argument("--instrument", choices=list(FILES), help="only this instrument")
    show.add_argument("--up-to", metavar="DATE", help="only those on or before this day "
                      "(2027-06-30)")  # fmt: skip
    show.add_argument("--latest", metavar="N", type=int, help="only the latest N of each "
                      "instrument (each still with its change since the one before)")  # fmt: skip
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(handler=assess_show)
    listing = assess_sub.add_parser("instruments", help="the instruments and their elements "
                                    "(works offline)")  # fmt: skip
    listing.add_argument("code", nargs="?", choices=list(FILES), help="one instrument, whole")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(handler=assess_instruments)


def load_assessments(path: Path) -> list[asm.SelfAssessment]:
    """The assessments of a file, each checked against the contract and its instrument."""
    try:
        data = _parse(path)
    except _Unreadable as error:
        raise InvalidInputError(f"{path}: {error}") from None
    several = isinstance(data, dict) and "assessments" in data
    checked: Checked[Any] = check(path, AssessmentFile if several else asm.SelfAssessment, data)
    if checked.document is None:
        raise checked.refuse()
    found = checked.document.assessments if several else [checked.document]
    problems = [Problem(f"{f'assessments.{i}.' if several else ''}{v.location}", v.message)
                for i, one in enumerate(found)
                for v in assessment_violations(one.to_jsonable())]  # fmt: skip
    if problems:
        raise Checked(path, problems=problems).refuse()
    return list(found)


def assess_import(args: argparse.Namespace, settings: StackSettings) -> int:
    loaded = [(path, a) for path in args.files for a in load_assessments(Path(path))]
    keys = [a.key for _, a in loaded]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise InvalidInputError(f"{twice[0]} is given twice in these files")

    requests = [(path, asm.RecordAssessment(assessment=a, by=args.by)) for path, a in loaded]
    return send_each(settings, requests, "assessments", args.json)


def assess_show(args: argparse.Namespace, settings: StackSettings) -> int:
    try:
        up_to = None if args.up_to is None else date.fromisoformat(args.up_to)
    except ValueError:
        raise InvalidInputError(f"--up-to {args.up_to!r} is not a date (2027-06-30)") from None
    if args.latest is not None and not 1 <= args.latest <= 100:
        raise InvalidInputError(f"--latest {args.latest}: from 1 to 100")
    query = asm.ListAssessments(organization=args.org, instrument=args.instrument,
                                up_to=up_to, latest=args.latest)  # fmt: skip
    return _query(settings, query, args.json, partial(assessment_lines, up_to=up_to))


def assessment_lines(result: dict[str, Any], up_to: date | None = None) -> Iterable[str]:
    if not result["assessments"]:
        until = f" on or before {up_to}" if up_to else ""
        yield f"{result['organization']}: no self-assessment recorded{until}"
    for view in result["assessments"]:
        done = view["assessment"]
        tool = instrument(done["instrument"])
        team = ", ".join(m["name"] for m in done["team"])
        yield f"{view['key']}  {tool.title} (v{view['version']}, recorded by " \
              f"{view['recorded_by']}; team: {team})"  # fmt: skip
        for area in view["areas"]:
            mark = "  <- weakest" if area["area"] in view["weakest"] else ""
            yield f"  {area['area']:<6} {area['title']:<62} mean {area['mean']:<5g} " \
                  f"level {area['level']}{mark}"  # fmt: skip
        for bar in view["bars"]:
            verdict = "met" if bar["met"] else "not met"
            yield f"  bar {bar['element']:<6} {bar['percent']:g}% against {bar['threshold']:g}%: " \
                  f"{verdict}"  # fmt: skip
        for finding in done["findings"]:
            area = f"domain {finding['area']}" if finding["area"].isdigit() else finding["area"]
            for kind in ("strengths", "weaknesses"):
                if finding[kind]:
                    yield f"  {kind}, {area}: {finding[kind]}"
        if view["previous"]:
            moved = [c for c in view["changes"] if c["change"]]
            yield f"  since {view['previous']}: {len(moved)} of {len(view['changes'])} " \
                  "elements changed"  # fmt: skip
            for change in moved:
                yield f"    {change['element']:<22} {change['before']:g} -> {change['after']:g} " \
                      f"({change['change']:+g})"  # fmt: skip


def assess_instruments(args: argparse.Namespace, settings: StackSettings) -> int:
    chosen = [instrument(args.code)] if args.code else instruments()
    if args.json:
        output.emit_json([i.model_dump(mode="json") for i in chosen])
        return 0
    for tool in chosen:
        scale = ", ".join(f"{level.level} {level.name}" for level in tool.levels)
        print(f"{tool.code} v{tool.version}: {tool.title} ({tool.source}; for "
              f"{', '.join(tool.intended_for)})")  # fmt: skip
        if scale:
            print(f"  levels: {scale}")
        for group in tool.groups:
            print(f"  {group.code} {group.title}")
            for element in group.elements:
                how = (f"percent, bar {element.threshold:g}%" if element.threshold is not None
                       else {Rating.LEVEL: "level", Rating.MET: "met: yes/no"}[element.rating])
                text = element.name or element.text
                print(f"    {element.code:<22} [{how}] {text[:90]}" if args.code is None
                      else f"    {element.code:<22} [{how}] {text}")  # fmt: skip
    return 0
