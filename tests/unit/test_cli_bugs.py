"""A bug in the CLI is one line on stderr, never a traceback; the traceback is kept in the
data directory (secrets hidden), to send with a report."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from spn.cli import main as cli_main


def test_a_bug_is_one_line_and_its_traceback_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):  # fmt: skip
    def broken(args: argparse.Namespace, settings: object) -> int:
        secret = "postgresql://spn:hunter2@db.example/spn"
        raise TypeError(f"'NoneType' object is not subscriptable near {secret}")

    monkeypatch.setenv("SPN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SPN_DEBUG", raising=False)
    monkeypatch.setattr(cli_main.commands, "plan_list", broken)
    assert cli_main.main(["plan", "list"]) == 1
    line = capsys.readouterr().err
    kept = tmp_path / "logs" / "cli-errors.log"
    assert line.count("\n") == 1 and "Traceback" not in line, line
    assert "unexpected TypeError" in line and str(kept.resolve()) in line
    assert "hunter2" not in line
    text = kept.read_text()
    assert "spn plan list" in text and "Traceback" in text and "in broken" in text
    assert "hunter2" not in text and "spn:***@db.example" in text
