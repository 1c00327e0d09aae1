"""Organizations of the network: the SEA, its LEAs and their schools."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import EmailStr, Field, model_validator

from contracts.base import Part, Versioned

OrgCode = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
        description="Stable identifier: lower-case letters, digits and dashes",
        examples=["riverside-usd", "lincoln-elementary"],
    ),
]


class OrgKind(StrEnum):
    SEA = "SEA"
    LEA = "LEA"
    SCHOOL = "SCHOOL"


PARENT_KIND: dict[OrgKind, OrgKind | None] = {
    OrgKind.SEA: None,
    OrgKind.LEA: OrgKind.SEA,
    OrgKind.SCHOOL: OrgKind.LEA,
}
"""Which kind of organization each kind reports to."""


class Contact(Part):
    name: str = Field(min_length=1)
    email: EmailStr
    title: str | None = None
    phone: str | None = None


class Organization(Versioned):
    """An organization and its contacts.

    ``liaison`` is the school's district liaison, or, for an LEA, its SEA contact; alerts
    about the organization go to this person.
    """

    SCHEMA_NAME = "organization"
    code: OrgCode
    kind: OrgKind
    name: str = Field(min_length=1)
    parent: OrgCode | None = Field(
        default=None, description="Code of the LEA (for a school) or SEA (for an LEA)"
    )
    leader: Contact | None = Field(default=None, description="Principal or superintendent")
    liaison: Contact | None = None
    city_county: str | None = None
    zip_code: str | None = None
    phone: str | None = None

    @model_validator(mode="after")
    def _check_parent_and_liaison(self) -> Organization:
        if self.kind is OrgKind.SEA and self.parent is not None:
            raise ValueError("an SEA has no parent organization")
        if self.kind is not OrgKind.SEA and self.parent is None:
            raise ValueError(f"a {self.kind.value} needs a parent ({PARENT_KIND[self.kind]})")
        if self.kind is not OrgKind.SEA and self.liaison is None:
            who = "district liaison" if self.kind is OrgKind.SCHOOL else "SEA contact"
            raise ValueError(f"a {self.kind.value} needs a liaison (its {who})")
        return self


class Network(Versioned):
    """A file of organizations, as imported by `spn org import`; parents before children."""

    SCHEMA_NAME = "network"
    organizations: list[Organization] = Field(min_length=1, max_length=200_000)
