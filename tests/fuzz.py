"""Hypothesis strategies for fuzzing inbound contracts: documents drawn from the committed
JSON Schemas (hypothesis-jsonschema), those documents broken one field at a time, JSON of
any shape, and bytes that are no JSON at all."""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from contracts.base import Versioned
from contracts.export import SCHEMA_DIR, file_name

EXAMPLES = int(os.environ.get("SPN_FUZZ_EXAMPLES", "300"))  # per contract
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)  # fmt: skip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner,
                                                                max_size=5),
    max_leaves=20,
)  # fmt: skip


@cache
def committed_schema(contract: type[Versioned]) -> dict[str, Any]:
    return json.loads((Path(SCHEMA_DIR) / file_name(contract)).read_text())


PLANS = ("import-plan", "improvement-plan")  # hypothesis-jsonschema: minutes per plan drawn


def documents(contract: type[Versioned]) -> st.SearchStrategy[Any]:
    """Valid by the committed schema (the services may still refuse them: an unknown plan);
    a plan is the factories' full plan instead, its schema being too slow to draw from."""
    if contract.SCHEMA_NAME not in PLANS:
        return from_schema(committed_schema(contract))
    from tests.factories import plan_document

    plan = st.sampled_from(["oak-school", "elm-school", "nowhere"]).map(plan_document)
    if contract.SCHEMA_NAME == "import-plan":
        return plan.map(lambda p: {"plan": p, "by": "Pat"})
    return plan


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (keys and indexes, depth first)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@st.composite
def broken(draw: st.DrawFn, contract: type[Versioned]) -> Any:
    """A valid document with one place anywhere in it removed or replaced by any JSON."""
    document = copy.deepcopy(draw(documents(contract)))
    places = paths(document)
    if not places:
        return document
    *parents, last = draw(st.sampled_from(places))
    target = document
    for step in parents:
        target = target[step]
    if draw(st.booleans()):
        del target[last]
    else:
        target[last] = draw(JSON)
    return document


def bodies(contract: type[Versioned]) -> st.SearchStrategy[bytes]:
    """What a careless or hostile client may send where ``contract`` is expected."""
    as_json = st.one_of(documents(contract), broken(contract), JSON).map(
        lambda value: json.dumps(value).encode())
    nested = st.integers(min_value=1, max_value=5000).map(lambda n: b"[" * n + b"]" * n)
    return st.one_of(as_json, as_json, as_json, st.binary(max_size=200), nested)
