"""``spn``: run the Strategic Performance Network and work with its plans.

Exit codes: 0 done, 1 refused or failed, 2 invalid input (nothing was sent),
3 the stack cannot be reached, 4 NATS refused the credential or the subject.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from contracts import plan_commands as cmd
from services.shared.secrets import redact
from spn.bench import cli as bench_cli
from spn.cli import (
    assess,
    audit,
    backup,
    boards,
    commands,
    credentials,
    demo,
    documents,
    history,
    rebuild,
)
from spn.cli.errors import CliError
from spn.stack.nats_server import StackError
from spn.stack.settings import StackSettings

ENVIRONMENT = """environment:
  SPN_NATS_URL       external NATS server (default: embedded, nats://127.0.0.1:$SPN_NATS_PORT)
  SPN_NATS_PORT      port of the embedded NATS server (4222)
  SPN_NATS_CREDENTIALS  the NATS credential file to connect with (an organization's, from
                     spn org credentials; default: the operator's, made by spn up in
                     $SPN_DATA_DIR/credentials)
  SPN_DATABASE_URL   external PostgreSQL (default: embedded, data under $SPN_DATA_DIR)
  SPN_DATA_DIR       data directory of the embedded servers and logs (.spn-data)
  SPN_NAMESPACE      prefix of subjects and streams (spn)
  SPN_PLANS_HTTP_PORT  /health and /metrics of the plans service (8101)
  SPN_STATUS_HTTP_PORT /health and /metrics of the status service (8102)
  SPN_ROLLUP_HTTP_PORT /health and /metrics of the rollup service (8103)
  SPN_ALERTS_HTTP_PORT /health and /metrics of the alerts service (8104)
  SPN_SMTP_HOST      an SMTP server for alerts (default: a local sink, .eml files under
                     $SPN_DATA_DIR/mail, on port $SPN_SMTP_SINK_PORT, 2525)
  SPN_STATUS_AUTO_CLOSE_DAYS  close each month this many days after it ends (5; 0: never)
  SPN_PROMETHEUS     1: spn up also runs a Prometheus on $SPN_PROMETHEUS_PORT (9090);
                     spn demo does when the prometheus binary is installed (0: never)
  SPN_AUDIT_KEY_DIR  the services' checkpoint signing keys ($SPN_DATA_DIR/audit under spn up)
  SPN_USER           the person recorded as acting (default: login name)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spn",
        description="Strategic Performance Network: improvement plans of an SEA, its LEAs "
        "and their schools, on an event-sourced backend.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    up = sub.add_parser("up", help="run NATS, PostgreSQL and the services until Ctrl-C")
    up.add_argument("--prometheus", action="store_true", help="also run a Prometheus that "
                    "scrapes the stack (as SPN_PROMETHEUS=1; needs its binary)")  # fmt: skip
    up.set_defaults(handler=demo.up)

    demo_cmd = sub.add_parser(
        "demo", help="start the stack, import the sample network, show it, stop"
    )
    demo_cmd.add_argument("--keep-running", action="store_true", help="leave the stack up after")
    demo_cmd.add_argument("--examples", default=str(demo.EXAMPLES), help="sample network folder")
    demo_cmd.add_argument("--plan", default=demo.SHOWN_PLAN, help="plan to show at the end")
    demo_cmd.add_argument("--prometheus", action=argparse.BooleanOptionalAction, default=None,
                          help="run a Prometheus and show what the boards' queries answer "
                          "(default: when the prometheus binary is installed, unless "
                          "SPN_PROMETHEUS=0)")  # fmt: skip
    demo_cmd.set_defaults(handler=demo.demo)
    bench_cli.add_parser(sub)

    _org_parser(sub)
    _plan_parser(sub)

    _status_parsers(sub)

    contracts = sub.add_parser("contracts", help="the public contracts")
    contracts_sub = contracts.add_subparsers(dest="action", metavar="ACTION", required=True)
    export = contracts_sub.add_parser(
        "export", help="write the JSON Schemas (contracts/schemas) and contracts/asyncapi.yaml"
    )
    export.add_argument("--check", action="store_true", help="only report stale files")
    export.set_defaults(handler=commands.contracts_export)
    history.add_parser(sub)
    assess.add_parser(sub)
    audit.add_parser(sub)
    rebuild.add_parser(sub)
    backup.add_parser(sub)
    boards.add_parser(sub)
    credentials.add_nats_parser(sub)
    return parser


def _org_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    org = sub.add_parser("org", help="organizations: the SEA, LEAs and schools")
    org_sub = org.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = org_sub.add_parser(
        "import", help="register organizations from a YAML/JSON file (repeatable: no duplicates)"
    )
    imp.add_argument("file", help="a network file: {organizations: [...]}, parents first")
    _json_flag(imp)
    imp.set_defaults(handler=commands.org_import)
    lst = org_sub.add_parser("list", help="the network as a tree, with each plan's status")
    lst.add_argument("--kind", choices=["SEA", "LEA", "SCHOOL"], help="only this kind")
    _json_flag(lst)
    lst.set_defaults(handler=commands.org_list)
    credentials.add_parser(org_sub)


def _plan_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plan = sub.add_parser("plan", help="improvement plans (Tool A)")
    plan_sub = plan.add_subparsers(dest="action", metavar="ACTION", required=True)

    imp = plan_sub.add_parser(
        "import",
        help="draft or revise plans from YAML/JSON files; the same file twice changes nothing",
        description="Every file is checked against the contract, the plan's rules and the "
        "size a request may be before anything is sent. A file the plans service then "
        "refuses (an organization it does not know, a plan approved by another) is named; "
        "the files before it stay imported, and importing them again changes nothing. An "
        "approved plan changes only as an adjustment: give --cause and --justification.",
    )
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--by", default=commands.default_person(), help="person importing")
    imp.add_argument("--cause", help="adjustment: why the approved plan must change")
    imp.add_argument("--justification", help="adjustment: why this change addresses the cause")
    _json_flag(imp)
    imp.set_defaults(handler=commands.plan_import)

    val = plan_sub.add_parser(
        "validate",
        help="check plan files offline, send nothing; every problem of every file",
        description="Each file against the contract and, once its fields are valid, the "
        "plan's rules. Prints every problem as FILE: field: message (an unknown field "
        "with the nearest valid name); exit 2 if any file is invalid.",
    )
    val.add_argument("files", nargs="+", metavar="FILE")
    _json_flag(val)
    val.set_defaults(handler=commands.plan_validate)

    for name, handler, text in (
        ("show", commands.plan_show, "a plan, in the order of Tool A"),
        ("history", commands.plan_history, "every change to a plan, with causes of adjustments"),
    ):
        p = plan_sub.add_parser(name, help=text)
        p.add_argument("plan", help="plan key <organization>/<plan year>, or plan id")
        _json_flag(p)
        p.set_defaults(handler=handler)

    progress = plan_sub.add_parser(
        "progress", help="Tool A implementation figures of each closed month and term, and "
        "what the reports said (outputs, cause & adjustments, resources, budget, comments)"
    )
    progress.add_argument("plan", help="plan key <organization>/<plan year>")
    progress.add_argument("--term", help="only one term of the plan year (July-June by "
                          "default): a "
                          "quarter 2026-Q2 (Oct-Dec 2026), a semester 2026-S1 (Jul-Dec 2026) "
                          "or the year 2026-27")  # fmt: skip
    _json_flag(progress)
    progress.set_defaults(handler=commands.plan_progress)

    lst = plan_sub.add_parser("list", help="plans and their status")
    lst.add_argument("--org", help="plans of an organization and every one beneath it "
                     "(default: all; with an organization's credential, its own)")
    lst.add_argument("--year", help="only this plan year, e.g. 2026-27")
    _json_flag(lst)
    lst.set_defaults(handler=commands.plan_list)

    for name, command, text in (
        ("submit", cmd.SubmitPlan, "submit a draft for approval (by its own organization)"),
        (
            "approve",
            cmd.ApprovePlan,
            "approve a submitted plan (a school's by its LEA, an LEA's by the SEA)",
        ),
        ("return", cmd.ReturnPlan, "send a submitted plan back to draft"),
        ("close", cmd.ClosePlan, "close an approved plan at the end of its year"),
    ):
        p = plan_sub.add_parser(name, help=text)
        p.add_argument("plan", help="plan key <organization>/<plan year>, or plan id")
        p.add_argument(
            "--as",
            dest="as_org",
            metavar="ORG",
            help="code of the organization acting (default: the plan's own organization)",
        )
        p.add_argument("--by", default=commands.default_person(), help="person acting")
        if command is cmd.ReturnPlan:
            p.add_argument("--reason", required=True, help="what must change")
        _json_flag(p)
        p.set_defaults(handler=commands.plan_transition(command))


def _status_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser("report", help="monthly status reports in; progress reports out "
                            "(PDF, HTML, Markdown)")  # fmt: skip
    report_sub = report.add_subparsers(dest="action", metavar="ACTION", required=True)
    documents.add_parser(report_sub)
    submit = report_sub.add_parser(
        "submit",
        help="publish a monthly status sheet (CSV or JSON); print accepted and rejected rows",
        description="Columns/fields: plan, action, period (YYYY-MM), status (not_started, "
        "in_progress, complete), completed_on, outputs_completed (';'-separated in CSV), "
        "cause_and_adjustments, resources_used, budget_used, comments, evidence (';'-"
        "separated document names or links), report_id, "
        "reporter_name, reporter_organization, reporter_email. Without report_id, the "
        "row's content names it, so submitting the same sheet again repeats nothing.",
    )
    submit.add_argument("file", help="a .csv, or a .json list of reports")
    submit.add_argument("--reporter", default=commands.default_person(), help="reporter name")
    submit.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for outcomes")
    submit.add_argument("--no-wait", action="store_true", help="publish only; don't wait")
    _json_flag(submit)
    submit.set_defaults(handler=commands.report_submit)

    rollup = sub.add_parser(
        "rollup",
        help="Tool A figures up the chain: per school or LEA, per practice and domain",
        description="For an LEA or the SEA: one row per school or LEA (their schools' plans "
        "summed), the organization's own plan, and rows per practice (1A-4C) and domain.",
    )
    rollup.add_argument("--org", help="organization code (default: the SEA; with an "
                        "organization's credential, itself)")
    rollup.add_argument("--period", help="closed period YYYY-MM (default: the latest)")
    _json_flag(rollup)
    rollup.set_defaults(handler=commands.rollup)

    flags = sub.add_parser(
        "flags",
        help="waning flags raised and cleared, by period",
        description="Flags the rollup raised at each period close (behind, declining, "
        "lagging, silent, milestone_slipped), with their evidence, and the ones cleared when "
        "an organization recovered.",
    )
    flags.add_argument("--org", help="an organization and every one beneath it (default: all; "
                       "with an organization's credential, itself)")
    flags.add_argument("--period", help="one closed period YYYY-MM (default: every period)")
    _json_flag(flags)
    flags.set_defaults(handler=commands.flags)

    measure = sub.add_parser("measure", help="outcome data: goal and strategy measures")
    measure_sub = measure.add_subparsers(dest="action", metavar="ACTION", required=True)
    report_measure = measure_sub.add_parser(
        "report", help="report a measure's value (PerformanceMeasureReported)"
    )
    report_measure.add_argument("plan", help="plan key <organization>/<plan year>")
    report_measure.add_argument("measure", help="goal:1:1 or strategy:1.2:1 (owner:number)")
    report_measure.add_argument("value", type=float)
    when = report_measure.add_mutually_exclusive_group(required=True)
    when.add_argument("--period", help="the month, YYYY-MM")
    when.add_argument("--year", help="the plan year, YYYY-YY")
    report_measure.add_argument("--by", default=commands.default_person(), help="reporter")
    _json_flag(report_measure)
    report_measure.set_defaults(handler=commands.measure_report)

    alerts = sub.add_parser("alerts", help="what liaisons were told, and whether it arrived")
    alerts_sub = alerts.add_subparsers(dest="action", metavar="ACTION", required=True)
    alert_list = alerts_sub.add_parser(
        "list", help="alerts raised, with their delivery",
        description="pending: gathering (the group wait) or waiting for an address; sending: "
        "in a message not yet delivered (retried with backoff); delivered; failed (after the "
        "last attempt, or refused for good by the server: spn alerts resend); stale: older "
        "than SPN_ALERTS_MAX_AGE_DAYS when the service first saw it (kept, never sent).",
    )  # fmt: skip
    alert_list.add_argument("--org", help="alerts about an organization and every one "
                            "beneath it (default: all; with an organization's credential, "
                            "itself)")
    alert_list.add_argument("--status", choices=["pending", "sending", "delivered", "failed",
                                                       "stale"])  # fmt: skip
    alert_list.add_argument("--period", help="only alerts of this period YYYY-MM")
    alert_list.add_argument("--limit", type=int, default=500, help="the latest N (500; ≤ 2000)")
    _json_flag(alert_list)
    alert_list.set_defaults(handler=commands.alerts_list)
    alert_show = alerts_sub.add_parser("show", help="the message an alert went out in")
    alert_show.add_argument("id", help="alert id or message id (spn alerts list)")
    alert_show.add_argument("--html", action="store_true", help="the HTML part, not the text")
    _json_flag(alert_show)
    alert_show.set_defaults(handler=commands.alerts_show)
    resend = alerts_sub.add_parser("resend", help="send a failed message again")
    resend.add_argument("id", help="alert id or message id")
    resend.add_argument("--by", default=commands.default_person(), help="person resending")
    _json_flag(resend)
    resend.set_defaults(handler=commands.alerts_resend)
    test = alerts_sub.add_parser("test", help="send a test message through the alerts' SMTP")
    test.add_argument("--to", required=True, metavar="EMAIL", help="where to send it")
    test.add_argument("--by", default=commands.default_person(), help="person testing")
    _json_flag(test)
    test.set_defaults(handler=commands.alerts_test)

    supports = sub.add_parser("supports", help="responsive support cases")
    supports_sub = supports.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = supports_sub.add_parser("list", help="support cases and their state")
    listing.add_argument("--org", help="only cases of this organization (either side; with "
                         "an organization's credential, itself)")
    listing.add_argument(
        "--status", choices=["open", "supported", "resolved", "ineffective", "escalated"]
    )
    _json_flag(listing)
    listing.set_defaults(handler=commands.supports_list)
    support = sub.add_parser("support", help="record support given on a case")
    support_sub = support.add_subparsers(dest="action", metavar="ACTION", required=True)
    provide = support_sub.add_parser(
        "provide",
        help="record what the organization a case is addressed to did",
        description="Two closed periods after the support, it is judged from the recipient's "
        "figures; an ineffective support escalates the case one level up.",
    )
    provide.add_argument("case", help="case id (spn supports list)")
    provide.add_argument("--as", dest="as_org", required=True, metavar="ORG", help="provider")
    provide.add_argument("--on", required=True, help="date the support was given, YYYY-MM-DD")
    provide.add_argument("--what", required=True, help="what was done")
    provide.add_argument("--practice", help="practice code the support addressed")
    provide.add_argument("--by", default=commands.default_person(), help="person recording")
    _json_flag(provide)
    provide.set_defaults(handler=commands.support_provide)

    period = sub.add_parser("period", help="reporting periods (months)")
    period_sub = period.add_subparsers(dest="action", metavar="ACTION", required=True)
    close = period_sub.add_parser(
        "close", help="evaluate every active plan as of the month's last day (once)"
    )
    close.add_argument("period", help="the month, YYYY-MM")
    close.add_argument(
        "--wait", action=argparse.BooleanOptionalAction, default=None,
        help="return when the rollup has judged the period (every flag and support case); "
        "default: on in a terminal, off in scripts",
    )  # fmt: skip
    close.add_argument("--timeout", type=float, default=300.0,
                       help="seconds to wait for the judgment (default 300)")  # fmt: skip
    close.add_argument(
        "--early", action="store_true",
        help="close a month whose last day has not passed (UTC): reports for it that come "
        "later are refused as late, plans are judged on what was reported so far, support "
        "cases may open, and a close cannot be undone",
    )  # fmt: skip
    _json_flag(close)
    close.set_defaults(handler=commands.period_close)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    settings: StackSettings | None = None
    try:
        args = build_parser().parse_args(argv)
        settings = StackSettings()
        return int(args.handler(args, settings))
    except BrokenPipeError:  # the reader went away (`spn ... | head`): stop quietly
        return _reader_gone()
    except CliError as error:
        return _fail(str(error), error.exit_code)
    except StackError as error:
        return _fail(str(error), 1)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return _fail(f"invalid setting or argument {where}: {first['msg']}", 2)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as error:  # a bug: say so in one line; SPN_DEBUG=1 shows the traceback
        if os.environ.get("SPN_DEBUG"):
            raise
        kept = _keep_traceback(settings, argv)
        where = f"the traceback is in {kept}; " if kept else ""
        return _fail(f"unexpected {type(error).__name__}: {error} ({where}SPN_DEBUG=1 shows "
                     "it here)", 1)  # fmt: skip


def _keep_traceback(settings: StackSettings | None, argv: Sequence[str] | None) -> Path | None:
    """The bug's traceback appended to ``<data dir>/logs/cli-errors.log`` (secrets hidden),
    to send with a report; None if there is no data directory to write to."""
    if settings is None:
        return None
    path = settings.data_dir / "logs" / "cli-errors.log"
    command = " ".join(sys.argv[1:] if argv is None else argv)
    text = "\n".join(redact(line) for line in traceback.format_exc().splitlines())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as log:
            log.write(f"{datetime.now(UTC).isoformat()} spn {redact(command)}\n{text}\n\n")
    except OSError:
        return None
    return path.resolve()


def _reader_gone() -> int:
    """What is still buffered for standard output would fail again at exit: send it
    nowhere. 141 is what a shell reports for a process ended by SIGPIPE."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def _fail(message: str, code: int) -> int:
    """One line on stderr, any password in it hidden."""
    print(f"spn: error: {redact(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
