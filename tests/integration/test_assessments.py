"""Self-assessments on real NATS and PostgreSQL: the sample network's, recorded through the
plans service's command, relayed on the events stream, read back with the change since the
year before, shown beside a plan, and counted by practice in the rollup (worked out by hand
below)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from contracts import assessments as asm
from contracts import plan_commands as cmd
from contracts import rebuild as rb
from contracts.rollup import GetRollup
from contracts.subjects import events_stream
from spn.cli.assess import load_assessments
from spn.cli.client import SpnClient
from spn.cli.errors import RefusedError
from spn.cli.files import load_network, load_plan
from tests.factories import assessment_document
from tests.integration import network
from tests.integration.helpers import stream_bodies
from tests.integration.test_status_service import until

EXAMPLES = Path(__file__).parents[2] / "examples" / "network"
SAMPLE = sorted((EXAMPLES / "assessments").glob("*.yaml"))


async def sample_network_assessed(client: SpnClient) -> list[dict]:
    for org in load_network(EXAMPLES / "organizations.yaml").organizations:
        await client.request(cmd.RegisterOrganization(organization=org))
    results = []
    for path in SAMPLE:
        for assessment in load_assessments(path):
            results.append(await client.request(asm.RecordAssessment(assessment=assessment,
                                                                     by="Dana")))  # fmt: skip
    return results


async def test_an_assessment_round_trips_and_a_year_later_shows_the_change(
    client, plans_service, nats_url, namespace
):
    results = await sample_network_assessed(client)
    assert [r["result"] for r in results] == ["recorded"] * len(SAMPLE)
    shown = await client.request(asm.ListAssessments(organization="lakeview-sd"))
    first, second = shown["assessments"]
    sent = load_assessments(EXAMPLES / "assessments" / "lakeview-sd-tool-c-2026-09-15.yaml")[0]
    assert asm.SelfAssessment.model_validate(second["assessment"]) == sent
    assert (first["key"], second["previous"]) == ("lakeview-sd/tool-c/2025-09-15",) * 2
    moved = {c["element"]: c["change"] for c in second["changes"] if c["change"]}
    # 2025: every element at 2 but 1B's at 1; 2026: 1A at 3, 1B 2/2/3, 3A 1/2/1
    assert moved == {"1a1": 1, "1a2": 1, "1a3": 1, "1a4": 1, "1a5": 1, "1b1": 1, "1b2": 1,
                     "1b3": 2, "3a1": -1, "3a3": -1}  # fmt: skip
    assert second["weakest"] == ["3A"] and first["weakest"] == ["1B"]
    again = await client.request(asm.RecordAssessment(assessment=sent, by="Dana"))
    assert (again["result"], again["changed"]) == ("unchanged", False)
    bodies = await until(lambda: _recorded(nats_url, namespace, len(SAMPLE)))
    assert sorted(json.loads(b)["key"] for b in bodies) == sorted(r["key"] for r in results)


async def _recorded(nats_url: str, namespace: str, count: int) -> list[bytes] | None:
    bodies = await stream_bodies(nats_url, events_stream(namespace),
                                 f"{namespace}.evt.plans.assessment.recorded")  # fmt: skip
    return bodies if len(bodies) >= count else None


async def test_a_plan_shows_its_organization_s_weakest_self_assessed_practices(
    client, plans_service
):
    await sample_network_assessed(client)
    await client.request(cmd.ImportPlan(plan=load_plan(EXAMPLES / "plans" / "lakeview-sd.yaml"),
                                        by="Dana"))  # fmt: skip
    next_year = asm.SelfAssessment.model_validate(assessment_document("lakeview-sd",
                                                                      on="2027-09-15"))  # fmt: skip
    await client.request(asm.RecordAssessment(assessment=next_year, by="Dana"))
    detail = await client.request(cmd.GetPlan(plan="lakeview-sd/2026-27"))
    (digest,) = detail["self_assessments"]  # its plan year's latest, not next year's
    assert (digest["key"], [(a["area"], a["mean"], a["level"]) for a in digest["weakest"]]) == (
        "lakeview-sd/tool-c/2026-09-15", [("3A", 1.33, 1)])
    latest = await client.request(asm.ListAssessments(organization="lakeview-sd", latest=1))
    assert [(v["key"], v["previous"]) for v in latest["assessments"]] == [
        ("lakeview-sd/tool-c/2027-09-15", "lakeview-sd/tool-c/2026-09-15")]
    then = await client.request(asm.ListAssessments(organization="lakeview-sd",
                                                    up_to=date(2026, 9, 14)))  # fmt: skip
    assert [v["key"] for v in then["assessments"]] == ["lakeview-sd/tool-c/2025-09-15"]
    that_day = await client.request(asm.ListAssessments(organization="lakeview-sd",
                                                        up_to=date(2026, 9, 15)))  # fmt: skip
    assert [v["key"] for v in that_day["assessments"]] == [  # on or before: the day itself
        "lakeview-sd/tool-c/2025-09-15", "lakeview-sd/tool-c/2026-09-15"]


async def test_an_assessment_that_does_not_fit_is_refused_by_name(client, plans_service):
    await sample_network_assessed(client)
    document = assessment_document("lakeview-sd", on="2026-10-01")
    document["ratings"][4]["level"] = 7
    refusal = re.escape("ratings.4.level: element 1a5 has levels 1 to 4")
    with pytest.raises(RefusedError, match=refusal):
        await client.request(asm.RecordAssessment(
            assessment=asm.SelfAssessment.model_validate(document), by="Dana"))  # fmt: skip
    shown = await client.request(asm.ListAssessments(organization="lakeview-sd",
                                                     instrument="tool-c"))  # fmt: skip
    assert len(shown["assessments"]) == 2


async def test_the_rollup_counts_the_self_assessed_levels_by_practice(
    client, plans_service, rollup_service
):
    """By hand, each LEA's latest Tool C (a practice's level: its elements' mean, rounded
    down). lakeview-sd 2026-09-15: 1A 3; 1B (2+2+3)/3 = 2.33 -> 2; 3A (1+2+1)/3 = 1.33
    -> 1; every other practice 2. riverside-usd 2026-09-20: 1A 4; 3A 2; 4C (1+1+2)/3 =
    1.33 -> 1; every other 3. lakeview-sd's 2025 one is not its latest. The SEA: 1A one
    at 3, one at 4; 3A one at 1, one at 2; 4C one at 1, one at 2; every other practice
    one at 2, one at 3. lakeview-sd alone: its own levels."""
    await sample_network_assessed(client)

    async def sea() -> dict | None:
        found = await client.request(GetRollup(organization="state-dept-ed"))
        return found if sum(a["organizations"] for a in found["self_assessed"]) == 24 else None

    report = await until(sea)
    assert report, "the rollup never took both LEAs' assessments"
    levels = {a["practice"]: a["levels"] for a in report["self_assessed"]}
    two_three = {"1": 0, "2": 1, "3": 1, "4": 0}
    assert levels == {
        "1A": {"1": 0, "2": 0, "3": 1, "4": 1}, "3A": {"1": 1, "2": 1, "3": 0, "4": 0},
        "4C": {"1": 1, "2": 1, "3": 0, "4": 0},
    } | {p: two_three for p in ("1B", "1C", "2A", "2B", "2C", "3B", "3C", "4A", "4B")}
    lakeview = await client.request(GetRollup(organization="lakeview-sd"))
    own = {a["practice"]: a["levels"] for a in lakeview["self_assessed"]}
    assert {p: [k for k, n in v.items() if n] for p, v in own.items()} == {
        "1A": ["3"], "3A": ["1"]} | {p: ["2"] for p in ("1B", "1C", "2A", "2B", "2C", "3B",
                                                      "3C", "4A", "4B", "4C")}  # fmt: skip
    assert all(a["organizations"] == 1 for a in lakeview["self_assessed"])


async def test_three_hundred_schools_assessed_are_counted_and_rebuilt_alike(
    client, plans_service, rollup_service
):
    """300 schools of one LEA, school i at level i % 4 + 1 on every element: each practice
    has 75 schools at each level, in the SEA's rollup and in each read model rebuilt."""
    schools = [f"scale-school-{i:03d}" for i in range(300)]
    await network.register(client, schools, lea="scale-lea", sea="scale-sea")
    for i, school in enumerate(schools):
        document = assessment_document(school, level=i % 4 + 1)
        await client.request(asm.RecordAssessment(
            assessment=asm.SelfAssessment.model_validate(document), by="Pat"))  # fmt: skip

    async def counted() -> dict | None:
        found = await client.request(GetRollup(organization="scale-sea"))
        return found if sum(a["organizations"] for a in found["self_assessed"]) == 3600 else None

    report = await until(counted, timeout=60)
    assert report, "the rollup never took the 300 assessments"
    assert len(report["self_assessed"]) == 12
    assert all(a["levels"] == {"1": 75, "2": 75, "3": 75, "4": 75}
               for a in report["self_assessed"])  # fmt: skip
    for service in ("plans", "rollup"):
        found = await client.request(rb.RebuildReadModels(verify=True), service, timeout=60)
        assert found["equal"] and not found["problems"], found
        table = next(t for t in found["tables"] if t["table"] == "assessments")
        assert table["rebuilt"] == table["live"] == 300
