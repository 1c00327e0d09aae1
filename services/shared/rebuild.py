"""The one rebuild mechanism of every service: the rows its own event store gives for
the read models it feeds from its own events, compared row by row with the tables, and
written again in one transaction unless only verifying."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from contracts import rebuild as rb
from services.shared.errors import DomainError
from services.shared.read_models import Query, ReadModelTables, Row
from services.shared.routes import Route

OwnRows = Callable[[], tuple[list[str], list[Row]]]
"""The tables a service feeds from its own events, and the rows its store gives them."""
EXAMPLES = 5


class UnknownReadModelError(DomainError):
    code = "unknown_read_model"


def compare(view: ReadModelTables, table: str, rows: Sequence[dict[str, Any]]
            ) -> rb.TableCompared:  # fmt: skip
    keys = view.KEYS[table]
    live = {_key(r, keys): r for r in view._rows(Query(table))}
    rebuilt = {_key(r, keys): r for r in rows}
    examples: list[dict[str, Any]] = []
    missing = [k for k in rebuilt if k not in live]
    extra = [k for k in live if k not in rebuilt]
    different = []
    for key in rebuilt.keys() & live.keys():
        columns = [c for c in rebuilt[key] if _plain(rebuilt[key][c]) != _plain(live[key].get(c))]
        if columns:
            different.append(key)
            if len(examples) < EXAMPLES:
                examples.append({"key": list(key), "columns": columns})
    examples += [{"key": list(k), "missing": True} for k in missing[:EXAMPLES]]
    examples += [{"key": list(k), "extra": True} for k in extra[:EXAMPLES]]
    return rb.TableCompared(table=table, live=len(live), rebuilt=len(rebuilt),
                            missing=len(missing), extra=len(extra), different=len(different),
                            examples=examples)  # fmt: skip


def _key(row: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(str(row[k]) for k in keys)


def _plain(value: Any) -> str:
    """A value as JSON, so a date and its ISO text, a UUID and its text compare equal."""
    return json.dumps(value, sort_keys=True, default=str)


class RebuildEndpoints:
    def __init__(self, service: str, view: ReadModelTables, own_rows: OwnRows):
        self.service = service
        self.view = view
        self.own_rows = own_rows

    def routes(self) -> list[Route]:
        return [(rb.RebuildReadModels, self.rebuild)]

    def rebuild(self, request: rb.RebuildReadModels) -> rb.ReadModelsRebuilt:
        tables, rows = self.own_rows()
        if request.table is not None:
            if request.table not in tables:
                raise UnknownReadModelError(
                    f"{self.service} rebuilds {', '.join(tables) or 'no read model'} from its "
                    f"own events, not {request.table}")  # fmt: skip
            tables = [request.table]
            rows = [r for r in rows if r[0] == request.table]
        by_table = {t: [r for name, r in rows if name == t] for t in tables}
        compared = [compare(self.view, t, by_table[t]) for t in tables]
        equal = all(c.missing == c.extra == c.different == 0 for c in compared)
        rewrite = not request.verify and not equal
        if rewrite:
            self.view.replace_tables(tables, rows)
        others = sorted(set(self.view.TABLES) - set(tables)) if request.table is None else []
        return rb.ReadModelsRebuilt(
            service=self.service, verify=request.verify, equal=equal, rewritten=rewrite,
            tables=compared, not_covered=others,
        )
