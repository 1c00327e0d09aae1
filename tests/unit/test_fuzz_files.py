"""Fuzzing the CLI's file inputs (plan files, networks, status sheets): any bytes, any JSON,
YAML of any shape and documents drawn from the committed schemas give a document or one
InvalidInputError that names the file; never another exception."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as hs

from contracts import status as st
from contracts.organizations import Network
from contracts.plans import ImprovementPlan
from spn.cli.errors import InvalidInputError
from spn.cli.files import check_plan, load_network, load_plan
from spn.cli.reports import read_rows
from tests.fuzz import FUZZ, JSON, bodies, broken, documents


def as_yaml(value: object) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True).encode()


def files_of(contract: type) -> hs.SearchStrategy[tuple[str, bytes]]:
    """(suffix, content): the contract's bodies as JSON, the same values as YAML, any YAML."""
    values = hs.one_of(documents(contract), broken(contract), JSON)
    return hs.one_of(
        hs.tuples(hs.just(".json"), bodies(contract)),
        hs.tuples(hs.sampled_from([".yaml", ".yml"]), values.map(as_yaml)),
        hs.tuples(hs.sampled_from([".yaml", ".json"]), hs.binary(max_size=300)),
        hs.tuples(hs.just(".yaml"), hs.text(max_size=300).map(str.encode)),
    )


DIRECTORY = Path(tempfile.gettempdir()) / f"spn-fuzz-{os.getpid()}"  # one, rewritten


def written(suffix: str, content: bytes) -> Path:
    DIRECTORY.mkdir(exist_ok=True)
    path = DIRECTORY / f"input{suffix}"
    path.write_bytes(content)
    return path


def refused_by_name(error: InvalidInputError, path: Path) -> None:
    assert str(path) in str(error), error


@FUZZ
@given(file=files_of(ImprovementPlan))
def test_a_plan_file_is_a_plan_or_problems_naming_it(file: tuple[str, bytes]) -> None:
    path = written(*file)
    checked = check_plan(path)  # what spn plan validate shows
    assert checked.valid or checked.problems
    try:
        load_plan(path)
    except InvalidInputError as error:
        refused_by_name(error, path)


@FUZZ
@given(file=files_of(Network))
def test_a_network_file_is_a_network_or_one_clear_error(file: tuple[str, bytes]) -> None:
    path = written(*file)
    try:
        load_network(path)
    except InvalidInputError as error:
        refused_by_name(error, path)


def sheets() -> hs.SearchStrategy[tuple[str, bytes]]:
    rows = hs.lists(hs.one_of(documents(st.ActionStatusReported), JSON), max_size=5)
    cells = hs.lists(hs.lists(hs.text(max_size=30), min_size=1, max_size=8), max_size=6)
    csv = cells.map(lambda table: "\n".join(",".join(row) for row in table).encode())
    header = b"plan,action,period,status,completed_on,comments\n"
    return hs.one_of(
        hs.tuples(hs.just(".json"), rows.map(lambda r: json.dumps(r).encode())),
        hs.tuples(hs.just(".json"), bodies(st.ActionStatusReported)),
        hs.tuples(hs.just(".csv"), csv),
        hs.tuples(hs.just(".csv"), csv.map(lambda body: header + body)),
        hs.tuples(hs.just(".csv"), hs.binary(max_size=300)),
    )


@FUZZ
@given(sheet=sheets())
def test_a_status_sheet_is_rows_or_one_clear_error(sheet: tuple[str, bytes]) -> None:
    path = written(*sheet)
    try:
        rows = read_rows(path, reporter="Pat")
    except InvalidInputError as error:
        refused_by_name(error, path)
        return
    for row in rows:  # each row a report, or its problem: nothing in between
        assert (row.report is None) != (row.problem is None), row
