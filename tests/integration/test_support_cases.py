"""Responsive supports up the chain, on real NATS and PostgreSQL (figures by hand).

River LEA has three schools (oak, elm, ash) and a plan of its own. Each plan: 4 strategies,
1.1 3B, 1.2 1A, 2.1 2B, 2.2 4C, each one milestone with actions x.x.1.1 (due 2026-10-31) and
x.x.1.2 (due 2027-03-31).

October: every school completes 1.1.1.1, 1.2.1.1 and 2.1.1.1 on time but not 2.2.1.1:
1 of 4 due actions behind = 25% -> "behind" on strategy 2.2 (4C) -> a case for each
school with river-lea; three schools waning on 4C -> river-lea's 4C case with the SEA.
River-lea's own plan reports nothing -> "behind" (4 of 4) and "silent" -> its case with the SEA.

Supports in January 2027: river-lea on oak's and elm's cases; the SEA on river-lea's 4C.
March: oak completes its four x.x.1.2 actions on time; elm and ash nothing. At the March
close (two closes after January):
- oak: on time 3/4 = 75.0% in January -> 7/8 = 87.5% in March: effective (>= 75%);
- elm: 75.0% -> 3/8 = 37.5%: ineffective -> escalated: a new case of elm with the SEA;
- river-lea 4C (its schools' 2.2 strategies): 0 of 3 on time (0.0%) in January -> 1 of 6
  (16.7%) in March: rose 16.7 points >= 10: effective.
"""

from __future__ import annotations

import pytest

from contracts import status as st
from contracts.rollup import GetRollup, ListSupportCases, ProvideSupport
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from tests.factories import plan_document
from tests.integration import network
from tests.integration.test_status_service import all_decided, publish, until

SCHOOLS = ("oak-school", "elm-school", "ash-school")


async def network_of_river(client: SpnClient) -> None:
    await network.register(client, SCHOOLS)
    for code, approver in [(s, "river-lea") for s in SCHOOLS] + [("river-lea", "state-sea")]:
        key = await network.approve(client, plan_document(code), approver)
        await network.known_to_status(client, key)


def done(school: str, action: str, on: str) -> dict:
    return {
        "report_id": f"{school}-{action}", "plan": f"{school}/2026-27", "action": action,
        "period": on[:7], "status": "complete", "completed_on": on,
        "reporter": {"name": "Pat", "organization": school},
    }  # fmt: skip


async def report_and_wait(client, nats_url, namespace, reports: list[dict]) -> None:
    for school in {r["reporter"]["organization"] for r in reports}:
        mine = [r for r in reports if r["reporter"]["organization"] == school]
        await publish(nats_url, namespace, mine, organization=school)
    assert await until(lambda: all_decided(client, *[r["report_id"] for r in reports]))


async def cases(client: SpnClient) -> dict[tuple[str, str, str | None], dict]:
    listed = (await client.request(ListSupportCases()))["cases"]
    return {(c["recipient"], c["addressed_to"], c["practice"]): c for c in listed}


async def cases_when(client: SpnClient, condition) -> dict:
    async def check():
        found = await cases(client)
        return found if condition(found) else None

    found = await until(check, timeout=30)
    assert found, await cases(client)
    return found


async def close(client: SpnClient, period: str) -> None:
    await client.request(st.ClosePeriod(period=period, early=True))


async def test_supports_are_opened_given_judged_and_escalated(
    client, plans_service, status_service, rollup_service, nats_url, namespace
):
    await network_of_river(client)
    october = [done(s, f"{n}.1.1", "2026-10-20") for s in SCHOOLS for n in ("1.1", "1.2", "2.1")]
    await report_and_wait(client, nats_url, namespace, october)
    await close(client, "2026-10")

    opened = await cases_when(client, lambda found: len(found) == 5)
    assert sorted(opened, key=lambda k: (k[0], k[1], k[2] or "")) == [
        ("ash-school", "river-lea", None),
        ("elm-school", "river-lea", None),
        ("oak-school", "river-lea", None),
        ("river-lea", "state-sea", None),
        ("river-lea", "state-sea", "4C"),
    ]
    assert opened[("oak-school", "river-lea", None)]["practices"] == ["4C"]
    assert opened[("river-lea", "state-sea", None)]["reasons"] == ["behind", "silent"]
    assert opened[("river-lea", "state-sea", "4C")]["reasons"] == [
        "3 schools waning on 4C: ash-school, elm-school, oak-school"
    ]

    def provide(key, provider: str, on: str) -> ProvideSupport:
        what = "Coaching on family engagement portfolios"
        case_id = opened[key]["case_id"]
        return ProvideSupport(case_id=case_id, provider=provider, on=on, what=what, by="Sam")

    with pytest.raises(RefusedError, match="addressed to river-lea; elm-school cannot"):
        await client.request(provide(("elm-school", "river-lea", None), "elm-school", "2027-01-10"))
    with pytest.raises(RefusedError, match=r"support_case.*after plan year 2026-27 of oak-school"):
        await client.request(provide(("oak-school", "river-lea", None), "river-lea", "2027-07-01"))
    await client.request(provide(("oak-school", "river-lea", None), "river-lea", "2027-01-10"))
    await client.request(provide(("elm-school", "river-lea", None), "river-lea", "2027-01-10"))
    await client.request(provide(("river-lea", "state-sea", "4C"), "state-sea", "2027-01-12"))

    for period in ("2026-11", "2026-12", "2027-01", "2027-02"):
        await close(client, period)
    march = [done("oak-school", f"{n}.1.2", "2027-03-20") for n in ("1.1", "1.2", "2.1", "2.2")]
    await report_and_wait(client, nats_url, namespace, march)
    await close(client, "2027-03")

    judged = await cases_when(
        client, lambda found: ("elm-school", "state-sea", None) in found
        and found[("river-lea", "state-sea", "4C")]["status"] != "supported"
        and found[("oak-school", "river-lea", None)]["status"] != "supported",
    )  # fmt: skip
    oak = judged[("oak-school", "river-lea", None)]
    assert (oak["status"], oak["judgment"]["on_time_before"], oak["judgment"]["on_time_after"]) == (
        "resolved", 75.0, 87.5
    )  # fmt: skip
    elm = judged[("elm-school", "river-lea", None)]
    assert (elm["status"], elm["escalated_to"]) == ("escalated", "state-sea")
    assert (elm["judgment"]["effective"], elm["judgment"]["on_time_after"]) == (False, 37.5)
    upward = judged[("elm-school", "state-sea", None)]
    assert (upward["status"], upward["escalated_from"], upward["opened"]) == (
        "open", elm["case_id"], "2027-03"
    )  # fmt: skip
    lea_4c = judged[("river-lea", "state-sea", "4C")]
    assert (lea_4c["status"], lea_4c["judgment"]["on_time_before"]) == ("resolved", 0.0)
    assert lea_4c["judgment"]["on_time_after"] == 16.7
    assert judged[("ash-school", "river-lea", None)]["status"] == "open"

    # elm still wanes at the next close: its case is with the SEA now, and the LEA level it
    # was escalated from gets no second case while the escalated one is active
    await close(client, "2027-04")

    async def judged_april() -> bool:
        return bool((await client.request(GetRollup(period="2027-04")))["judged"])

    assert await until(judged_april, timeout=30)
    listed = (await client.request(ListSupportCases()))["cases"]
    elm_cases = [(c["addressed_to"], c["opened"]) for c in listed if c["recipient"] == "elm-school"]
    assert sorted(elm_cases) == [("river-lea", "2026-10"), ("state-sea", "2027-03")]
