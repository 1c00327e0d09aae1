"""A service's audit log in PostgreSQL, beside its events: the leaf hash of each stored
event in notification order (``<prefix>_audit_leaves``) and the signed checkpoints
(``<prefix>_audit_checkpoints``). Written off the write path by ``AuditBuilder``;
``verify`` recomputes every leaf from the events table as it is now."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from services.shared.audit.merkle import Levels, canonical, leaf_hash

Row = dict[str, Any]


@dataclass
class Findings:
    """What ``verify`` found: each event altered, removed or inserted behind the system's
    back, by notification id (with its aggregate and version where the row exists)."""

    leaves: int = 0
    altered: list[Row] = field(default_factory=list)
    removed: list[Row] = field(default_factory=list)
    inserted: list[Row] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.altered or self.removed or self.inserted)


class AuditLog:
    def __init__(self, datastore: PostgresDatastore, prefix: str, events_table: str):
        self.datastore = datastore
        self.prefix = prefix
        self.events_table = events_table

    def _table(self, name: str) -> Composed:
        return SQL("{0}.{1}").format(Identifier(self.datastore.schema), Identifier(name))

    @property
    def leaves_table(self) -> Composed:
        return self._table(f"{self.prefix}_audit_leaves")

    @property
    def checkpoints_table(self) -> Composed:
        return self._table(f"{self.prefix}_audit_checkpoints")

    @property
    def events(self) -> Composed:
        return self._table(self.events_table)

    def create_tables(self) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL(
                "CREATE TABLE IF NOT EXISTS {0} (leaf_index bigint PRIMARY KEY, "
                "notification_id bigint NOT NULL UNIQUE, leaf_hash bytea NOT NULL)"
            ).format(self.leaves_table))  # fmt: skip
            cursor.execute(SQL(
                "CREATE TABLE IF NOT EXISTS {0} (tree_size bigint PRIMARY KEY, root_hash "
                "bytea NOT NULL, note text NOT NULL, created_at timestamptz NOT NULL "
                "DEFAULT now())"
            ).format(self.checkpoints_table))  # fmt: skip

    def _rows(self, statement: Composed, params: Sequence[Any] = ()) -> list[Row]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, params)
            return [dict(row) for row in cursor.fetchall()]

    def position(self) -> tuple[int, int]:
        """(leaves, notification id of the last leaf)."""
        [row] = self._rows(SQL("SELECT count(*) AS n, coalesce(max(notification_id), 0) AS "
                               "last FROM {0}").format(self.leaves_table))  # fmt: skip
        return int(row["n"]), int(row["last"])

    def stored_after(self, notification_id: int, limit: int) -> list[Row]:
        return self._rows(SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {0} "
            "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
        ).format(self.events), (notification_id, limit))  # fmt: skip

    def append(self, first_index: int, rows: Sequence[Row], leaves: Sequence[bytes]) -> None:
        """The rows' leaves, from leaf ``first_index`` on (a concurrent appender fails on
        the primary key: one builder per service)."""
        values = [(first_index + n, r["notification_id"], leaf)
                  for n, (r, leaf) in enumerate(zip(rows, leaves, strict=True))]  # fmt: skip
        with self.datastore.transaction(commit=True) as cursor:
            insert = SQL("INSERT INTO {0} (leaf_index, notification_id, leaf_hash) VALUES "
                         "(%s, %s, %s)").format(self.leaves_table)  # fmt: skip
            cursor.executemany(insert, values)

    def leaf_hashes(self) -> list[bytes]:
        rows = self._rows(SQL("SELECT leaf_hash FROM {0} ORDER BY leaf_index")
                          .format(self.leaves_table))  # fmt: skip
        return [bytes(r["leaf_hash"]) for r in rows]

    def add_checkpoint(self, size: int, root: bytes, note: str) -> None:
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(SQL("INSERT INTO {0} (tree_size, root_hash, note) VALUES (%s, %s, %s) "
                               "ON CONFLICT (tree_size) DO NOTHING").format(self.checkpoints_table),
                           (size, root, note))  # fmt: skip

    def checkpoints(self) -> list[Row]:
        return self._rows(SQL("SELECT tree_size, root_hash, note FROM {0} ORDER BY tree_size")
                          .format(self.checkpoints_table))  # fmt: skip

    def latest_checkpoint(self) -> Row | None:
        latest = SQL("SELECT tree_size, root_hash, note, created_at FROM {0} ORDER BY "
                     "tree_size DESC LIMIT 1").format(self.checkpoints_table)  # fmt: skip
        rows = self._rows(latest)
        return rows[0] if rows else None

    def leaves_of(self, originator_ids: Sequence[UUID]) -> list[Row]:
        """The leaf index and the stored event of each event of these aggregates."""
        return self._rows(SQL(
            "SELECT l.leaf_index, e.notification_id, e.originator_id, e.originator_version, "
            "e.topic, e.state FROM {0} e JOIN {1} l USING (notification_id) "
            "WHERE e.originator_id = ANY(%s) ORDER BY l.leaf_index"
        ).format(self.events, self.leaves_table), (list(originator_ids),))  # fmt: skip

    def verify(self, page: int = 5000) -> tuple[Findings, Levels]:
        """Every leaf recomputed from the events table as it is now, and the tree of the
        stored leaves (whose root a signed checkpoint vouches for)."""
        found = Findings()
        stored = self._rows(SQL("SELECT leaf_index, notification_id, leaf_hash FROM {0} "
                                "ORDER BY leaf_index").format(self.leaves_table))  # fmt: skip
        found.leaves = len(stored)
        by_id = {r["notification_id"]: bytes(r["leaf_hash"]) for r in stored}
        last = max(by_id, default=0)  # every stored event up to the last leaf's is checked
        seen: set[int] = set()
        after = -(2**63)  # a row inserted with any id, even below the first, is found
        while rows := self.stored_after(after, page):
            for row in rows:
                after = row["notification_id"]
                if after > last:
                    break  # appended since the last leaf: not in the tree yet
                seen.add(after)
                where = _where(row)
                if after not in by_id:
                    found.inserted.append(where)
                elif leaf_of(row) != by_id[after]:
                    found.altered.append(where)
            if after > last:
                break
        found.removed = [{"notification_id": n} for n in sorted(by_id.keys() - seen)]
        return found, Levels([bytes(r["leaf_hash"]) for r in stored])


def leaf_of(row: Row) -> bytes:
    return leaf_hash(canonical(
        row["notification_id"], str(row["originator_id"]), row["originator_version"],
        row["topic"], bytes(row["state"]),
    ))  # fmt: skip


def _where(row: Row) -> Row:
    return {"notification_id": row["notification_id"], "originator_id": str(row["originator_id"]),
            "originator_version": row["originator_version"], "topic": row["topic"]}  # fmt: skip
