"""``spn report plan`` and ``spn report network``: the Tool A progress report of one plan,
and the network report of an LEA or the SEA, for a quarter, a semester or the plan year,
asked of the services and written as PDF, HTML or Markdown."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from contracts.periods import term_kind
from spn.cli import output
from spn.cli.client import SpnClient
from spn.cli.commands import with_client
from spn.cli.errors import CliError, InvalidInputError
from spn.reports.gather import ReportError, gather_network_report, gather_plan_report
from spn.reports.render import render
from spn.stack.settings import StackSettings


def term_of(args: argparse.Namespace) -> str:
    return str(args.quarter or args.semester or args.year)


def default_path(settings: StackSettings, report: dict[str, Any], form: str) -> Path:
    suffix = "-network" if report["document"] == "network" else ""
    name = f"{report['organization']}{suffix}-{report['term']}.{form}"
    return settings.data_dir / "reports" / name


def write(report: dict[str, Any], form: str, out: Path) -> Path:
    """The report written whole or not at all (a temporary file beside it, renamed over
    it): only ever a regular file (never a device, a link or a folder)."""
    if out.is_symlink() or (out.exists() and not out.is_file()):
        raise CliError(f"{out} is not a regular file: give the path of a file to write")
    body = render(report, form)
    partial: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        mode = out.stat().st_mode & 0o777 if out.exists() else 0o666 & ~_umask()
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.name}.",
                                         delete=False) as written:  # fmt: skip
            partial = Path(written.name)
            written.write(body)
        partial.chmod(mode)
        partial.replace(out)
    except OSError as error:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise CliError(f"cannot write {out}: {error.strerror or error}") from None
    return out


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def report_plan(args: argparse.Namespace, settings: StackSettings) -> int:
    check_term(args)
    check_output(args)
    return _written(args, settings, lambda client: gather_plan_report(
        client, args.plan, term_of(args)))


def report_network(args: argparse.Namespace, settings: StackSettings) -> int:
    check_term(args)
    check_output(args)
    return _written(args, settings, lambda client: gather_network_report(
        client, args.org, term_of(args)))


def _written(args: argparse.Namespace, settings: StackSettings,
             gather: Callable[[SpnClient], Awaitable[dict[str, Any]]]) -> int:  # fmt: skip
    """The report gathered, then written (or to standard output) and its path said."""

    async def work(client: SpnClient) -> int:
        try:
            report = await gather(client)
        except ReportError as error:
            raise InvalidInputError(str(error)) from None
        if args.out == "-":
            try:
                sys.stdout.buffer.write(render(report, args.format))
                sys.stdout.buffer.flush()
            except OSError as error:
                raise CliError(f"cannot write the report to standard output: "
                               f"{error.strerror or error}") from None  # fmt: skip
            return 0
        out = Path(args.out) if args.out else default_path(settings, report, args.format)
        written = write(report, args.format, out)
        if args.json:
            output.emit_json({"document": report["document"], "organization":
                              report["organization"], "term": report["term"],
                              "format": args.format, "path": str(written)})  # fmt: skip
        else:
            print(f"{report['title']}, {report['term_label']}: {written}")
        return 0

    return with_client(settings, work)


def add_parser(report_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``spn report plan`` (beside ``spn report submit``)."""
    plan = report_sub.add_parser(
        "plan", help="one plan's Tool A progress report for a quarter, semester or year: "
        "implementation (strategy x semester, milestone x quarter), performance data and "
        "supports, as PDF, HTML or Markdown",
        description="The quarters and semesters of the plan year (July-June by default, "
        "SPN_PLAN_YEAR_START) up to the one "
        "asked are shown side by side; figures are as of the term's last closed month.")
    plan.add_argument("plan", help="plan key <organization>/<plan year>, or plan id")
    _document_arguments(plan)
    plan.set_defaults(handler=report_plan)
    network = report_sub.add_parser(
        "network", help="an LEA's or the SEA's network report for a quarter, semester or "
        "year: its schools or LEAs, by practice and domain (with the measures on target), "
        "flags, support cases and supports",
        description="Figures as of the term's last closed month; each row's on-time trend "
        "over the plan year's closed months up to the term's end.")
    network.add_argument("--org", help="the LEA or SEA (default: the SEA; with an "
                         "organization's credential, itself)")  # fmt: skip
    _document_arguments(network)
    network.set_defaults(handler=report_network)


def _document_arguments(parser: argparse.ArgumentParser) -> None:
    term = parser.add_mutually_exclusive_group(required=True)
    term.add_argument("--quarter", help="2026-Q2 (Oct-Dec 2026); Q1 Jul-Sep, Q3 Jan-Mar, Q4 "
                      "Apr-Jun of the plan year 2026-27")  # fmt: skip
    term.add_argument("--semester", help="2026-S1 (Jul-Dec 2026) or 2026-S2 (Jan-Jun 2027)")
    term.add_argument("--year", help="the plan year, 2026-27: the annual report to "
                      "stakeholders")  # fmt: skip
    parser.add_argument("--format", choices=("pdf", "html", "md"), default="pdf")
    parser.add_argument("--out", help="the file to write ('-': standard output; default: "
                        "<data dir>/reports/<organization>[-network]-<term>.<format>)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def check_output(args: argparse.Namespace) -> None:
    if args.out == "-" and args.json:
        raise InvalidInputError("--out - writes the report itself to standard output: "
                                "--json has nothing to add (leave one out)")  # fmt: skip


def check_term(args: argparse.Namespace) -> None:
    """A term in the form its flag asks for, else a clear error."""
    asked = "quarter" if args.quarter else "semester" if args.semester else "year"
    try:
        found = term_kind(term_of(args))
    except ValueError as error:
        raise InvalidInputError(str(error)) from None
    if found != asked:
        raise InvalidInputError(f"--{asked} {term_of(args)} is a {found}")

