"""The alerts service's read models: its directory of contacts (from the plans service's
events), its alerts and its messages (from its own events, written with them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from services.shared.read_models import (
    MemoryReadModelRecorder,
    Query,
    ReadModelRecorder,
    Row,
)
from services.shared.scope import DirectoryTables

__all__ = ["AlertsMemoryRecorder", "AlertsReadModels", "AlertsRecorder", "Row"]
Record = dict[str, Any]


class AlertsReadModels(DirectoryTables):
    ORGANIZATIONS = "contacts"
    TABLES = {
        "contacts": "code text PRIMARY KEY, kind text NOT NULL, name text NOT NULL, parent "
        "text, liaison_name text, liaison_email text",
        "alerts": "alert_id uuid PRIMARY KEY, key text NOT NULL, kind text NOT NULL, "
        "organization text NOT NULL, period text NOT NULL, addressed_to text, "
        "raised_at timestamptz NOT NULL, details jsonb NOT NULL, message uuid, completed_at "
        "timestamptz",
        "alert_targets": "alert_id uuid, target text, message uuid NOT NULL, "
        "PRIMARY KEY (alert_id, target)",
        "messages": "message_id uuid PRIMARY KEY, recipient text NOT NULL, channel text NOT "
        "NULL, target text NOT NULL, subject text NOT NULL, text text NOT NULL, html text NOT "
        "NULL, alerts jsonb NOT NULL, status text NOT NULL, attempts integer NOT NULL, "
        "next_attempt timestamptz, last_error text, raised_at timestamptz NOT NULL, "
        "composed_at timestamptz NOT NULL, "
        "delivered_at timestamptz",
    }
    TABLES |= {  # what a message tells beside the alert: from the other services' events
        "strategies": "plan_key text, number text, organization text NOT NULL, practice text "
        "NOT NULL, if_text text NOT NULL, then_text text NOT NULL, "
        "PRIMARY KEY (plan_key, number)",
        "figures": "organization text, period text, on_time_pct double precision, behind_pct "
        "double precision, completed_pct double precision, PRIMARY KEY (organization, period)",
        "cases": "case_id uuid PRIMARY KEY, recipient text, addressed_to text, practice text, "
        "opened text, status text, support text, verdict text",
    }
    KEYS = {"contacts": ("code",), "alerts": ("alert_id",), "messages": ("message_id",),
            "alert_targets": ("alert_id", "target"),
            "strategies": ("plan_key", "number"), "figures": ("organization", "period"),
            "cases": ("case_id",)}  # fmt: skip
    INDEXES = {  # what the delivery loop reads every round: the few not yet done
        "alerts_ungrouped": ("alerts", "(raised_at, key) WHERE completed_at IS NULL"),
        "messages_due": ("messages", "(next_attempt) WHERE status = 'pending'"),
        "cases_recipient": ("cases", "(recipient)"),
    }

    def context(self, organizations: list[str]) -> dict[str, list[Record]]:
        """What a message tells about these organizations besides its alerts: their
        plans' strategies, their figures by period, their support cases."""
        return {
            "strategies": self._rows(Query("strategies", any_of={"organization": organizations})),
            "figures": self._rows(Query("figures", any_of={"organization": organizations},
                                        order_by=("period",))),
            "cases": self._rows(Query("cases", any_of={"recipient": organizations},
                                      order_by=("opened",))),
        }  # fmt: skip

    def figures_of_periods(self, periods: list[str]) -> list[Record]:
        return self._rows(Query("figures", any_of={"period": periods}))

    def contacts(self) -> dict[str, Record]:
        return {c["code"]: c for c in self._rows(Query("contacts"))}

    def ungrouped(self) -> list[Record]:
        """Alerts not yet in a message to each of their targets, oldest first."""
        return self._rows(Query("alerts", null=("completed_at",),
                                order_by=("raised_at", "key")))  # fmt: skip

    def targets_of(self, alert_ids: list[UUID]) -> dict[UUID, dict[str, UUID]]:
        """Per alert, the message it went out in to each target so far."""
        found: dict[UUID, dict[str, UUID]] = {}
        for row in self._rows(Query("alert_targets", any_of={"alert_id": alert_ids})):
            found.setdefault(row["alert_id"], {})[row["target"]] = row["message"]
        return found

    def alerts(self, organization: str | None = None, period: str | None = None,
               among: set[str] | None = None) -> list[Record]:  # fmt: skip
        """Alerts about an organization (None: any), in a period, about one of ``among``."""
        equal = {"organization": organization} if organization else {}
        equal |= {"period": period} if period else {}
        of = {"organization": sorted(among)} if among is not None else {}
        return self._rows(Query("alerts", equal=equal, any_of=of,
                                order_by=("raised_at", "key")))  # fmt: skip

    def message(self, message_id: UUID) -> Record | None:
        found = self._rows(Query("messages", equal={"message_id": message_id}))
        return found[0] if found else None

    def alert(self, alert_id: UUID) -> Record | None:
        found = self._rows(Query("alerts", equal={"alert_id": alert_id}))
        return found[0] if found else None

    def messages_of(self, message_ids: list[UUID]) -> list[Record]:
        return self._rows(Query("messages", any_of={"message_id": message_ids}))

    def messages(self, status: str | None = None) -> list[Record]:
        equal = {"status": status} if status else {}
        return self._rows(Query("messages", equal=equal, order_by=("composed_at",)))

    def gone_webhooks(self) -> set[str]:
        """Webhook URLs that answered 410 Gone: disabled."""
        failed = self._rows(Query("messages", equal={"status": "failed", "channel": "webhook"},
                                  columns=("target", "last_error")))  # fmt: skip
        return {m["target"] for m in failed if (m["last_error"] or "").startswith("410")}

    def alerts_of(self, alert_ids: list[UUID]) -> list[Record]:
        return self._rows(Query("alerts", any_of={"alert_id": alert_ids}, order_by=("key",)))

    def due(self, now: datetime) -> list[Record]:
        """Messages to try now."""
        pending = Query("messages", equal={"status": "pending"},
                        at_most={"next_attempt": now}, order_by=("next_attempt",))  # fmt: skip
        return self._rows(pending)


class AlertsRecorder(AlertsReadModels, ReadModelRecorder):
    """In PostgreSQL."""


class AlertsMemoryRecorder(AlertsReadModels, MemoryReadModelRecorder):
    """In memory, beside the POPO event store (unit tests)."""
