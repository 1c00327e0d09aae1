"""Accounting for every report sent: recorded once, or dead-lettered with its reason."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from contracts import status as st
from tests.integration.helpers import stream_bodies


@dataclass
class Accounting:
    recorded: Counter[str] = field(default_factory=Counter)  # StatusRecorded events per id
    dead_lettered: dict[str, list[str]] = field(default_factory=dict)  # id -> reasons
    outcomes: dict[str, str] = field(default_factory=dict)  # id -> recorded/rejected/parked

    def problems(self, sent: list[str], rejected: dict[str, str] | None = None) -> list[str]:
        """Every way the reports sent are not accounted for exactly once (empty: all are)."""
        rejected = rejected or {}
        found = []
        for report_id in sent:
            times, letters = self.recorded[report_id], self.dead_lettered.get(report_id, [])
            if report_id in rejected:
                if times or letters != [rejected[report_id]]:
                    found.append(f"{report_id}: recorded {times}x, dead letters {letters}")
            elif times != 1 or letters:
                found.append(f"{report_id}: recorded {times}x, dead letters {letters}")
        return found


def status_events_recorded(database_url: str, schema: str) -> Counter[str]:
    """How many StatusRecorded events the status store holds, per report id."""
    table = sql.Identifier(schema, "status_events")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT state FROM {} WHERE topic LIKE %s").format(table),
            ("%StatusRecorded",),
        ).fetchall()
    return Counter(json.loads(bytes(state))["report_id"] for (state,) in rows)


def status_outcomes(database_url: str, schema: str) -> dict[str, str]:
    table = sql.Identifier(schema, "status_report_outcomes")
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(sql.SQL("SELECT report_id, outcome FROM {}").format(table))
        return dict(rows.fetchall())


async def dead_letters(nats_url: str, namespace: str, **options: Any) -> list[dict]:
    """Every dead letter in the namespace's dead-letter stream, in order."""
    bodies = await stream_bodies(
        nats_url, st.dead_letter_stream(namespace), f"{namespace}.dlq.>", **options
    )
    return [json.loads(body) for body in bodies]


async def account(
    nats_url: str, namespace: str, database_url: str, schema: str | None = None, **options: Any
) -> Accounting:
    """What the status store and the dead-letter stream hold (tables in ``schema``, by
    default the one named after the namespace)."""
    schema = schema or namespace
    accounting = Accounting(
        recorded=status_events_recorded(database_url, schema),
        outcomes=status_outcomes(database_url, schema),
    )
    for letter in await dead_letters(nats_url, namespace, **options):
        if letter.get("report_id"):
            accounting.dead_lettered.setdefault(letter["report_id"], []).append(letter["reason"])
    return accounting
