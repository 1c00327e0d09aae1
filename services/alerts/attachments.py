"""The quarterly report attached to the message that shares it (SPN_ALERTS_REPORT_ATTACH):
made at delivery, from what the plans, status and rollup services answer then; a service
that does not answer delays the message (it is tried again, as a channel that is down);
a report that can never be made (a refusal) is left out, and the message goes."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from services.alerts.application import AlertsApplication
from services.alerts.channels import DeliveryError
from services.shared.asking import RefusedAnswerError, UnansweredError
from spn.reports.gather import Asker, ReportError, gather_plan_report
from spn.reports.render import render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "pdf"


class QuarterlyReports:
    def __init__(self, app: AlertsApplication, asker: Asker):
        self.app, self.asker = app, asker

    async def of(self, message: dict[str, Any]) -> list[Attachment]:
        """The PDF report of each quarterly_report alert of the message (DeliveryError:
        not now, a service did not answer; one that can never be made is left out)."""
        ids = [UUID(str(i)) for i in message["alerts"]]
        alerts = await asyncio.to_thread(self.app.view.alerts_of, ids)
        found = []
        for alert in alerts:
            if alert["kind"] != "quarterly_report" or "plan" not in alert["details"]:
                continue
            plan, quarter = alert["details"]["plan"], alert["details"]["quarter"]
            try:
                report = await gather_plan_report(self.asker, plan, quarter)
            except UnansweredError as error:
                raise DeliveryError(f"the report of {plan}, {quarter}: {error}") from None
            except (RefusedAnswerError, ReportError) as error:  # never: the message goes
                log.warning("alerts: the report of %s, %s cannot be made (%s); message %s "
                            "goes without it", plan, quarter, error, message["message_id"])
                continue
            content = await asyncio.to_thread(render, report, "pdf")
            found.append(Attachment(f"{alert['organization']}-{quarter}.pdf", content))
        return found
