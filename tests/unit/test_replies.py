import asyncio

from contracts.plan_commands import GetPlan
from contracts.replies import Reply
from services.shared.replies import answer, field_path


def test_field_paths_read_like_the_document():
    assert field_path(("plan", "priority_areas", 0, "number")) == "plan.priority_areas[0].number"


def test_a_bug_still_gets_an_answer():
    """A handler whose result cannot be serialized answers internal_error, not silence."""

    def broken(request: GetPlan) -> object:
        return object()

    raw = asyncio.run(
        answer("plans", GetPlan, b'{"plan": "a-school/2026-27"}', broken, (), lambda e: None)  # type: ignore[arg-type]
    )
    reply = Reply.model_validate_json(raw)
    assert not reply.ok and reply.error is not None and reply.error.code == "internal_error"


def test_an_invalid_request_names_the_field():
    raw = asyncio.run(answer("plans", GetPlan, b'{"plan": 5}', lambda r: r, (), lambda e: None))  # type: ignore[arg-type]
    reply = Reply.model_validate_json(raw)
    assert reply.error is not None and reply.error.field == "plan"
