"""Self-assessments: the rules against an instrument, what an assessment says (levels,
weakest areas, bars, change), the plans service layer on the in-memory store, and BLT
bars as measure targets."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import ValidationError

from contracts import assessment_rules as rules
from contracts.assessments import ElementRating, SelfAssessment
from contracts.instruments import instrument
from contracts.plans import PerformanceMeasure
from services.plans.application import PlansApplication
from services.plans.domain.errors import AssessmentRuleError, OrganizationNotFoundError
from services.plans.translator import assessment_views
from services.rollup.translator import targets
from tests.factories import assessment_document, plan_document, with_change


def lea() -> PlansApplication:
    app = PlansApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.register_organization(code="sea", kind="SEA", name="SEA", parent=None, profile={})
    app.register_organization(code="lea", kind="LEA", name="LEA", parent="sea", profile={})
    return app


def test_a_complete_assessment_fits_its_instrument():
    assert rules.assessment_violations(assessment_document("lea")) == []
    assert rules.assessment_violations(assessment_document("school", "ilt-continuum")) == []
    assert rules.assessment_violations(assessment_document("school", "blt-characteristics")) == []


def test_each_misfit_is_named_where_it_is():
    document = assessment_document("lea")
    document["ratings"][0] = {"element": "9z9", "level": 2}  # 1a1 unknown, so unrated
    document["ratings"][1]["level"] = 5
    document["ratings"][2] = {"element": "1a2", "level": 3}  # twice
    document["ratings"][3] = {"element": "1a4", "percent": 50}
    document["findings"] = [{"area": "7", "strengths": "none"}]
    found = {str(v) for v in rules.assessment_violations(document)}
    assert found == {
        "ratings.0.element: tool-c has no element '9z9'",
        "ratings.1.level: element 1a2 has levels 1 to 4",
        "ratings.2.element: element 1a2 is rated twice",
        "ratings.3: element 1a4 is rated by level",
        "ratings: 2 element(s) of tool-c not rated: 1a1, 1a3",
        "findings.0.area: '7' is not an area of tool-c: 1, 2, 3, 4",
    }


def test_a_rating_is_one_of_level_percent_or_met():
    with pytest.raises(ValidationError, match="give one of level, percent or met, not level "
                       "and met"):  # fmt: skip
        ElementRating(element="1a1", level=2, met=True)
    with pytest.raises(ValidationError, match="give one of level, percent or met"):
        ElementRating(element="1a1")


def test_an_area_is_at_the_mean_of_its_elements_rounded_down():
    tool = instrument("tool-c")
    one_a = [e.code for e in tool.groups[0].elements]  # 1A: five elements
    levels = dict(zip(one_a, [1, 2, 2, 3, 3], strict=True))  # mean 2.2: level 2
    levels |= {e.code: 1 for e in tool.groups[2].elements}  # 1C: all at 1
    areas = rules.area_levels(assessment_document("lea", levels=levels, level=3))
    by_area = {a["area"]: a for a in areas}
    assert (by_area["1A"]["mean"], by_area["1A"]["level"], by_area["1A"]["elements"]) == (
        2.2, 2, 5)
    assert (by_area["1C"]["mean"], by_area["1C"]["level"]) == (1.0, 1)
    assert (by_area["2A"]["mean"], by_area["2A"]["level"]) == (3.0, 3)
    assert [a["area"] for a in areas][:2] == ["1C", "1A"]  # lowest mean first
    assert rules.weakest(areas) == ["1C"]
    assert len(areas) == 12


def test_a_percent_element_is_judged_against_its_bar():
    document = assessment_document("school", "blt-characteristics")
    bars = rules.bars(document)
    assert bars and all(b["threshold"] == 75 and b["percent"] == 60 and not b["met"]
                        for b in bars)  # fmt: skip
    walk_throughs = next(b for b in bars if b["element"] == "5.4")
    assert walk_throughs["threshold"] == 75


def test_the_change_per_element_is_the_later_less_the_earlier():
    before = assessment_document("lea", on="2025-09-15", level=2)
    after = assessment_document("lea", on="2026-09-15", levels={"1a1": 4, "4c3": 1}, level=2)
    changes = {c["element"]: c for c in rules.element_changes(before, after)}
    assert changes["1a1"] == {"element": "1a1", "before": 2.0, "after": 4.0, "change": 2.0}
    assert changes["4c3"]["change"] == -1.0
    assert changes["2b1"]["change"] == 0.0
    assert len(changes) == len(instrument("tool-c").elements())


def test_recording_the_same_assessment_twice_changes_nothing_and_a_change_revises():
    app = lea()
    document = assessment_document("lea")
    first = app.record_assessment(document, by="Pat")
    before = app.recorder.max_notification_id()
    again = app.record_assessment(document, by="Pat")
    assert (first.result, first.key, again.result, again.changed) == (
        "recorded", "lea/tool-c/2026-09-15", "unchanged", False)
    assert app.recorder.max_notification_id() == before
    revised = app.record_assessment(with_change(document, ["ratings", 0, "level"], 4), by="Lee")
    assert (revised.result, revised.changed) == ("revised", True)
    rows = app.view.assessments("lea")
    assert [(r["version"], r["recorded_by"]) for r in rows] == [(2, "Lee")]
    assert rows[0]["document"]["ratings"][0] | {"evidence": None} == {
        "element": "1a1", "level": 4, "percent": None, "met": None, "evidence": None}


def test_an_assessment_that_does_not_fit_is_refused_and_nothing_is_stored():
    app = lea()
    before = app.recorder.max_notification_id()
    document = assessment_document("lea")
    document["ratings"].pop()
    with pytest.raises(AssessmentRuleError, match="ratings: 1 element"):
        app.record_assessment(document, by="Pat")
    with pytest.raises(OrganizationNotFoundError, match="nowhere is not registered"):
        app.record_assessment(assessment_document("nowhere"), by="Pat")
    assert app.recorder.max_notification_id() == before


def test_a_second_assessment_a_year_later_shows_the_change_since():
    app = lea()
    app.record_assessment(assessment_document("lea", on="2025-09-15", level=2), by="Pat")
    app.record_assessment(assessment_document("lea", on="2026-09-15", levels={"1a1": 3}),
                          by="Pat")  # fmt: skip
    app.record_assessment(assessment_document("lea", "ilt-continuum", on="2026-10-01"), by="Pat")
    views = assessment_views(app.view.assessments("lea"))
    assert [v.key for v in views] == ["lea/tool-c/2025-09-15", "lea/tool-c/2026-09-15",
                                      "lea/ilt-continuum/2026-10-01"]  # fmt: skip
    first, second, ilt = views
    assert (first.previous, first.changes) == (None, [])
    assert ilt.previous is None  # another instrument's is not its previous
    assert second.previous == "lea/tool-c/2025-09-15"
    moved = [(c.element, c.change) for c in second.changes if c.change]
    assert moved == [("1a1", 1.0)]


def test_the_latest_of_each_instrument_keep_their_change_since_the_one_before():
    app = lea()
    for on, level in (("2024-09-15", 1), ("2025-09-15", 2), ("2026-09-15", 3)):
        app.record_assessment(assessment_document("lea", on=on, level=level), by="Pat")
    app.record_assessment(assessment_document("lea", "ilt-continuum", on="2026-10-01"), by="Pat")
    rows = app.view.assessments("lea")
    latest = assessment_views(rows, latest=1)
    assert [v.key for v in latest] == ["lea/tool-c/2026-09-15", "lea/ilt-continuum/2026-10-01"]
    assert latest[0].previous == "lea/tool-c/2025-09-15"  # not listed, still compared with
    assert {c.change for c in latest[0].changes} == {1.0}
    two = assessment_views(rows, latest=2)
    assert [v.key for v in two] == ["lea/tool-c/2025-09-15", "lea/tool-c/2026-09-15",
                                    "lea/ilt-continuum/2026-10-01"]  # fmt: skip
    up_to = assessment_views(app.view.assessments("lea", up_to=date(2026, 6, 30)), latest=1)
    assert [(v.key, v.previous) for v in up_to] == [
        ("lea/tool-c/2025-09-15", "lea/tool-c/2024-09-15")]


def test_a_measure_may_take_a_bar_as_its_target():
    measure = {"indicator": "Walk-throughs that record the agreed strategies",
               "data_source": "Walk-through log", "baseline": 40,
               "bar": "blt-characteristics/5.4"}  # fmt: skip
    parsed = PerformanceMeasure.model_validate(measure)
    assert targets(parsed, "2026-27") == [{
        "year": "2026-27", "value": 75.0,
        "label": "blt-characteristics 5.4 bar: at least 75%"}]  # fmt: skip
    own = PerformanceMeasure.model_validate(measure | {"targets": [{"year": "2026-27",
                                                                   "value": 80}]})  # fmt: skip
    assert [t["value"] for t in targets(own, "2026-27")] == [80]  # its own target first
    with pytest.raises(ValidationError, match=re.escape("has no bar '5.1'; its bars are 1.4, 1.5")):
        PerformanceMeasure.model_validate(measure | {"bar": "blt-characteristics/5.1"})
    with pytest.raises(ValidationError, match="targets for at least two years, or a bar"):
        PerformanceMeasure.model_validate(measure | {"bar": None})
    with pytest.raises(ValidationError, match="a percentage"):
        PerformanceMeasure.model_validate(measure | {"unit": "points"})


def test_the_contract_keeps_the_assessment_key():
    assessment = SelfAssessment.model_validate(assessment_document("lea", on="2026-09-15"))
    assert assessment.key == "lea/tool-c/2026-09-15"


def test_an_emptied_assessments_table_beside_recorded_ones_is_found_and_written_again():
    app = lea()
    app.import_plan(plan_document("lea"), by="Pat")
    assert not app.directory_incomplete()
    app.record_assessment(assessment_document("lea"), by="Pat")
    rows = app.view.assessments("lea")
    assert not app.directory_incomplete()
    app.view.delete([("assessments", {"assessment_id": rows[0]["assessment_id"]})])
    assert app.directory_incomplete()
    assert app.rebuild_directory() == 4  # two organizations, the plan and the assessment
    assert app.view.assessments("lea") == rows and not app.directory_incomplete()


def test_an_assessment_with_an_instrument_that_does_not_exist_is_refused_by_name():
    from services.plans.translator import assessment_document as stored_form

    document = assessment_document("lea") | {"instrument": "tool-z"}
    with pytest.raises(AssessmentRuleError, match="no instrument 'tool-z'; there are tool-c"):
        lea().record_assessment(stored_form(SelfAssessment.model_validate(document)), by="Pat")


def test_a_refused_rating_is_named_where_it_was_sent_not_where_it_is_stored():
    from contracts.assessments import RecordAssessment
    from services.plans.endpoints import PlansEndpoints

    document = assessment_document("lea")
    document["ratings"].reverse()  # the service stores them in the instrument's order
    document["ratings"][1]["level"] = 7
    request = RecordAssessment(assessment=SelfAssessment.model_validate(document), by="Pat")
    with pytest.raises(AssessmentRuleError, match=re.escape("ratings.1.level: element 4c2")):
        PlansEndpoints(lea(), lambda: None).record_assessment(request)


def test_a_bar_is_at_least_its_threshold():
    with pytest.raises(ValidationError, match="has direction increase"):
        PerformanceMeasure.model_validate({
            "indicator": "Walk-throughs", "data_source": "Log", "baseline": 40,
            "bar": "blt-characteristics/5.4", "direction": "decrease"})  # fmt: skip
