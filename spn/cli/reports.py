"""Status reports from a school's monthly sheet (CSV or JSON) into the inbox."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts import status as st
from contracts.paths import field_path
from services.shared.credentials import CredentialError, connect_options
from services.shared.streams import ensure_stream
from spn.cli.client import SpnClient, connect
from spn.cli.errors import InvalidInputError
from spn.cli.files import read_text
from spn.stack.credentials import organization_of

CSV_LIST_FIELDS = {"outputs_completed", "evidence"}
REPORTER_COLUMNS = {"reporter_name": "name", "reporter_organization": "organization",
                    "reporter_email": "email"}  # fmt: skip


@dataclass
class Row:
    number: int
    report: st.ActionStatusReported | None = None
    problem: str | None = None


MAX_SHEET_BYTES = 16 * 1024 * 1024  # a year of a large school's reports is under 2 MB
MAX_ROWS = 20_000
MAX_REPORT_BYTES = 64 * 1024  # one report as sent: well below NATS's 1 MB message limit


def read_rows(path: Path, reporter: str) -> list[Row]:
    """Each row of the sheet, validated; a bad row is kept with its problem. A sheet
    that cannot be read as a whole (too large, not UTF-8 text, too many rows, a cell over
    the CSV limit) is refused before anything is sent."""
    text = read_text(path, MAX_SHEET_BYTES)
    records = (_json_records(path, text) if path.suffix.lower() == ".json"
               else _csv_records(path, text))  # fmt: skip
    if len(records) > MAX_ROWS:
        raise InvalidInputError(f"{path}: {len(records):,} rows; a sheet may have at most "
                                f"{MAX_ROWS:,} (split it)")  # fmt: skip
    return [_row(n, record, reporter) for n, record in enumerate(records, 1)]


def _json_records(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidInputError(f"{path}: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, or a number of thousands of digits
        raise InvalidInputError(f"{path}: not valid JSON: {error}") from None
    records = data.get("reports") if isinstance(data, dict) else data
    if not isinstance(records, list):
        raise InvalidInputError(f'{path}: expected a list of reports or {{"reports": [...]}}')
    return records


def _csv_records(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return [_csv_record(raw) for raw in reader]
    except csv.Error as error:  # a cell larger than the csv module's 128 kB, a stray NUL
        raise InvalidInputError(f"{path}: line {reader.line_num + 1}: {error}") from None


def _csv_record(raw: dict[str, Any]) -> dict[str, Any]:
    """One CSV row as a report's fields (lists split at ';', the reporter's columns
    gathered)."""
    record: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
    record = {k: v for k, v in record.items() if v != ""}
    for name in CSV_LIST_FIELDS & record.keys():
        record[name] = [item.strip() for item in record[name].split(";") if item.strip()]
    reporter = {
        REPORTER_COLUMNS[k]: record.pop(k) for k in list(record) if k in REPORTER_COLUMNS
    }
    if reporter:
        record["reporter"] = reporter
    return record


def _row(number: int, record: Any, reporter: str) -> Row:
    if not isinstance(record, dict):
        return Row(number, problem="not an object")
    record = dict(record)
    if not isinstance(record.get("reporter") or {}, dict):
        return Row(number, problem="reporter: expected an object (name, organization, email)")
    plan = str(record.get("plan", ""))
    default_reporter = {"name": reporter, "organization": plan.split("/", 1)[0]}
    record.setdefault("report_id", content_id(record))
    record["reporter"] = default_reporter | (record.get("reporter") or {})
    try:
        report = st.ActionStatusReported.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        return Row(number, problem=f"{field_path(first['loc']) or 'row'}: {first['msg']}")
    if (size := len(report.to_json())) > MAX_REPORT_BYTES:
        return Row(number, problem=f"row: {size / 1024:.0f} kB; a report may be at most "
                   f"{MAX_REPORT_BYTES // 1024} kB")  # fmt: skip
    return Row(number, report=report)


def content_id(record: dict[str, Any]) -> str:
    """A report id from the row's content, whoever submits it: re-submitting a sheet (by
    anyone, naming any reporter) repeats no report, and a corrected row is a new report."""
    content = {k: v for k, v in record.items() if k != "reporter"}
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
    return f"{record.get('plan')}:{record.get('action')}:{record.get('period')}:{digest[:12]}"


async def publish_reports(
    nats_url: str, namespace: str, reports: list[st.ActionStatusReported],
    credentials: Path | None = None,
) -> None:  # fmt: skip
    """Publish to the inbox, waiting for each PubAck; the inbox keeps them for the service.
    With an organization's credential, only its own reports, to its own inbox (which the
    operator's stack has made)."""
    try:
        options = connect_options(credentials)
    except CredentialError as error:
        raise InvalidInputError(str(error)) from None
    organization = organization_of(str(options.get("user", "")))
    for report in reports:
        if organization is not None and report.reporter.organization != organization:
            raise InvalidInputError(
                f"report {report.report_id} is by {report.reporter.organization}; this "
                f"credential is {organization}'s and reports only for it")  # fmt: skip
    nc = await connect(nats_url, options)
    try:
        js = nc.jetstream(timeout=10)
        if organization is None:
            await ensure_inbox(js, namespace)
        stream = st.inbox_stream(namespace)
        acks = [
            js.publish(
                st.inbox_subject(namespace, report.reporter.organization),
                report.to_json(),
                stream=stream,  # no Nats-Msg-Id: another client could take it up first (the
            )  # duplicate window); the status service takes a report id once per plan
            for report in reports
        ]
        for chunk in range(0, len(acks), 500):
            await asyncio.gather(*acks[chunk : chunk + 500])
    finally:
        await nc.close()


