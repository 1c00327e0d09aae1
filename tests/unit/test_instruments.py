"""The instruments of contracts/instruments/ against the seeds they transcribe (tests/seeds/):
every element, its name, definition, question and level descriptors word for word, in the
seed's order; nothing left out, nothing invented."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from contracts.instruments import FILES, Instrument, Rating, instrument
from contracts.practices import PRACTICES

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
TOOL_C_SEED = "004_268f50504446f823.txt"
ILT_SEED = "003_f3387200fa7d17a1.txt"
BLT_SEED = "000_18f864e812bf3798.txt"

TOOL_C_LEVELS = ["Consistently Low Performance", "Basic Performance", "Moderate Performance",
                 "Consistently High Performance"]  # fmt: skip
PAGE_HEADER = re.compile(r"\s+".join(f"Element {' '.join(TOOL_C_LEVELS)} Evidence".split()))
"""The column headings Tool C's table repeats on every page, across lines and cells."""

MIN_LENGTH = 10
"""A normalized string shorter than this could be found almost anywhere."""


def seed(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def norm(text: str) -> str:
    """Only the letters and digits, lower case: what survives the PDF extraction's line breaks,
    hyphenation and spacing."""
    return "".join(c for c in text.lower() if c.isalnum())


def tool_c() -> str:
    """Tool C of seed 004: from its title to Tool D."""
    text = seed(TOOL_C_SEED)
    start = text.index("TOOL C: LEA Self-Reflection")
    return text[start : text.index("TOOL D:", start)]


def tool_c_cells() -> list[str]:
    """Tool C's table cells, normalized: its paragraphs, once the page headers are gone."""
    section, headers = PAGE_HEADER.subn(" ", tool_c())
    assert headers == 12  # the header of each of Tool C's pages
    return [cell for cell in map(norm, re.split(r"\n[ \t]*\n", section)) if cell]


def ilt_rows() -> list[list[str]]:
    """The continuum's rows: the essential (name, definition, question), then levels 1-4. A line
    whose first cell opens a parenthesis carries on the row above it, cell by cell."""
    rows: list[list[str]] = []
    for line in seed(ILT_SEED).splitlines():
        cells = line.split("\t")
        if len(cells) != 5:
            continue
        if cells[0].startswith("("):
            pairs = zip(rows[-1], cells, strict=True)
            rows[-1] = [f"{above} {below}".strip() for above, below in pairs]
        elif " The extent to which " in cells[0]:
            rows.append(cells)
    return rows


def blt_characteristics() -> list[tuple[str, str, list[str]]]:
    """(number, title, bullets) of each characteristic; a line may hold more than one bullet."""
    characteristics: list[tuple[str, str, list[str]]] = []
    for line in seed(BLT_SEED).splitlines():
        if heading := re.match(r"(\d)\. (.+)", line):
            characteristics.append((heading[1], heading[2].strip(), []))
        elif line.lstrip().startswith("•"):
            characteristics[-1][2].extend(bullet.strip() for bullet in line.split("•")[1:])
    return characteristics


CORPORA: dict[str, Callable[[], str]] = {
    "tool-c": lambda: "".join(tool_c_cells()),
    # the table's rows mended (a cell carried on below the next row's first cell), then the rest
    "ilt-continuum": lambda: norm(" ".join(map(" ".join, ilt_rows())) + seed(ILT_SEED)),
    "blt-characteristics": lambda: norm(seed(BLT_SEED)),
}
"""Each instrument's seed, normalized, as the text its words must be found in."""


def words(tool: Instrument) -> list[str]:
    """Every string of an instrument that transcribes the seed."""
    found = [g.title for g in tool.groups]
    for e in tool.elements():
        found += [s for s in (e.name, e.text, e.question) if s is not None] + e.levels
    return found


@pytest.mark.parametrize("code", list(FILES))
def test_each_instrument_loads_and_validates(code):
    tool = instrument(code)
    assert tool.code == code
    assert tool.elements()


@pytest.mark.parametrize("code", list(FILES))
def test_every_word_is_the_seeds(code):
    corpus = CORPORA[code]()
    for text in words(instrument(code)):
        assert text == " ".join(text.split()), f"stray spacing: {text!r}"
        assert len(norm(text)) >= MIN_LENGTH, text
        assert norm(text) in corpus, text


def test_tool_c_has_the_twelve_practices_in_order():
    tool = instrument("tool-c")
    assert [g.practice for g in tool.groups] == list(PRACTICES)
    assert [g.code for g in tool.groups] == [code.value for code in PRACTICES]
    headings = re.findall(r"^(\d)\.?([a-c])\. (.+?)\s*$", tool_c(), re.MULTILINE)
    assert [g.title for g in tool.groups] == [title for _, _, title in headings]
    assert [g.code for g in tool.groups] == [f"{d}{p.upper()}" for d, p, _ in headings]
    # the seed's headings word three practices otherwise than contracts/practices.py
    reworded = {g.code for g in tool.groups if norm(g.title) != norm(PRACTICES[g.practice].title)}
    assert reworded == {"2A", "4A", "4C"}


def test_tool_c_has_the_seeds_elements_and_scale():
    tool = instrument("tool-c")
    assert norm(f"TOOL C: {tool.title}") == norm(tool_c().split("\n\n")[0])
    codes = re.findall(r"^(\d[a-c]\d)\.", tool_c(), re.MULTILINE)
    assert len(codes) == 37
    assert [e.code for e in tool.elements()] == codes
    for group in tool.groups:
        assert {e.code[:2].upper() for e in group.elements} == {group.code}
    assert [level.name for level in tool.levels] == TOOL_C_LEVELS
    assert [level.level for level in tool.levels] == [1, 2, 3, 4]


def test_tool_c_elements_are_the_seeds_cells_in_order():
    """An element's description (after its code) and its four descriptors are five cells of
    the seed's table, one after the other."""
    cells = tool_c_cells()
    after = -1
    for e in instrument("tool-c").elements():
        assert e.rating is Rating.LEVEL
        row = [norm(f"{e.code}. {e.text}"), *map(norm, e.levels)]
        assert row[0] in cells, e.code
        start = cells.index(row[0])
        assert start > after, e.code
        assert cells[start : start + 5] == row, e.code
        after = start


def test_ilt_has_the_five_essentials_in_seed_order():
    tool = instrument("ilt-continuum")
    rows = ilt_rows()
    names = [re.match(r"([A-Z ]+?) The extent to which", row[0])[1] for row in rows]
    assert names == ["COMMON UNDERSTANDING", "COMMON EXPERIENCE", "ENGAGEMENT",
                     "CONDITIONS OF SCHOOL CULTURE", "EFFECTIVENESS"]  # fmt: skip
    assert [(g.code, g.title) for g in tool.groups] == [("ilt", "Essentials of an ILT")]
    for e, row in zip(tool.elements(), rows, strict=True):
        assert e.code == e.name.lower().replace(" ", "-")
        assert e.text.startswith("The extent to which ")
        assert " ".join(row[0].split()) == f"{e.name.upper()} {e.text} ({e.question})"
        assert [norm(cell) for cell in row[1:]] == [norm(level) for level in e.levels], e.code
    assert [level.level for level in tool.levels] == [1, 2, 3, 4]
    assert tool.levels[-1].name.endswith("Exemplary Practice")
    assert "Exemplary Practice" in seed(ILT_SEED)


def test_blt_has_the_six_characteristics_and_their_bullets():
    tool = instrument("blt-characteristics")
    characteristics = blt_characteristics()
    assert [(g.code, g.title) for g in tool.groups] == [(n, t) for n, t, _ in characteristics]
    assert not tool.levels
    for group, (number, _, bullets) in zip(tool.groups, characteristics, strict=True):
        assert group.practice is None
        codes = [f"{number}.{i}" for i in range(1, len(bullets) + 1)]
        assert [e.code for e in group.elements] == codes
        assert [e.text for e in group.elements] == bullets


def test_blt_percent_elements_are_the_seeds_75_percent_bullets():
    tool = instrument("blt-characteristics")
    percent = [e for e in tool.elements() if e.rating is Rating.PERCENT]
    assert len(percent) == len(re.findall(r"\b75%", seed(BLT_SEED))) == 9
    assert all("75%" in e.text and e.threshold == 75 for e in percent)
    others = [e for e in tool.elements() if e.rating is not Rating.PERCENT]
    assert all(e.rating is Rating.MET and e.threshold is None for e in others)
    assert not any("75%" in e.text for e in others)
