"""The `spn` command's output when its reader goes away (no stack needed)."""

from __future__ import annotations

import os
import sys

import pytest

from spn.cli.main import main
from tests.e2e.conftest import EXAMPLES


def test_a_reader_that_goes_away_ends_the_command_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """As `spn ... | head` does once head has its lines: every write fails (EPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", buffering=1) as gone:
        monkeypatch.setattr(sys, "stdout", gone)
        code = main(["plan", "validate", *map(str, sorted((EXAMPLES / "plans").glob("*.yaml")))])
    assert code == 141
    assert capsys.readouterr().err == ""
