"""What a message says: for each alert, what happened, about whom, the figures that
triggered it, a next step and the commands that show more; as plain text and as HTML
(Jinja2 templates, the HTML autoescaped), dates in the recipient's time zone."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from contracts.periods import plan_year_of
from services.alerts.domain.routing import KINDS

ENVIRONMENT = Environment(
    loader=PackageLoader("services.alerts", "templates"),
    autoescape=select_autoescape(["html.j2"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
NEXT_STEPS = {
    "waning": "look at the strategies named with the school's team, and agree the support "
    "(spn support provide) if a support case is open",
    "recovered": "nothing: the rule no longer holds",
    "milestone_slipped": "ask the team how the milestone's actions will be caught up",
    "report_missing": "ask the team for this month's status report",
    "case_opened": "agree what support to give and record it (spn support provide)",
    "case_escalated": "the support given did not work: agree what the next level will do",
    "support_judged": "if it did not work, the case is escalated one level up",
    "plan_adjusted": "check the adjustment's cause and justification (spn plan history)",
    "quarterly_report": "go through the quarter's report with the school's team, and "
    "discuss the supports to add or change",
}
FACTS = ("term", "report", "milestone", "reason", "case_id", "to", "cause", "justification")
TREND = 4  # periods of figures shown, up to the alert's


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(liaison: str, alerts: Sequence[Mapping[str, Any]], now: datetime, zone: str,
           message_id: str, context: Mapping[str, list[dict[str, Any]]] | None = None,
           ) -> Rendered:  # fmt: skip
    """``context``: the strategies, figures by period and cases of the organizations."""
    shown = [_shown(a, context or {}) for a in alerts]
    orgs = sorted({a["organization"] for a in alerts})
    periods = sorted({a["period"] for a in alerts})
    what = f"{len(alerts)} alerts" if len(alerts) > 1 else shown[0]["title"]
    subject = f"SPN: {what} for {', '.join(orgs)} ({', '.join(periods)})"
    values = {"liaison": liaison, "alerts": shown, "subject": subject,
               "now": now.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z"),
               "message_id": message_id}  # fmt: skip
    return Rendered(
        subject,
        ENVIRONMENT.get_template("message.txt.j2").render(values),
        ENVIRONMENT.get_template("message.html.j2").render(values),
    )


def _shown(alert: Mapping[str, Any], context: Mapping[str, list[dict[str, Any]]]
           ) -> dict[str, Any]:  # fmt: skip
    org, period, details = alert["organization"], alert["period"], alert["details"]
    key = f"{org}/{plan_year_of(period)}"  # the plan of the alert's period
    plan = {s["number"]: s for s in context.get("strategies", []) if s["plan_key"] == key}
    strategies = [s | {"if_text": plan.get(s["number"], {}).get("if_text"),
                       "then_text": plan.get(s["number"], {}).get("then_text")}
                  for s in details.get("strategies", [])]  # fmt: skip
    trend = [f for f in context.get("figures", [])
             if f["organization"] == org and f["period"] <= period][-TREND:]  # fmt: skip
    cases = [c for c in context.get("cases", []) if c["recipient"] == org]
    evidence = [(k.replace("_", " "), v) for k, v in sorted(details.get("evidence", {}).items())]
    return {
        "kind": alert["kind"], "organization": org, "period": period,
        "rule": details.get("rule"), "strategies": strategies, "trend": trend,
        "cases": cases,
        "title": KINDS.get(alert["kind"], alert["kind"]), "evidence": evidence,
        "facts": [(k.replace("_", " "), details[k]) for k in FACTS if k in details],
        "next_step": NEXT_STEPS.get(alert["kind"], "see the figures"),
        "commands": [f"spn rollup --org {org} --period {period}", f"spn flags --org {org}",
                     f"spn supports list --org {org}"],
    }  # fmt: skip


def webhook_body(message_id: str, recipient: str, shown: Rendered,
                 alerts: Sequence[Mapping[str, Any]]) -> str:  # fmt: skip
    """The JSON a webhook receives: the alerts as data, and the message's text."""
    return json.dumps({
        "type": "spn.alerts.message", "message_id": message_id, "recipient": recipient,
        "subject": shown.subject, "text": shown.text,
        "alerts": [{"alert_id": str(a["alert_id"]), "kind": a["kind"],
                    "organization": a["organization"], "period": a["period"],
                    "details": a["details"]} for a in alerts],
    }, sort_keys=True)  # fmt: skip
