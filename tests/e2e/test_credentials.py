"""Who may do what on the embedded NATS of `spn up`: anonymous clients are refused; a
school's credential reports to its own inbox and acts as itself only (another school's
inbox, approving for its LEA, a body naming another organization: refused); the
operator's (the CLI's by default) does everything."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import nats
import nats.errors
import pytest

from contracts import plan_commands as cmd
from contracts import status as st
from contracts.subjects import subject
from services.plans.domain.ids import plan_id
from services.shared.credentials import read_credential
from tests.e2e.conftest import EXAMPLES, Cli

SCHOOL, OTHER, LEA = "lakeview-high", "riverside-high", "lakeview-sd"
KEY = f"{SCHOOL}/2026-27"


def url(cli: Cli) -> str:
    return f"nats://127.0.0.1:{cli.env['SPN_NATS_PORT']}"


def credential_of(cli: Cli, org: str) -> Path:
    made = cli.run("org", "credentials", org, "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    shown = json.loads(made.stdout)
    assert shown["nats_reloaded"] and "password" not in made.stdout
    return Path(shown["file"])


async def as_user(cli: Cli, path: Path, work: Any) -> Any:
    refused: list[str] = []

    async def on_error(error: Exception) -> None:
        refused.append(str(error))

    nc = await nats.connect(url(cli), error_cb=on_error, **read_credential(path).options())
    try:
        return await work(nc, refused)
    finally:
        await nc.close()


async def inbox_count(cli: Cli) -> int:
    operator = Path(cli.env["SPN_DATA_DIR"]) / "credentials" / "spn-admin.json"

    async def count(nc: Any, _: list[str]) -> int:
        info = await nc.jetstream().stream_info(st.inbox_stream("spn"))
        return int(info.state.messages)

    return int(await as_user(cli, operator, count))


def report(org: str, report_id: str) -> bytes:
    return json.dumps({
        "report_id": report_id, "plan": f"{org}/2026-27", "action": "1.1.1.1",
        "period": "2026-09", "status": "in_progress",
        "reporter": {"name": "Pat", "organization": org},
    }).encode()  # fmt: skip


@pytest.fixture(scope="module")
def network(running_stack: Cli) -> Cli:
    cli = running_stack
    assert cli.run("org", "import", str(EXAMPLES / "organizations.yaml")).returncode == 0
    assert cli.run("plan", "import", str(EXAMPLES / "plans" / f"{SCHOOL}.yaml")).returncode == 0
    assert cli.run("plan", "submit", KEY).returncode == 0
    return cli


def test_anonymous_clients_are_refused(network: Cli, tmp_path: Path):
    async def anonymous() -> None:
        await nats.connect(url(network), allow_reconnect=False, max_reconnect_attempts=1,
                           connect_timeout=2)  # fmt: skip

    with pytest.raises(nats.errors.Error):
        asyncio.run(anonymous())
    elsewhere = dict(network.env, SPN_DATA_DIR=str(tmp_path / "no-credentials"))
    listed = Cli(elsewhere).run("org", "list")  # the same server, no credential
    assert listed.returncode == 4 and "refused the connection" in listed.stderr, listed.stderr


def test_a_school_reports_to_its_own_inbox_only_and_acts_only_as_itself(network: Cli):
    school = credential_of(network, SCHOOL)
    assert os.stat(school).st_mode & 0o077 == 0  # only its owner reads it
    before = asyncio.run(inbox_count(network))

    async def hostile(nc: Any, refused: list[str]) -> dict[str, Any]:
        js = nc.jetstream(timeout=3)
        found: dict[str, Any] = {}
        try:  # another school's inbox
            await js.publish(st.inbox_subject("spn", OTHER), report(OTHER, "forged"))
            found["other_inbox"] = "accepted"
        except (nats.errors.Error, TimeoutError) as error:
            found["other_inbox"] = type(error).__name__
        approve = cmd.ApprovePlan(plan=KEY, organization=LEA, by="Mallory")
        try:  # as its LEA, on the LEA's subject
            await nc.request(subject("spn", f"{approve.SUBJECT}.{LEA}"), approve.to_json(),
                             timeout=3)  # fmt: skip
            found["as_lea"] = "answered"
        except (nats.errors.Error, TimeoutError) as error:
            found["as_lea"] = type(error).__name__
        on_own = await nc.request(subject("spn", f"{approve.SUBJECT}.{SCHOOL}"),
                                  approve.to_json(), timeout=10)  # fmt: skip
        found["lea_body_on_own_subject"] = json.loads(on_own.data)["error"]["code"]
        itself = cmd.ApprovePlan(plan=KEY, organization=SCHOOL, by="Mallory")
        own = await nc.request(subject("spn", f"{itself.SUBJECT}.{SCHOOL}"), itself.to_json(),
                               timeout=10)  # fmt: skip
        found["approve_itself"] = json.loads(own.data)["error"]["code"]
        await js.publish(st.inbox_subject("spn", SCHOOL), report(SCHOOL, "own-report"))
        found["own_inbox"] = "accepted"
        before = len(refused)
        await nc.subscribe("_INBOX.>")  # everyone's replies: refused
        for _ in range(50):  # until the server's -ERR has come (within 5 s)
            await nc.flush()
            if len(refused) > before:
                break
            await asyncio.sleep(0.1)
        found["everyone_s_replies"] = refused[before:]
        found["refused"] = refused
        return found

    found = asyncio.run(as_user(network, school, hostile))
    assert found["other_inbox"] != "accepted" and found["as_lea"] != "answered", found
    assert any("permissions violation" in r.lower() for r in found["refused"]), found
    assert found["lea_body_on_own_subject"] == "not_authorized"  # the subject is who acts
    assert found["approve_itself"] == "not_authorized"  # a school approves no plan
    assert found["own_inbox"] == "accepted"
    assert any("permissions violation" in r.lower() for r in found["everyone_s_replies"])
    assert asyncio.run(inbox_count(network)) == before + 1  # only its own report
    shown = network.run("plan", "show", KEY, "--json")
    assert json.loads(shown.stdout)["summary"]["status"] == "submitted"  # not approved


def test_the_cli_with_a_school_credential_acts_as_that_school(network: Cli):
    school = Cli(dict(network.env, SPN_NATS_CREDENTIALS=str(credential_of(network, SCHOOL))))
    as_lea = school.run("plan", "approve", KEY, "--as", LEA)
    assert as_lea.returncode == 2 and f"this credential is {SCHOOL}'s" in as_lea.stderr
    listed = school.run("plan", "list", "--json")  # its own plans
    assert listed.returncode == 0, listed.stderr
    approved = network.run("plan", "approve", KEY, "--as", LEA)  # the operator may
    assert approved.returncode == 0, approved.stderr


def test_a_service_credential_does_only_what_the_service_needs(network: Cli):
    """The rollup's own credential: it reads the events stream, but cannot forge the plans
    service's events, report into an inbox, purge, delete or change a stream, or listen to
    another service's commands or to everyone's replies."""
    rollup = Path(network.env["SPN_DATA_DIR"]) / "credentials" / "svc-rollup.json"
    assert read_credential(rollup).inbox_prefix == "_INBOX_svc-rollup"

    async def attempts(nc: Any, refused: list[str]) -> dict[str, str]:
        js = nc.jetstream(timeout=3)
        events = "SPN_EVENTS"
        found: dict[str, str] = {}
        info = await js.stream_info(events)
        found["stream_info"] = "answered"

        async def tried(name: str, call: Any) -> None:
            try:
                await call()
                found[name] = "done"
            except (nats.errors.Error, TimeoutError) as error:
                found[name] = type(error).__name__

        await tried("forged_plans_event", lambda: js.publish(
            "spn.evt.plans.plan.approved", b"{}", headers={"Nats-Msg-Id": "plans:999999"}))
        await tried("into_an_inbox", lambda: js.publish(
            st.inbox_subject("spn", SCHOOL), report(SCHOOL, "by-a-service")))
        await tried("purge", lambda: js.purge_stream(events))
        await tried("delete", lambda: js.delete_stream(events))
        info.config.max_msgs = 1  # a retention limit would throw events away
        await tried("update", lambda: js.update_stream(info.config))
        before = len(refused)
        await nc.subscribe("spn.cmd.plans.>")
        await nc.subscribe("_INBOX.>")
        for _ in range(50):  # until the server's two -ERRs have come
            await nc.flush()
            if len(refused) >= before + 2:
                break
            await asyncio.sleep(0.1)
        found["subscriptions_refused"] = str(len(refused) - before)
        return found

    found = asyncio.run(as_user(network, rollup, attempts))
    assert found.pop("stream_info") == "answered"
    assert found.pop("subscriptions_refused") == "2", found
    assert all(outcome != "done" for outcome in found.values()), found
    assert asyncio.run(stream_state(network))[0] > 0  # still there, and not cut

def as_org(cli: Cli, org: str) -> Cli:
    """The CLI with the organization's credential."""
    return Cli(dict(cli.env, SPN_NATS_CREDENTIALS=str(credential_of(cli, org))))


