"""A backup's manifest is checked before anything is restored: its format, every file
against its checksum, the fields a restore needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spn.stack.backup import FORMAT, BackupError, read_manifest, sha256


def backup(tmp_path: Path, **changes: object) -> Path:
    dump = tmp_path / "postgres.dump"
    dump.write_bytes(b"dump")
    manifest = {"format": FORMAT, "namespace": "spn", "db_schema": "public",
                "taken_at": "2026-12-01T00:00:00+00:00", "kept": [], "streams": [],
                "postgres": {"file": dump.name, "sha256": sha256(dump)}}  # fmt: skip
    manifest.update(changes)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def test_a_whole_backup_reads(tmp_path: Path):
    assert read_manifest(backup(tmp_path))["namespace"] == "spn"


@pytest.mark.parametrize(("changes", "expected"), [
    ({"format": 9}, "backup format 9, this spn reads 1"),
    ({"postgres": {"file": "postgres.dump", "sha256": "0" * 64}}, "not the file backed up"),
    ({"postgres": {"file": "gone.dump", "sha256": "0" * 64}}, "is missing"),
    ({"streams": [{"name": "SPN_EVENTS"}]}, "is not a backup's manifest (no 'file')"),
])  # fmt: skip
def test_a_damaged_backup_is_refused_naming_what(tmp_path: Path, changes: dict, expected: str):
    path = backup(tmp_path, **changes)
    with pytest.raises(BackupError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read_manifest(path)


def test_a_manifest_without_a_field_a_restore_needs_is_refused(tmp_path: Path):
    path = backup(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["db_schema"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="no 'db_schema'"):
        read_manifest(path)
