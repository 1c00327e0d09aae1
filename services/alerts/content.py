"""What a message says: for each alert, what happened, about whom, the figures that
triggered it, and the commands that show more (plain text; HTML and templates follow)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.alerts.domain.routing import KINDS


def subject(recipient_name: str, alerts: Sequence[Mapping[str, Any]]) -> str:
    periods = sorted({a["period"] for a in alerts})
    orgs = sorted({a["organization"] for a in alerts})
    what = f"{len(alerts)} alerts" if len(alerts) > 1 else KINDS.get(alerts[0]["kind"], "alert")
    return f"SPN: {what} for {', '.join(orgs)} ({', '.join(periods)}) - {recipient_name}"


def text(liaison: str, alerts: Sequence[Mapping[str, Any]]) -> str:
    lines = [f"Dear {liaison},", "", "The Strategic Performance Network noted:", ""]
    for alert in alerts:
        lines += [*_alert_lines(alert), ""]
    lines += ["This message's id is its Message-ID header: a repeat of it is the same message."]
    return "\n".join(lines) + "\n"


def _alert_lines(alert: Mapping[str, Any]) -> list[str]:
    org, period, details = alert["organization"], alert["period"], alert["details"]
    kind = KINDS.get(alert["kind"], alert["kind"])
    lines = [f"* {org}, {period}: {kind}" + (f" ({details['rule']})" if "rule" in details else "")]
    for name, value in sorted(details.get("evidence", {}).items()):
        lines.append(f"    {name.replace('_', ' ')}: {value}")
    for strategy in details.get("strategies", []):
        lines.append(f"    strategy {strategy['number']} (practice {strategy['practice']})")
    for name in ("milestone", "reason", "case_id", "to", "cause", "justification"):
        if name in details:
            lines.append(f"    {name.replace('_', ' ')}: {details[name]}")
    lines.append(f"    see: spn rollup --org {org} --period {period}; spn flags --org {org}; "
                 f"spn supports list --org {org}")  # fmt: skip
    return lines