def keys(cli: Cli) -> set[str]:
    listed = cli.run("plan", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {p["key"] for p in json.loads(listed.stdout)["plans"]}


def codes(cli: Cli) -> set[str]:
    listed = cli.run("org", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    return {o["code"] for o in json.loads(listed.stdout)["organizations"]}


def refused_for(cli: Cli, *args: str) -> str:
    """The CLI's one line when the service refuses the asker."""
    found = cli.run(*args)
    assert found.returncode == 1 and "refused (not_authorized)" in found.stderr, (
        args, found.stdout, found.stderr)  # fmt: skip
    return found.stderr


def until_answered(cli: Cli, *args: str, timeout: float = 60) -> dict[str, Any]:
    """The command's JSON once it succeeds (the status service adopts a plan shortly
    after its approval)."""
    deadline = time.monotonic() + timeout
    while True:
        found = cli.run(*args, "--json")
        if found.returncode == 0:
            return dict(json.loads(found.stdout))
        assert "not_authorized" not in found.stderr, found.stderr
        assert time.monotonic() < deadline, found.stderr
        time.sleep(0.5)


def test_an_organization_sees_only_itself_and_what_is_beneath_it(network: Cli):
    """A school sees its own plan and figures, not another school's (by key or by id); its
    LEA sees its schools' but not another district's; the bare query subjects, which
    see everything, are the operator's."""
    other_key = f"{OTHER}/2026-27"
    imported = network.run("plan", "import", str(EXAMPLES / "plans" / f"{OTHER}.yaml"))
    assert imported.returncode == 0, imported.stderr
    assert network.run("plan", "approve", KEY, "--as", LEA).returncode == 0  # (again: no-op)
    school, lea = as_org(network, SCHOOL), as_org(network, LEA)

    assert keys(school) == {KEY}
    assert KEY in keys(lea) and other_key not in keys(lea)
    assert {KEY, other_key} <= keys(network)  # the operator: everything
    assert codes(school) == {SCHOOL}
    assert {LEA, SCHOOL} <= codes(lea) and not {OTHER, "riverside-usd"} & codes(lea)
    assert school.run("plan", "show", KEY, "--json").returncode == 0
    line = refused_for(school, "plan", "show", other_key)
    assert f"plan {other_key} is not of {SCHOOL} or an organization beneath it" in line
    refused_for(school, "plan", "show", str(plan_id(OTHER, "2026-27")))  # by its id
    refused_for(lea, "plan", "show", other_key)
    refused_for(school, "plan", "list", "--org", OTHER)
    refused_for(school, "flags", "--org", OTHER)
    refused_for(school, "alerts", "list", "--org", LEA)  # not even its own district's
    refused_for(school, "supports", "list", "--org", OTHER)
    refused_for(school, "rollup", "--org", "riverside-usd")
    for ref in (other_key, "riverside-high/2031-32"):  # another's, and none: the same words
        line = refused_for(lea, "plan", "approve", ref, "--as", LEA)
        assert f"plan {ref} is not of {LEA} or an organization beneath it" in line, line
    assert "no message or alert only about" in refused_for(school, "alerts", "show",
                                                           str(uuid4()))  # fmt: skip
    progress = until_answered(lea, "plan", "progress", KEY)  # status: its school's, known
    assert progress["key"] == KEY
    refused_for(school, "plan", "progress", other_key)
    refused_for(lea, "plan", "history", other_key)
    history = school.run("history", other_key)  # every service's part: each refuses
    assert history.returncode != 0 and "not_authorized" in history.stderr + history.stdout

    async def bare(nc: Any, refused: list[str]) -> str:
        asked = cmd.GetPlan(plan=other_key)
        try:
            await nc.request(subject("spn", asked.SUBJECT), asked.to_json(), timeout=3)
            return "answered"
        except (nats.errors.Error, TimeoutError):
            await nc.flush()
            return " ".join(refused)

    found = asyncio.run(as_user(network, credential_of(network, SCHOOL), bare))
    assert "permissions violation" in found.lower(), found


def test_a_schools_report_ids_are_its_own(network: Cli, tmp_path: Path):
    """Another school sends, first, a report with the same id, under the message id the CLI
    once sent for this school's: the school's own report is still taken, and each school
    sees the outcome of its own report only."""
    rid = f"shared-{uuid4().hex[:8]}"
    assert network.run("plan", "approve", KEY, "--as", LEA).returncode == 0  # (or already)

    async def first(nc: Any, _: list[str]) -> None:
        js = nc.jetstream(timeout=5)
        await js.publish(st.inbox_subject("spn", OTHER), report(OTHER, rid),
                         headers={"Nats-Msg-Id": f"{SCHOOL}:{rid}"})  # fmt: skip

    asyncio.run(as_user(network, credential_of(network, OTHER), first))
    sheet = tmp_path / "sheet.json"
    sheet.write_text(json.dumps([{"report_id": rid, "plan": KEY, "action": "1.1.1.1",
                                  "period": "2026-10", "status": "in_progress"}]))  # fmt: skip
    school = as_org(network, SCHOOL)
    until_answered(school, "plan", "progress", KEY)  # adopted by status
    sent = school.run("report", "submit", str(sheet), "--timeout", "60")
    assert sent.returncode == 0, sent.stdout + sent.stderr

    async def outcome(nc: Any, _: list[str], org: str) -> str:
        asked = st.GetReportOutcomes(report_ids=[rid])
        reply = await nc.request(subject("spn", f"{asked.SUBJECT}.{org}"), asked.to_json(),
                                 timeout=10)  # fmt: skip
        return str(json.loads(reply.data)["result"]["outcomes"][0]["outcome"])

    def outcome_of(org: str) -> str:
        return str(asyncio.run(as_user(network, credential_of(network, org),
                                       lambda nc, r: outcome(nc, r, org))))  # fmt: skip

    assert outcome_of(SCHOOL) == "recorded"
    assert outcome_of(LEA) == "recorded"  # its school's
    assert outcome_of(OTHER) == "parked"  # its own, whose plan is not approved: not the other's
    assert outcome_of("riverside-usd") == "parked"


async def stream_state(cli: Cli) -> tuple[int, int | None]:
    operator = Path(cli.env["SPN_DATA_DIR"]) / "credentials" / "spn-admin.json"

    async def state(nc: Any, _: list[str]) -> tuple[int, int | None]:
        info = await nc.jetstream().stream_info("SPN_EVENTS")
        return int(info.state.messages), info.config.max_msgs

    found = await as_user(cli, operator, state)
    assert found[1] in (None, -1, 0), found
    return found
