"""No secret shown anywhere: after `spn up` with a password-bearing database URL, a few
commands (one refused, one failing), every /health and /metrics, and a stop, neither the
database password nor any NATS password is in the output, the logs, the endpoints or the
error messages; and an unreachable database is named, without its password."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from spn.stack.nats_server import free_port
from tests.e2e.conftest import EXAMPLES, SPN, running, stack_env

pytestmark = pytest.mark.slow
SERVICES = ("plans", "status", "rollup", "alerts")


def role_with_password(database_url: str) -> tuple[str, str]:
    """A login role with a password and a database of its own; its URL and the password."""
    name, password = f"leaky_{uuid4().hex[:8]}", f"Pw-{uuid4().hex}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(name), sql.Literal(password)))  # fmt: skip
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(name)))  # fmt: skip
    host = psycopg.conninfo.conninfo_to_dict(database_url).get("host", "")
    return f"postgresql://{name}:{password}@/{name}?host={quote(str(host))}", password


def nats_passwords(data_dir: Path) -> list[str]:
    return [json.loads(p.read_text())["password"]
            for p in (data_dir / "credentials").glob("*.json")]  # fmt: skip


def endpoints_and_output(env: dict[str, str], texts: list[str]) -> str:
    """The output given, and each service's /health and /metrics."""
    shown = list(texts)
    for service in SERVICES:
        port = env[f"SPN_{service.upper()}_HTTP_PORT"]
        for path in ("health", "metrics"):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}", timeout=5) as r:
                    shown.append(r.read().decode())
            except urllib.error.HTTPError as error:  # an unhealthy service still answers
                shown.append(error.read().decode())
    return "\n".join(shown)


def logs(data_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (data_dir / "logs").glob("*.log"))


def test_no_password_or_credential_in_output_logs_endpoints_or_errors(
    tmp_path: Path, database_url: str
):
    url, password = role_with_password(database_url)
    data_dir = tmp_path / "data"
    env = stack_env(data_dir) | {"SPN_DATABASE_URL": url}
    printed: list[str] = []
    with running(["up"], env, printed) as cli:
        runs = [
            cli.run("org", "import", str(EXAMPLES / "organizations.yaml")),
            cli.run("plan", "approve", "nowhere/2026-27", "--as", "nobody"),  # refused
            cli.run("plan", "import", str(tmp_path / "missing.yaml")),  # a bad input
        ]
        assert runs[0].returncode == 0, runs[0].stderr
        assert runs[1].returncode != 0 and runs[2].returncode == 2
        shown = endpoints_and_output(env, [r.stdout + r.stderr for r in runs])
    shown += "".join(printed) + logs(data_dir)  # the logs once stopped: the stop's lines too
    assert "***" in "".join(printed)  # the banner showed the URL, redacted
    secrets = [password, *nats_passwords(data_dir)]
    assert len(secrets) >= 6  # the database's, the operator's and each service's
    leaked = [s for s in secrets if s in shown]
    assert leaked == [], "a secret was shown"


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path):
    password = f"Pw-{uuid4().hex}"
    url = f"postgresql://spn:{password}@127.0.0.1:{free_port()}/spn"
    env = stack_env(tmp_path / "data") | {"SPN_DATABASE_URL": url, "SPN_STARTUP_TIMEOUT": "20"}
    up = subprocess.run([SPN, "up"], env=env, capture_output=True, text=True, timeout=120)
    shown = up.stdout + up.stderr + "".join(
        p.read_text(errors="replace") for p in (tmp_path / "data" / "logs").glob("*.log"))
    assert up.returncode != 0
    assert "PostgreSQL" in shown and "127.0.0.1" in shown  # which database: named
    assert password not in shown
    assert "Traceback" not in up.stdout + up.stderr
