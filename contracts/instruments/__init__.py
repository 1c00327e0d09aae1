"""Self-assessment instruments as versioned data (seed 004's Tool C, the ILT continuum of seed
003, the BLT characteristics of seed 000): each a YAML file beside this module, read and
checked by these models. An assessment rates each element of one instrument."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

import yaml
from pydantic import Field, model_validator

from contracts.base import Part
from contracts.practices import PracticeField

InstrumentCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,39}$", examples=["tool-c"])]
ElementCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$",
                                   examples=["1a1", "common-understanding", "5.4"])]  # fmt: skip


class Rating(StrEnum):
    """How an element is rated: a level of the instrument's scale, a percentage against the
    element's threshold (a BLT "at least 75%" bar), or met / not met."""

    LEVEL = "level"
    PERCENT = "percent"
    MET = "met"


class Level(Part):
    level: int = Field(ge=1, le=9)
    name: str = Field(min_length=1)


class Element(Part):
    code: ElementCode
    name: str | None = Field(default=None, description="A short name, where the seed gives one")
    text: str = Field(min_length=1, description="The element as the seed words it")
    question: str | None = Field(default=None, description="The seed's guiding question")
    rating: Rating = Rating.LEVEL
    levels: list[str] = Field(default_factory=list,
                              description="The descriptor of each level, lowest first")
    threshold: float | None = Field(default=None, ge=0, le=100,
                                    description="The bar of a percent element (75: 75%)")

    @model_validator(mode="after")
    def _rated_as_said(self) -> Element:
        if (self.rating is Rating.PERCENT) != (self.threshold is not None):
            raise ValueError(f"element {self.code}: a percent element, and only one, has a "
                             "threshold")  # fmt: skip
        if (self.rating is Rating.LEVEL) != bool(self.levels):
            raise ValueError(f"element {self.code}: a level element, and only one, has level "
                             "descriptors")  # fmt: skip
        return self


class Group(Part):
    """Elements under one heading: a Tool C practice, a BLT characteristic."""

    code: str = Field(min_length=1)
    title: str = Field(min_length=1)
    practice: PracticeField | None = Field(default=None,
                                           description="The Four Domains practice it assesses")
    elements: list[Element] = Field(min_length=1)


class Instrument(Part):
    code: InstrumentCode
    version: int = Field(ge=1)
    title: str
    source: str = Field(description="The seed it is written from")
    intended_for: list[str] = Field(description="Kinds of organization: SEA, LEA, SCHOOL")
    levels: list[Level] = Field(default_factory=list, description="The scale, lowest first")
    groups: list[Group] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        codes = [e.code for e in self.elements()]
        if len(codes) != len(set(codes)):
            raise ValueError(f"instrument {self.code}: element codes repeat")
        for element in self.elements():
            if element.rating is Rating.LEVEL and len(element.levels) != len(self.levels):
                raise ValueError(f"instrument {self.code}: element {element.code} has "
                                 f"{len(element.levels)} level descriptors, the scale "
                                 f"{len(self.levels)}")  # fmt: skip
        return self

    def elements(self) -> list[Element]:
        return [e for g in self.groups for e in g.elements]

    def element(self, code: str) -> Element | None:
        return next((e for e in self.elements() if e.code == code), None)

    def group_of(self, code: str) -> Group | None:
        return next((g for g in self.groups if any(e.code == code for e in g.elements)), None)


FILES = {"tool-c": "tool-c.yaml", "ilt-continuum": "ilt-continuum.yaml",
         "blt-characteristics": "blt-characteristics.yaml"}  # fmt: skip
"""The instruments, by code."""


@cache
def instrument(code: str) -> Instrument:
    """An instrument by its code (KeyError: no such instrument)."""
    text = resources.files(__package__).joinpath(FILES[code]).read_text(encoding="utf-8")
    return Instrument.model_validate(yaml.safe_load(text))


def instruments() -> list[Instrument]:
    return [instrument(code) for code in FILES]


def bar(reference: str) -> Element:
    """The percent element ``<instrument>/<element>`` names (ValueError, in words: none)."""
    code, _, element = reference.partition("/")
    if code not in FILES:
        raise ValueError(f"bar {reference!r}: no instrument {code!r}")
    bars = {e.code: e for e in instrument(code).elements() if e.threshold is not None}
    if element not in bars:
        raise ValueError(f"bar {reference!r}: {code} has no bar {element!r}; its bars are "
                         f"{', '.join(bars) or 'none'}")  # fmt: skip
    return bars[element]
