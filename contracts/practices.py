"""The Four Domains of Rapid School Improvement: 4 domains, 12 practices (seed 004, Tool C)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, NamedTuple

from pydantic import BeforeValidator, WithJsonSchema


class Domain(IntEnum):
    TURNAROUND_LEADERSHIP = 1
    TALENT_DEVELOPMENT = 2
    INSTRUCTIONAL_TRANSFORMATION = 3
    CULTURE_SHIFT = 4

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


class PracticeCode(StrEnum):
    P1A = "1A"
    P1B = "1B"
    P1C = "1C"
    P2A = "2A"
    P2B = "2B"
    P2C = "2C"
    P3A = "3A"
    P3B = "3B"
    P3C = "3C"
    P4A = "4A"
    P4B = "4B"
    P4C = "4C"

    @property
    def domain(self) -> Domain:
        return Domain(int(self.value[0]))

    @property
    def title(self) -> str:  # type: ignore[override]
        return PRACTICES[self].title


class Practice(NamedTuple):
    code: PracticeCode
    title: str


PRACTICES: dict[PracticeCode, Practice] = {
    p.code: p
    for p in (
        Practice(PracticeCode.P1A, "Prioritize improvement and communicate urgency"),
        Practice(PracticeCode.P1B, "Monitor short- and long-term goals"),
        Practice(PracticeCode.P1C, "Customize and target supports to meet needs"),
        Practice(PracticeCode.P2A, "Recruit, develop, retain and sustain talent"),
        Practice(PracticeCode.P2B, "Target professional learning opportunities"),
        Practice(PracticeCode.P2C, "Set clear performance expectations"),
        Practice(PracticeCode.P3A, "Diagnose and respond to student learning needs"),
        Practice(PracticeCode.P3B, "Provide rigorous evidence-based instruction"),
        Practice(PracticeCode.P3C, "Remove barriers and provide opportunities"),
        Practice(
            PracticeCode.P4A, "Build a strong community intensely focused on student learning"
        ),
        Practice(PracticeCode.P4B, "Solicit and act upon stakeholder input"),
        Practice(PracticeCode.P4C, "Engage students and families in pursuing education goals"),
    )
}


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


PRACTICE_PATTERN = r"^\s*[1-4][A-Ca-c]\s*$"
"""What a PracticeField accepts: a code in either case, surrounding spaces ignored."""

PracticeField = Annotated[
    PracticeCode,
    BeforeValidator(_upper),
    WithJsonSchema(
        {"type": "string", "pattern": PRACTICE_PATTERN, "examples": ["3C", "3c"]},
        mode="validation",
    ),
]
"""A practice code; accepts lower case (`3b`) as written in seed 004, and stores it upper case.
Its input schema says so (a pattern, not the upper-case enum)."""