async def ensure_inbox(js: JetStreamContext, namespace: str) -> None:
    await ensure_stream(
        js, st.inbox_stream(namespace), [f"{namespace}.{st.ActionStatusReported.SUBJECT}.>"]
    )


PARKED_GRACE = 10.0  # seconds to wait for a parked report's plan before saying it is parked


async def outcomes_of(client: SpnClient, by_sender: dict[str, list[str]]
                      ) -> list[dict[str, Any]]:  # fmt: skip
    """The outcome of each report id of each sender, 5,000 a request."""
    found: list[dict[str, Any]] = []
    for sender, ids in by_sender.items():
        for start in range(0, len(ids), 5000):
            query = st.GetReportOutcomes(report_ids=ids[start : start + 5000], sender=sender)
            found.extend((await client.request(query))["outcomes"])
    return found


async def wait_for_outcomes(
    client: SpnClient, sent: list[st.ActionStatusReported], timeout: float, progress: bool
) -> dict[str, dict[str, Any]]:
    """Each report's outcome once decided: ``pending`` for those still undecided, ``parked``
    for those still waiting for their plan's approval after a short grace."""
    deadline = time.monotonic() + timeout
    report_ids = [r.report_id for r in sent]
    sender_of = {r.report_id: r.reporter.organization for r in sent}  # its inbox's
    decided: dict[str, dict[str, Any]] = {}
    parked: dict[str, dict[str, Any]] = {}
    parked_since: float | None = None
    while True:
        undecided: dict[str, list[str]] = {}  # by sender: an id is its sender's own
        for r in report_ids:
            if r not in decided:
                undecided.setdefault(sender_of[r], []).append(r)
        for outcome in await outcomes_of(client, undecided):
            if outcome["outcome"] == "parked":
                parked[outcome["report_id"]] = outcome
            elif outcome["outcome"] != "pending":
                decided[outcome["report_id"]] = outcome
                parked.pop(outcome["report_id"], None)
        if parked and parked_since is None:
            parked_since = time.monotonic()
        if progress:
            print(f"\r  processed {len(decided) + len(parked)}/{len(report_ids)}", end="",
                  flush=True)  # fmt: skip
        waiting_only_on_parked = len(decided) + len(parked) == len(report_ids)
        if len(decided) == len(report_ids) or time.monotonic() > deadline:
            break
        if waiting_only_on_parked and time.monotonic() - (parked_since or 0) > PARKED_GRACE:
            break
        await asyncio.sleep(0.2)
    if progress:
        print()
    pending = {"outcome": "pending"}
    return {r: decided.get(r) or parked.get(r) or {"report_id": r, **pending} for r in report_ids}
