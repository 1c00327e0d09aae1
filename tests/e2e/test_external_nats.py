"""An external NATS with spn's users: `spn nats users` writes them to a file the server's
configuration includes; `spn up` with SPN_NATS_URL and SPN_NATS_AUTH_FILE gives each
service its own credential and the CLI the operator's; anonymous clients are refused, an
organization's credential (taken when the server reloads) keeps to its own inbox, and a
service's to its own events."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from contracts import status as st
from services.shared.credentials import read_credential
from spn.stack.nats_server import JETSTREAM_CONFIG, free_port, nats_server_binary, port_open
from tests.e2e.conftest import EXAMPLES, Cli, running, stack_env

SCHOOL, OTHER = "lakeview-high", "riverside-high"


@pytest.fixture
def external(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A NATS server as an operator would run it: its own config, which includes the users
    spn wrote (``spn nats users`` first, as the README says)."""
    directory = tmp_path / "external-nats"
    directory.mkdir()
    users = directory / "spn-users.conf"
    made = Cli(stack_env(tmp_path / "data")).run("nats", "users", "--out", str(users), "--json")
    assert made.returncode == 0, made.stderr
    shown = json.loads(made.stdout)
    assert "spn-admin" in shown["users"] and "svc-plans" in shown["users"]
    assert "password" not in made.stdout and os.stat(users).st_mode & 0o077 == 0
    config = directory / "nats.conf"
    config.write_text(JETSTREAM_CONFIG.format(store_dir=json.dumps(str(directory / "js")))
                      + 'include "spn-users.conf"\n')  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [nats_server_binary(), "--config", str(config), "--addr", "127.0.0.1",
         "--port", str(port), "--log", str(directory / "nats.log")],
        stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not port_open("127.0.0.1", port):
        assert server.poll() is None and time.monotonic() < deadline, "nats-server did not start"
        time.sleep(0.05)
    try:
        yield f"nats://127.0.0.1:{port}", users, server
    finally:
        server.terminate()
        server.wait(timeout=10)


async def attempt(url: str, credential: Path | None, work: Any) -> Any:
    nc = await nats.connect(url, allow_reconnect=False, connect_timeout=3,
                            **(read_credential(credential).options() if credential else {}))
    try:
        return await work(nc.jetstream(timeout=3))
    finally:
        await nc.close()


async def published(url: str, credential: Path, subject: str, body: bytes) -> str:
    async def publish(js: Any) -> str:
        try:
            await js.publish(subject, body)
            return "accepted"
        except (nats.errors.Error, TimeoutError) as error:
            return type(error).__name__

    return str(await attempt(url, credential, publish))


def report(org: str) -> bytes:
    return json.dumps({
        "report_id": f"{org}-ext", "plan": f"{org}/2026-27", "action": "1.1.1.1",
        "period": "2026-09", "status": "in_progress",
        "reporter": {"name": "Pat", "organization": org},
    }).encode()  # fmt: skip


def test_an_external_nats_gets_spn_users_and_each_keeps_to_its_own(
    tmp_path: Path, external: tuple[str, Path, subprocess.Popen[bytes]]
):
    url, users, server = external
    env = dict(stack_env(tmp_path / "data"), SPN_NATS_URL=url, SPN_NATS_AUTH_FILE=str(users))
    output: list[str] = []
    with running(["up"], env, output) as cli:
        imported = cli.run("org", "import", str(EXAMPLES / "organizations.yaml"))
        assert imported.returncode == 0, imported.stderr  # the CLI: the operator's file
        with pytest.raises(nats.errors.Error):
            asyncio.run(attempt(url, None, lambda js: js.stream_info("SPN_EVENTS")))
        made = cli.run("org", "credentials", SCHOOL, "--json")
        assert made.returncode == 0, made.stderr
        shown = json.loads(made.stdout)
        assert shown["nats_reloaded"] is False  # the external server is its operator's
        school = Path(shown["file"])
        os.kill(server.pid, signal.SIGHUP)  # as its operator would (nats-server --signal)
        deadline = time.monotonic() + 20
        while True:
            try:
                own = asyncio.run(published(url, school, st.inbox_subject("spn", SCHOOL),
                                            report(SCHOOL)))  # fmt: skip
            except (nats.errors.Error, OSError):  # not reloaded yet: refused, or cut off
                own = "refused"
            # JetStream's API answers nothing for a moment while the server reloads
            # (nats-server#1736): a client retries a publish that was not acknowledged.
            if own not in ("refused", "TimeoutError") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert own == "accepted"
        other = asyncio.run(published(url, school, st.inbox_subject("spn", OTHER),
                                      report(OTHER)))  # fmt: skip
        assert other != "accepted"
        service = Path(env["SPN_DATA_DIR"]) / "credentials" / "svc-rollup.json"
        forged = asyncio.run(published(url, service, "spn.evt.plans.plan.approved", b"{}"))
        assert forged != "accepted"
    assert any("NATS users as in" in line for line in output), "".join(output)
