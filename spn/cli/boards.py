"""``spn boards``: the Grafana boards' JSON written from the code, and every board and
rule query checked against a running Prometheus."""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx

from spn.boards import export
from spn.boards.queries import PrometheusError
from spn.cli import output
from spn.cli.errors import CliError, StackUnreachableError
from spn.stack.settings import StackSettings


def boards_export(args: argparse.Namespace, settings: StackSettings) -> int:
    if args.check:
        stale = export.stale()
        if stale:
            print(f"stale boards: {', '.join(stale)}; run `spn boards export`")
            return 1
        print(f"the boards in {export.DASHBOARD_DIR} are up to date")
        return 0
    for path in export.write():
        print(f"wrote {path}")
    return 0


def boards_check(args: argparse.Namespace, settings: StackSettings) -> int:
    url = args.prometheus or f"http://127.0.0.1:{settings.prometheus_port}"
    try:
        answers = export.check(url, timeout=args.timeout)
    except (PrometheusError, httpx.HTTPError) as error:
        raise StackUnreachableError(f"Prometheus at {url} did not answer: {error}") from None
    if args.json:
        output.emit_json([{
            "source": a.expression.source, "kind": a.expression.kind, "expr": a.expression.expr,
            "answered": a.answered, "series": a.series, "value": a.value, "error": a.error,
            "selectors_without_series": list(a.empty),
        } for a in answers])  # fmt: skip
    else:
        for line in output.board_answers(answers):
            print(line)
    return 0 if all(a.answered for a in answers) else 1


def boards_preview(args: argparse.Namespace, settings: StackSettings) -> int:
    url = args.prometheus or f"http://127.0.0.1:{settings.prometheus_port}"
    try:
        import matplotlib  # noqa: F401 - only to say what is missing
    except ImportError:
        raise CliError("spn boards preview needs matplotlib: pip install 'spn[preview]'") from None
    try:
        drawn = export.preview(url, Path(args.out), args.org)
    except (PrometheusError, httpx.HTTPError) as error:
        raise StackUnreachableError(f"Prometheus at {url} did not answer: {error}") from None
    for path in drawn:
        print(f"wrote {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    boards = sub.add_parser("boards", help="the Grafana boards and their Prometheus queries")
    boards_sub = boards.add_subparsers(dest="action", metavar="ACTION", required=True)
    written = boards_sub.add_parser("export", help="write deploy/grafana/dashboards/*.json "
                                    "from the code (spn/boards)")  # fmt: skip
    written.add_argument("--check", action="store_true", help="only report stale boards")
    written.set_defaults(handler=boards_export)
    checked = boards_sub.add_parser(
        "check", help="evaluate every board panel's and rule's query against a Prometheus",
        description="Each panel query must return a series (for each variable, with one of "
        "its values); each recording rule's series must exist; each alert rule must be "
        "valid and every series it selects must exist. Exit 1 if any does not.",
    )  # fmt: skip
    checked.add_argument("--prometheus", metavar="URL", help="the Prometheus to ask "
                         "(default: http://127.0.0.1:SPN_PROMETHEUS_PORT)")  # fmt: skip
    checked.add_argument("--timeout", type=float, default=10.0, help="seconds per query (10)")
    checked.add_argument("--json", action="store_true", help="print JSON for scripts")
    checked.set_defaults(handler=boards_check)
    drawn = boards_sub.add_parser(
        "preview", help="draw each board to PNG from what a Prometheus answers (no Grafana)")
    drawn.add_argument("--prometheus", metavar="URL", help="the Prometheus to ask "
                       "(default: http://127.0.0.1:SPN_PROMETHEUS_PORT)")  # fmt: skip
    drawn.add_argument("--out", default="boards", help="directory of the PNGs (./boards)")
    drawn.add_argument("--org", help="the organization of the LEA and school boards "
                       "(default: the first their variable offers)")  # fmt: skip
    drawn.set_defaults(handler=boards_preview)
