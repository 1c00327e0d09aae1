"""SelfAssessment aggregate: one organization's ratings with one instrument on one date
(seed 004, step 2). Recorded once; a changed file for the same date revises it, and the
history keeps each version."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from contracts.assessment_rules import assessment_violations
from services.plans.domain import ids
from services.plans.domain.errors import AssessmentRuleError


class SelfAssessment(Aggregate):
    @staticmethod
    def create_id(organization_code: str, instrument: str, on: str) -> UUID:
        return ids.assessment_id(organization_code, instrument, on)

    @classmethod
    def record(cls, document: dict[str, Any], *, by: str) -> SelfAssessment:
        check_assessment(document)
        return cls(organization_code=document["organization"],
                   instrument=document["instrument"], on=document["on"], document=document,
                   by=by)  # fmt: skip

    @event("Recorded")
    def __init__(self, *, organization_code: str, instrument: str, on: str,
                 document: dict[str, Any], by: str) -> None:  # fmt: skip
        self.organization_code = organization_code
        self.instrument = instrument
        self.on = on
        self.document = document
        self.recorded_by = by

    @property
    def key(self) -> str:
        return f"{self.organization_code}/{self.instrument}/{self.on}"

    def revise(self, document: dict[str, Any], *, by: str) -> bool:
        """Replace the ratings; False when the document is the one recorded."""
        if document == self.document:
            return False
        check_assessment(document)
        self._revise(document=document, by=by)
        return True

    @event("Revised")
    def _revise(self, *, document: dict[str, Any], by: str) -> None:
        self.document = document
        self.recorded_by = by


def check_assessment(document: dict[str, Any]) -> None:
    violations = assessment_violations(document)
    if violations:
        raise AssessmentRuleError(violations)
