import asyncio

from prometheus_client import CollectorRegistry

from contracts.plan_commands import GetPlan
from contracts.replies import Reply
from services.plans.domain.errors import PlanRuleError, Violation
from services.shared.metrics import ServiceMetrics
from services.shared.replies import answer, field_path

PLANS = ServiceMetrics(CollectorRegistry(), "plans")


def test_field_paths_read_like_the_document():
    assert field_path(("plan", "priority_areas", 0, "number")) == "plan.priority_areas[0].number"


def test_a_bug_still_gets_an_answer():
    """A handler whose result cannot be serialized answers internal_error, not silence."""

    def broken(request: GetPlan) -> object:
        return object()

    raw = asyncio.run(
        answer(PLANS, GetPlan, b'{"plan": "a-school/2026-27"}', broken)  # type: ignore[arg-type]
    )
    reply = Reply.model_validate_json(raw)
    assert not reply.ok and reply.error is not None and reply.error.code == "internal_error"


def test_an_invalid_request_names_the_field():
    raw = asyncio.run(answer(PLANS, GetPlan, b'{"plan": 5}', lambda r: r))
    reply = Reply.model_validate_json(raw)
    assert reply.error is not None and reply.error.field == "plan"


def test_a_domain_error_is_a_refusal_naming_each_problem():
    """Every service's domain errors reply the same way: code, message, each field."""

    def refuse(request: GetPlan) -> object:
        raise PlanRuleError([Violation("plan.goals[0]", "no measure"),
                             Violation("plan.plan_year", "not two years")])  # fmt: skip

    raw = asyncio.run(answer(PLANS, GetPlan, b'{"plan": "a-school/2026-27"}', refuse))  # type: ignore[arg-type]
    reply = Reply.model_validate_json(raw)
    assert reply.error is not None
    assert (reply.error.code, reply.error.field) == ("plan_rules", "plan.goals[0]")
    assert [d.field for d in reply.error.details] == ["plan.goals[0]", "plan.plan_year"]
    assert reply.error.message == "plan.goals[0]: no measure (and 1 more)"


def test_an_answer_larger_than_a_nats_message_is_refused_in_words_not_left_unsent():
    from contracts.rebuild import ReadModelsRebuilt

    def huge(request: GetPlan) -> ReadModelsRebuilt:
        return ReadModelsRebuilt(service="x" * 1_200_000, verify=True, equal=True, rewritten=0,
                                 tables=[], problems=[], not_rebuilt=[], not_covered=[])

    raw = asyncio.run(answer(PLANS, GetPlan, b'{"plan": "a-school/2026-27"}', huge))
    reply = Reply.model_validate_json(raw)
    assert reply.error is not None and reply.error.code == "reply_too_large"
    assert "get-plan is 1,200,1" in reply.error.message and len(raw) < 1000
